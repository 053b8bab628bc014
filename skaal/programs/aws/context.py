"""What every part of the aws program shares: the stack, its providers, what it created.

:class:`Deploy` holds the stack model, one ``aws.Provider`` per region the
plan uses (the stack's own keeps the name ``aws``), the ``skaal:deleteData``
setting, and the outputs of what has been created so far, by the model's
references (:class:`skaal.builder.stacks.aws.ArnRef`,
:class:`skaal.builder.stacks.aws.OutputRef`).  The parts run in the order of
:func:`skaal.programs.aws.run`, so a reference always names something
created before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_aws as aws
from msgspec import Struct, field

from skaal.builder.stacks.aws import ArnAttr, ArnRef, AwsStack, OutputAttr, OutputRef
from skaal.deploy.destroy import DELETE_DATA_CONFIG
from skaal.errors import DeployError

__all__ = ["Deploy", "NetworkOutputs", "Value"]

Value = pulumi.Output[str] | str
"""An output of a created resource, or a value known before it is (an ARN pattern)."""

Attr = ArnAttr | OutputAttr


class NetworkOutputs(Struct, frozen=True):
    """What the servers and functions of a region attach to."""

    subnet_ids: tuple[pulumi.Output[str], ...]
    lambda_sg: pulumi.Output[str]
    data_sg: pulumi.Output[str]


class Deploy(Struct):
    """The stack being created and the outputs of what is created so far."""

    stack: AwsStack
    folder: Path
    """The artifact folder: ``app/`` (the Lambda code) and ``layer/`` are in it."""
    delete_data: bool
    providers: Mapping[str, aws.Provider]
    values: dict[tuple[str, Attr], Value | tuple[Value, ...]] = field(default_factory=dict)
    networks: dict[str, NetworkOutputs] = field(default_factory=dict)
    topic_regions: dict[str, str] = field(default_factory=dict)
    subscriptions: dict[str, aws.sqs.Queue] = field(default_factory=dict)

    @classmethod
    def of(cls, stack: AwsStack, folder: Path) -> Deploy:
        """The start of ``stack``'s program: its providers, nothing created yet."""
        providers = {
            region: aws.Provider(
                "aws" if region == stack.region else f"aws-{region}", region=region
            )
            for region in stack.regions
        }
        key = DELETE_DATA_CONFIG.partition(":")[2]
        delete_data = pulumi.Config("skaal").get_bool(key) or False
        return cls(stack=stack, folder=folder, delete_data=delete_data, providers=providers)

    def opts(
        self,
        region: str | None = None,
        *,
        durable: bool = False,
        retiring: bool = False,
        depends_on: list[pulumi.Resource] | None = None,
        ignore_changes: list[str] | None = None,
    ) -> pulumi.ResourceOptions:
        """Options of a resource in ``region`` (the stack's by default).

        A durable one is protected and retained unless ``skaal:deleteData``
        is set (``skaal destroy --delete-data``).  A ``retiring`` one (a pending
        move's origin) is retained but not protected: the deploy after the
        switch drops it from the stack and leaves it, with its data, in the account.
        ``ignore_changes`` names inputs that something else owns once the resource
        exists (a table's capacity, set by autoscaling).
        """
        keep = durable and not self.delete_data
        return pulumi.ResourceOptions(
            provider=self.providers[region or self.stack.region],
            protect=keep and not retiring,
            retain_on_delete=keep,
            depends_on=depends_on,
            ignore_changes=ignore_changes,
        )

    def read_opts(self, region: str) -> pulumi.ResourceOptions:
        """Options of an existing resource read into the stack (``existing=``)."""
        return pulumi.ResourceOptions(provider=self.providers[region])

    def invoke_opts(self, region: str) -> pulumi.InvokeOptions:
        return pulumi.InvokeOptions(provider=self.providers[region])

    def account_id(self, region: str) -> str:
        """The deploying account's id, asked in ``region``."""
        return aws.get_caller_identity(opts=self.invoke_opts(region)).account_id

    def put(self, ref: str, attr: Attr, value: Value | tuple[Value, ...]) -> None:
        """Record the output ``attr`` of what ``ref`` names, for the references to it."""
        self.values[(ref, attr)] = value

    def output(self, ref: OutputRef) -> Value:
        """The single value ``ref`` names (a function's environment variable)."""
        found = self._value(ref.ref, ref.attr)
        if isinstance(found, tuple):
            raise self._unknown(ref.ref, ref.attr, "names several values, not one")
        return found

    def arn(self, ref: str) -> Value:
        """The ARN of the resource ``ref`` names (a trigger's queue or topic)."""
        return self.output(OutputRef(ref=ref, attr="arn"))

    def arns(self, ref: ArnRef) -> tuple[pulumi.Output[str], ...]:
        """The ARN(s) ``ref`` names, each followed by its suffix."""
        found = self._value(ref.ref, ref.attr)
        values = found if isinstance(found, tuple) else (found,)
        return tuple(pulumi.Output.concat(value, ref.suffix) for value in values)

    def _value(self, ref: str, attr: Attr) -> Value | tuple[Value, ...]:
        try:
            return self.values[(ref, attr)]
        except KeyError:
            raise self._unknown(ref, attr, "names nothing this program creates") from None

    def _unknown(self, ref: str, attr: str, problem: str) -> DeployError:
        return DeployError(
            f"the stack model's reference {ref}.{attr} {problem}",
            where=str(self.folder / "stack.json"),
            fix="build the artifact again with the skaal version that deploys it",
            command="skaal build --target aws",
        )
