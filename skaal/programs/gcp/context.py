"""What every part of the gcp program shares.

:class:`Deploy` holds the stack configuration (``gcp:project``,
``skaal:image``, ``skaal:network``, ``skaal:deleteData``), the options of
stateful resources (protected and retained unless ``skaal:deleteData`` is
``true``, :mod:`skaal.deploy.destroy`) and the resources created so far,
by the keys the stack model names them with.
"""

from __future__ import annotations

import hashlib
from functools import cached_property

import pulumi
import pulumi_gcp as gcp
from msgspec import Struct, field

from skaal.builder.stacks.gcp import (
    PUBSUB_AGENT,
    RUNTIME_ACCOUNT,
    Condition,
    GcpStack,
    Grant,
    ProjectGrant,
)
from skaal.deploy.destroy import DELETE_DATA_CONFIG

__all__ = ["Deploy", "suffixed"]

_DELETE_DATA_KEY = DELETE_DATA_CONFIG.partition(":")[2]


# dict=True: the cached properties below keep their values in the instance __dict__
class Deploy(Struct, dict=True):
    """The stack being created: its model, configuration and resources so far."""

    stack: GcpStack
    config: pulumi.Config = field(default_factory=lambda: pulumi.Config("skaal"))
    accounts: dict[str, gcp.serviceaccount.Account] = field(default_factory=dict)
    buckets: dict[str, gcp.storage.Bucket] = field(default_factory=dict)
    secret_ids: dict[str, pulumi.Output[str]] = field(default_factory=dict)
    """Declared secret or Cloud SQL key -> the id of its secret."""
    topics: dict[str, gcp.pubsub.Topic] = field(default_factory=dict)
    connectors: dict[str, gcp.vpcaccess.Connector] = field(default_factory=dict)
    sql: dict[str, gcp.sql.DatabaseInstance] = field(default_factory=dict)
    redis: dict[str, gcp.redis.Instance] = field(default_factory=dict)
    services: dict[str, gcp.cloudrunv2.Service] = field(default_factory=dict)

    @cached_property
    def project(self) -> str:
        return pulumi.Config("gcp").require("project")

    @cached_property
    def image(self) -> str:
        return self.config.require("image")

    @cached_property
    def network(self) -> str:
        return self.config.get("network") or "default"

    @cached_property
    def delete_data(self) -> bool:
        return self.config.get_bool(_DELETE_DATA_KEY) or False

    @property
    def stateful(self) -> pulumi.ResourceOptions:
        """Options of a resource holding data: kept unless ``skaal:deleteData`` is true."""
        return self.holding(retiring=False)

    def holding(self, *, retiring: bool) -> pulumi.ResourceOptions:
        """Options of a resource holding data; a ``retiring`` one (only the origins of
        pending moves) is retained but not protected, so that the deploy after the
        switch may drop it from the stack (:mod:`skaal.builder.targets.gcp_moves`)."""
        keep = not self.delete_data
        return pulumi.ResourceOptions(protect=keep and not retiring, retain_on_delete=keep)

    @cached_property
    def migration_invokers(self) -> tuple[str, ...]:
        """``skaal:migrationInvokers``: IAM members (``user:ops@example.com``) who may call
        the migration runner besides the project's Owners, Editors and Cloud Run Admins."""
        listed = self.config.get("migrationInvokers") or ""
        return tuple(m.strip() for m in listed.split(",") if m.strip())

    @cached_property
    def pubsub_agent(self) -> str:
        number = gcp.organizations.get_project(project_id=self.project).number
        return f"serviceAccount:service-{number}@gcp-sa-pubsub.iam.gserviceaccount.com"

    def create_accounts(self) -> None:
        for account in self.stack.accounts:
            self.accounts[account.key] = gcp.serviceaccount.Account(
                account.key, account_id=account.account_id, display_name=account.display_name
            )

    @property
    def runtime_unique_id(self) -> pulumi.Output[str]:
        """The unique id Google gives ``web``'s account: the seed of the bucket suffixes."""
        return self.accounts[RUNTIME_ACCOUNT].unique_id

    def email(self, account: str) -> pulumi.Output[str]:
        return self.accounts[account].email

    def member(self, member: str) -> pulumi.Input[str]:
        """The IAM member of an account key, or of the Pub/Sub service agent."""
        if member == PUBSUB_AGENT:
            return self.pubsub_agent
        return self.email(member).apply(lambda e: f"serviceAccount:{e}")

    def condition(self, condition: Condition) -> gcp.projects.IAMMemberConditionArgs:
        return gcp.projects.IAMMemberConditionArgs(
            title=condition.title,
            expression=f"resource.name == 'projects/{self.project}/{condition.resource}'",
        )

    def project_grants(self, grants: tuple[ProjectGrant, ...]) -> None:
        for grant in grants:
            gcp.projects.IAMMember(
                grant.name,
                project=self.project,
                role=grant.role,
                member=self.member(grant.member),
                condition=None if grant.condition is None else self.condition(grant.condition),
            )

    def secret_grants(self, secret_id: pulumi.Input[str], grants: tuple[Grant, ...]) -> None:
        for grant in grants:
            gcp.secretmanager.SecretIamMember(
                grant.name, secret_id=secret_id, role=grant.role, member=self.member(grant.member)
            )


def suffixed(base: str, seed: str) -> str:
    """``base`` and 8 hex digits of ``seed`` (an id Google assigns at creation)."""
    return f"{base}-{hashlib.sha256(seed.encode()).hexdigest()[:8]}"
