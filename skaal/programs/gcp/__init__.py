"""The fixed Pulumi program of the gcp target.

A gcp artifact's ``infra/__main__.py`` calls :func:`run` with the
``stack.json`` beside it; :func:`run` reads it back as a
:class:`skaal.builder.stacks.gcp.GcpStack` and creates exactly what it says,
one module per part:

* :mod:`~skaal.programs.gcp.program`: :func:`run`, which calls the parts in order;
* :mod:`~skaal.programs.gcp.context`: the stack configuration, and the
  accounts and resources created so far, which the parts refer to;
* :mod:`~skaal.programs.gcp.state`: Firestore, buckets, declared secrets;
* :mod:`~skaal.programs.gcp.messaging`: Pub/Sub topics and subscriptions;
* :mod:`~skaal.programs.gcp.servers`: VPC connectors, Cloud SQL (an adopted
  instance read, never created), Memorystore;
* :mod:`~skaal.programs.gcp.services`: Cloud Run, the API Gateway, Cloud Scheduler.

What to create, where, with which roles, was decided by the builder
(:mod:`skaal.builder.targets.gcp_stack`); the program only adds what Google
assigns at deploy time (e-mails, URLs, ids) and the stack configuration.
"""

from __future__ import annotations

from skaal.programs.gcp.program import run

__all__ = ["run"]
