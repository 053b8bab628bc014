"""``skaal destroy``: delete a stack's resources, never its data by accident.

Generated programs create every stateful resource (tables, buckets,
databases, queues holding messages) with Pulumi's ``protect`` and
``retain_on_delete`` options, unless the stack config value
:data:`DELETE_DATA_CONFIG` (``skaal:deleteData``) is ``true``.  So:

1. :class:`Destroyer` reads the resources in the stack's state.  None: there
   is nothing to destroy; the deployment record is removed.
2. If any is protected or retained and ``delete_data`` was not asked for,
   it refuses, naming each one: the data outlives the stack unless the user
   says otherwise with ``--delete-data``.
3. It asks for confirmation (naming the data that will be lost, if any).
   Adopted resources (``existing=``) are only *read* into the stack: they
   are named as left in place, never counted, refused for or deleted.
4. With ``delete_data``, it first runs an update with
   ``skaal:deleteData=true``, which lifts the protection in the state and
   the services' own guards (deletion protection off, buckets emptied on
   delete, no final database snapshot, secrets deleted at once), then
   destroys the stack and removes the record.
"""

from __future__ import annotations

from msgspec import Struct

from skaal.deploy.confirm import Confirmer
from skaal.deploy.engine import Engine, StackResource
from skaal.deploy.executor import Echo
from skaal.deploy.request import DeployRequest
from skaal.deploy.state import DeploymentStore
from skaal.errors import DeployError

__all__ = ["DELETE_DATA_CONFIG", "DestroyOutcome", "Destroyer"]

DELETE_DATA_CONFIG = "skaal:deleteData"
"""Stack config key; ``"true"`` makes the generated programs drop protect/retain."""


class DestroyOutcome(Struct, frozen=True):
    destroyed: int
    data_deleted: tuple[str, ...] = ()
    cancelled: bool = False
    left: tuple[str, ...] = ()
    """The adopted resources the stack only referenced: left in place, data and all."""


def _name(resource: StackResource) -> str:
    return resource.urn.rpartition("::")[2] or resource.urn


class Destroyer(Struct, frozen=True):
    engine: Engine
    confirmer: Confirmer
    store: DeploymentStore
    echo: Echo

    def run(self, request: DeployRequest, *, delete_data: bool) -> DestroyOutcome:
        ref = request.ref
        resources = self.engine.resources(ref)
        if not resources:
            self.echo(f"stack {ref.stack!r} ({ref.target}) has no resources: nothing to destroy")
            self.store.remove(ref.target, ref.stack)
            return DestroyOutcome(destroyed=0)
        adopted = tuple(f"{_name(r)} ({r.type})" for r in resources if r.external)
        if adopted:
            self.echo(
                f"left in place (adopted with existing=, never deleted): {', '.join(adopted)}"
            )
        resources = tuple(r for r in resources if not r.external)
        keeping = tuple(r for r in resources if r.keeps_data)
        names = tuple(f"{_name(r)} ({r.type})" for r in keeping)
        if keeping and not delete_data:
            raise DeployError(
                f"stack {ref.stack!r} ({ref.target}) holds {len(keeping)} protected or "
                f"retained resource(s) with data: {', '.join(names)}",
                where=f"stack {ref.stack!r}, state {ref.backend_url}",
                fix="back up what you need, then destroy them too with --delete-data "
                "(the data is lost)",
                command=f"skaal destroy --target {ref.target} --stack {ref.stack} --delete-data",
            )
        question = f"Destroy all {len(resources)} resources of stack {ref.stack!r} ({ref.target})"
        if keeping:
            question += f", DELETING THE DATA in {', '.join(names)}"
        if not self.confirmer.confirm(question + "?"):
            self.echo("cancelled: nothing was destroyed")
            return DestroyOutcome(destroyed=0, cancelled=True)
        if keeping:
            self.echo("lifting the protection of the stateful resources")
            self.engine.up(ref, config={DELETE_DATA_CONFIG: "true"}, on_output=self.echo)
        changes = self.engine.destroy(ref, on_output=self.echo)
        self.store.remove(ref.target, ref.stack)
        destroyed = changes.get("delete", len(resources))
        self.echo(f"destroyed {destroyed} resource(s) of stack {ref.stack!r}")
        return DestroyOutcome(destroyed=destroyed, data_deleted=names, left=adopted)
