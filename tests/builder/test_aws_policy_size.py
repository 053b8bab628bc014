"""A Lambda role's statements within IAM's policy size quotas, the same grants as before.

IAM refuses a role whose inline policies pass 10,240 characters, or a managed
policy past 6,144 (whitespace not counted).  A function reaching 400 tables
has a statement per table, 139,081 characters in one inline policy: the build
merges the statements with the same actions and fills the inline policy, then
managed policies attached to the role.  The program runs under Pulumi's
mocks, whose ARNs have the real formats.  Lambda holds 4 KB of environment in
all: the 400 names the function opens are written in a compact form.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from skaal.builder.targets import aws_policies, aws_stack
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.errors import BuildError
from skaal.plan.wiring import USED_RESOURCES_ENV, USES_OWN, compact_used
from skaal.solver import solve
from tests.builder.aws_support import AwsRun, app_context, run_program, write_with_layer

TABLES = 400


def _source() -> str:
    lines = ["from skaal import App, Map", "", 'app = App("wide")', ""]
    for i in range(TABLES):
        lines += [
            '@app.storage(size="1GB", reads="5/s", writes="1/s", backend="dynamodb")',
            f"class Table{i:03d}(Map[str, str]): ...",
            "",
        ]
    lines += ["@app.function()", "async def total(key: str) -> int:", "    n = 0"]
    lines += [f"    n += len(await Table{i:03d}.get(key) or '')" for i in range(TABLES)]
    lines += ["    return n", ""]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An app whose function reaches 400 tables (all on dynamodb)."""
    path = tmp_path_factory.mktemp("wide") / "wide_app.py"
    path.write_text(_source())
    spec = importlib.util.spec_from_file_location("wide_app", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["wide_app"] = module
    try:
        spec.loader.exec_module(module)
        yield module.app
    finally:
        sys.modules.pop("wide_app", None)


def _context(app: Any) -> Any:
    blueprint = app.blueprint()
    return app_context(blueprint, solve(blueprint, load_catalog("aws")), "wide_app:app")


def _documents(run: AwsRun, role: str) -> list[tuple[str, str]]:
    """(type, compact policy text) of each policy of the role named ``role``, the managed
    ones in their numbers' order (the mocks record them as their documents resolve,
    which on a busy machine is not always that order)."""
    inline = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name == f"{role}-policy"]
    managed = sorted(
        (p for p in run.of_type("aws:iam/policy:Policy") if p.name.startswith(f"{role}-policy-")),
        key=lambda p: int(p.name.rsplit("-", 1)[1]),
    )
    return [(p.type, "".join(str(p.inputs["policy"]).split())) for p in (*inline, *managed)]


def _grants(documents: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (action, resource) pair the documents allow."""
    out = set()
    for _, text in documents:
        for statement in json.loads(text)["Statement"]:
            assert statement["Effect"] == "Allow"
            for action in statement["Action"]:
                out |= {(action, arn) for arn in statement["Resource"]}
    return out


@pytest.fixture(scope="module")
def runs(wide: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[AwsRun, AwsRun]:
    """The program as built, and as it would be with every statement inline."""
    context = _context(wide)
    laid = run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("laid")))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws_stack, "laid_out", lambda stack: stack)
        artifacts = build_aws(context)
    inline = run_program(write_with_layer(artifacts, tmp_path_factory.mktemp("inline")))
    return laid, inline


def test_every_policy_is_within_iams_quotas(runs: tuple[AwsRun, AwsRun]) -> None:
    laid, inline = runs
    for role in ("wide-total", "wide-http"):
        (before,) = _documents(inline, role)
        assert len(before[1]) > aws_policies.INLINE_POLICY_CHARS  # what IAM would refuse
        documents = _documents(laid, role)
        kinds = [kind for kind, _ in documents]
        assert kinds[0] == "aws:iam/rolePolicy:RolePolicy"
        assert kinds[1:]
        assert set(kinds[1:]) == {"aws:iam/policy:Policy"}
        assert len(documents[0][1]) <= aws_policies.INLINE_POLICY_CHARS
        assert all(len(text) <= aws_policies.MANAGED_POLICY_CHARS for _, text in documents[1:])
        attached = [
            a
            for a in laid.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.name.startswith(f"{role}-policy-")
        ]
        assert len(attached) == len(documents) - 1  # each managed policy on the role


def test_the_grants_are_exactly_those_of_one_statement_per_resource(
    runs: tuple[AwsRun, AwsRun],
) -> None:
    laid, inline = runs
    for role in ("wide-total", "wide-http"):
        granted = _grants(_documents(laid, role))
        assert granted == _grants(_documents(inline, role))
        tables = {arn for _, arn in granted if ":table/" in arn}
        assert len(tables) == TABLES
        assert not any(arn == "*" for _, arn in granted if arn.startswith("dynamodb"))


def test_the_counted_length_bounds_each_policy(wide: Any, runs: tuple[AwsRun, AwsRun]) -> None:
    laid, _ = runs
    stack = aws_stack.aws_stack(_context(wide))
    bounds = aws_policies.arn_bounds(stack)
    (total,) = [f for f in stack.functions if f.name == "total"]
    counted = [total.statements, *total.managed_statements]
    actual = [len(text) for _, text in _documents(laid, "wide-total")]
    assert len(counted) == len(actual)
    for statements, length in zip(counted, actual, strict=True):
        assert length <= aws_policies.document_chars(statements, bounds)


def test_a_small_role_is_left_as_it_was(wide: Any) -> None:
    stack = aws_stack.aws_stack(_context(wide))
    (logs_only,) = [f for f in stack.functions if f.name == "total"]
    assert logs_only.managed_statements  # the wide one is laid out ...
    small = logs_only.model_copy(update={"statements": logs_only.statements[:2]})
    bounds = aws_policies.arn_bounds(stack)
    assert aws_policies.document_chars(small.statements, bounds) < 10_240
    assert aws_policies._laid_out(small, bounds) is small  # ... a small one is unchanged


def test_a_role_past_the_managed_policies_iam_attaches_is_a_clear_build_error(
    wide: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aws_policies, "MANAGED_POLICIES_PER_ROLE", 0)
    with pytest.raises(BuildError) as refused:
        build_aws(_context(wide))
    message = str(refused.value)
    assert message.startswith("function total (role wide-total-role): its role needs 3 managed")
    assert "IAM attaches 0 to a role by default" in message
    assert refused.value.fix is not None
    assert "split it" in refused.value.fix


def test_the_environment_fits_lambdas_4_kb_and_names_the_same_resources(wide: Any) -> None:
    # Lambda holds 4 KB of environment in all: 400 names listed would take 3.6 KB of it
    context = _context(wide)
    stack = aws_stack.aws_stack(context)
    (total,) = [f for f in stack.functions if f.name == "total"]
    written = total.env[USED_RESOURCES_ENV]
    assert written == "!"  # every state resource of the app, none left out
    assert sum(len(k) + len(v) for k, v in total.env.items()) < 1_024
    tables = {f"Table{i:03d}" for i in range(TABLES)}
    assert compact_used(written, "total", context.blueprint) == tables
    assert compact_used(USES_OWN, "total", context.blueprint) == tables  # the same, read again
