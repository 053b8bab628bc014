"""``skaal deploy`` and ``skaal destroy``: run the built Pulumi program.

Both read ``artifacts/<target>/`` (written by ``skaal build``), check it
against ``skaal.lock`` and the options (:mod:`skaal.deploy.request`), then
hand it to the deploy engine (:mod:`skaal.deploy.pulumi_engine`, Pulumi's
Automation API; it needs the ``pulumi`` CLI and says how to install it).

``deploy`` previews, asks for confirmation (``--yes`` skips the question;
without a terminal and without ``--yes`` it refuses), applies with the
engine's progress streamed, prints the stack outputs and records the
deployment in ``.skaal/deployments/<target>-<stack>.json``.  ``--dry-run``
selects the preview-only executor: nothing changes, nothing is recorded.
For ``--target aws`` it first makes the Lambda layer ``layer/python``
current (:mod:`skaal.deploy.layer`: pip, only when ``app/requirements.txt``
or the shipped wheels changed), since the program needs it even to preview.

``destroy`` refuses while the stack holds protected or retained data unless
``--delete-data`` is given (:mod:`skaal.deploy.destroy`).

State goes to ``--backend-url`` (default ``file://.skaal/pulumi`` in the
project); a self-managed backend needs ``PULUMI_CONFIG_PASSPHRASE``.

``--env NAME`` (or ``SKAAL_ENV``, or ``[tool.skaal] env``; :mod:`skaal.envs`)
works on environment NAME: ``artifacts/<env>/<target>/``, checked against
``skaal.<env>.lock``, the Pulumi stack named after the environment, and the
environment's target unless ``--target`` is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from skaal.cli.paths import check_path, current_env, env_option, from_project, lock_for

if TYPE_CHECKING:
    from skaal.deploy.request import DeployRequest
    from skaal.deploy.services import DeployServices

__all__ = ["TARGETS", "deploy", "destroy"]

#: The targets ``--target`` accepts (those of :mod:`skaal.deploy.request`, which
#: is imported only when a command runs, so ``skaal --help`` stays light).
TARGETS = ("aws", "gcp", "local")


FC = TypeVar("FC", bound=Callable[..., object])


def _target(help: str) -> Callable[[FC], FC]:
    return click.option(
        "--target",
        type=click.Choice(TARGETS),
        help=help + " [default: the environment's, else local]",
    )


_stack = click.option(
    "--stack", metavar="NAME", help="Pulumi stack [default: the one the build configured]."
)
_yes = click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
_backend = click.option(
    "--backend-url",
    metavar="URL",
    help="Pulumi state backend [default: file://.skaal/pulumi in the project].",
)
_lock = click.option(
    "--lock",
    "lock_path",
    metavar="PATH",
    callback=check_path,
    help="Lock file the artifacts must have been built from "
    "[default: skaal.lock; skaal.<env>.lock in an environment].",
)


def _services(ctx: click.Context) -> DeployServices:
    from skaal.deploy.services import DeployServices

    obj = ctx.find_root().obj
    return obj if isinstance(obj, DeployServices) else DeployServices.default()


def _request(
    services: DeployServices,
    *,
    target: str | None,
    stack: str | None,
    backend_url: str | None,
    lock_path: str | None,
    env_name: str | None,
    check_lock: bool = True,
) -> DeployRequest:
    """The validated request; in an environment, its artifacts, lock, target and stack."""
    from skaal.deploy.request import default_stack, deploy_request

    cwd = Path.cwd()
    env, project = current_env(env_name, cwd=cwd, environ=services.environ)
    artifacts = "artifacts"
    if env is not None:
        from skaal.cli.build import env_target
        from skaal.cli.paths import catalog_for

        catalog_ref, _ = catalog_for(None, None, env, project, cwd=cwd)
        target = target or env_target(env.target, catalog_ref, cwd=cwd)
        artifacts = from_project(project, env.artifacts, cwd=cwd)
        stack = stack or env.stack
    target = target or "local"
    lock = lock_for(lock_path, env, project, cwd=cwd) if check_lock else None
    return deploy_request(
        cwd,
        target=target,
        stack=stack or default_stack(cwd, target, artifacts),
        backend=backend_url,
        environ=services.environ,
        lock_path=None if lock is None else cwd / lock,
        artifacts=artifacts,
    )


@click.command("deploy")
@_target("Which built artifacts (artifacts/<target>/) to deploy.")
@_stack
@_yes
@click.option("--dry-run", is_flag=True, help="Preview the changes only.")
@_backend
@_lock
@env_option
@click.pass_context
def deploy(
    ctx: click.Context,
    *,
    target: str | None,
    stack: str | None,
    yes: bool,
    dry_run: bool,
    backend_url: str | None,
    lock_path: str | None,
    env_name: str | None,
) -> None:
    """Deploy the built artifacts of TARGET: preview, confirm, apply, record."""
    from skaal.deploy.confirm import choose_confirmer
    from skaal.deploy.executor import select_executor
    from skaal.deploy.request import prepare_backend, require_passphrase
    from skaal.deploy.state import DeploymentStore

    services = _services(ctx)
    request = _request(
        services,
        target=target,
        stack=stack,
        backend_url=backend_url,
        lock_path=lock_path,
        env_name=env_name,
    )
    engine = services.engine()  # fails first if the pulumi CLI is missing
    require_passphrase(request, services.environ)
    if request.ref.target == "aws":
        from skaal.deploy.layer import prepare_layer

        prepare_layer(request.ref.work_dir, run=services.run_command, echo=click.echo)
    executor = select_executor(
        dry_run=dry_run,
        engine=engine,
        confirmer=lambda: choose_confirmer(
            yes=yes,
            interactive=services.interactive(),
            ask=services.ask,
            command="skaal deploy",
        ),
        store=DeploymentStore(Path.cwd()),
        clock=services.clock,
        echo=click.echo,
    )
    prepare_backend(request.ref.backend_url)
    executor.run(request)


@click.command("destroy")
@_target("Which target's deployed stack to destroy.")
@_stack
@_yes
@click.option(
    "--delete-data",
    is_flag=True,
    help="Also delete protected and retained stateful resources (their data is lost).",
)
@_backend
@env_option
@click.pass_context
def destroy(
    ctx: click.Context,
    *,
    target: str | None,
    stack: str | None,
    yes: bool,
    delete_data: bool,
    backend_url: str | None,
    env_name: str | None,
) -> None:
    """Destroy the deployed stack of TARGET (stateful data only with --delete-data)."""
    from skaal.deploy.confirm import choose_confirmer
    from skaal.deploy.destroy import Destroyer
    from skaal.deploy.request import prepare_backend, require_passphrase
    from skaal.deploy.state import DeploymentStore

    services = _services(ctx)
    # destroying does not need the artifacts to match the current plan
    request = _request(
        services,
        target=target,
        stack=stack,
        backend_url=backend_url,
        lock_path=None,
        env_name=env_name,
        check_lock=False,
    )
    engine = services.engine()  # fails first if the pulumi CLI is missing
    require_passphrase(request, services.environ)
    confirmer = choose_confirmer(
        yes=yes, interactive=services.interactive(), ask=services.ask, command="skaal destroy"
    )
    destroyer = Destroyer(
        engine=engine,
        confirmer=confirmer,
        store=DeploymentStore(Path.cwd()),
        echo=click.echo,
    )
    prepare_backend(request.ref.backend_url)
    destroyer.run(request, delete_data=delete_data)
