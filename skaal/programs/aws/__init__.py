"""The Pulumi program of the aws target: fixed, typed code that reads ``stack.json``.

A built artifact's ``__main__.py`` is three lines that call :func:`run` on
the ``stack.json`` beside it; everything that depends on the app (names,
keys, indexes, schedules, environment, IAM statements) is data in that
file, an :class:`skaal.builder.stacks.aws.AwsStack` computed by
:mod:`skaal.builder.targets.aws_stack`.  Keeping the code fixed means it is
type-checked and tested once for every shape of input, and the
app-specific part is data the tests read directly.  It runs only under
Pulumi, at deploy time: planning and building never import it.

One module per part, each creating through the provider of the item's
planned region (:mod:`~skaal.programs.aws.context`: the providers, the
``skaal:deleteData`` setting, the outputs by reference):

* :mod:`~skaal.programs.aws.data` -- DynamoDB tables (on demand, or
  provisioned with the plan's capacity and target-tracking autoscaling, their
  indexes alike),
  S3 buckets, SQS queues with their dead-letter queue, SNS topics, Secrets
  Manager secrets; adopted ones (``existing=``) are read, never created;
* :mod:`~skaal.programs.aws.network` -- one VPC per region with a server;
* :mod:`~skaal.programs.aws.servers` -- RDS and ElastiCache, of the plan's
  class, size and (Redis) replicas; an adopted RDS instance or Aurora cluster is
  read, its security groups opened to the app's VPC;
* :mod:`~skaal.programs.aws.functions` -- the layer, each Lambda with its
  role, least-privilege policy and log group;
* :mod:`~skaal.programs.aws.triggers` -- the HTTP API, queue and topic
  mappings, schedules;
* :mod:`~skaal.programs.aws.program` -- :func:`run`, the order.

Every state resource that is not declared ephemeral is created with
``protect=True`` and ``retain_on_delete=True`` (plus deletion protection
and final snapshots where the service has them), unless the stack config
``skaal:deleteData`` is ``true``: then nothing is protected or retained,
deletion protection is off, buckets are emptied on delete, secrets are
deleted without a recovery window and databases without a final snapshot
(``skaal destroy --delete-data`` sets it, see :mod:`skaal.deploy.destroy`).

When the project has override hooks (:mod:`skaal.overrides`), the build
copies them beside the program as ``skaal_overrides.py`` and the stack
model says so (``overrides``); :func:`run` installs them before it creates
anything.  It refuses to run without the dependencies layer
(``layer/python``, built by ``skaal deploy``; :data:`skaal.builder.stacks.aws.LAYER_COMMAND`
by hand) and says so.
"""

from __future__ import annotations

from skaal.programs.aws.program import run

__all__ = ["run"]
