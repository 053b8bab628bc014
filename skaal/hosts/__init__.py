"""Hosts: what runs a built app where it is deployed.

Each host opens the runtime on the shipped lock and serves the app's
functions, schedules and consumers the way its platform calls them:

* :mod:`skaal.hosts.local` -- the local artifact (``serve.py``), served as
  ``skaal run`` serves it;
* :mod:`skaal.hosts.aws_lambda` -- the AWS Lambda handler (API Gateway, SQS
  and EventBridge events);
* :mod:`skaal.hosts.cloud_run` -- the Cloud Run service of a gcp build (HTTP,
  Pub/Sub pushes, Cloud Scheduler calls).

Hosts sit above the serving plane (:mod:`skaal.serve`), the runtime and the
builders, whose artifact layout (:mod:`skaal.builder.layout`) they read.
Nothing in the package imports a host; a generated entry point names it.
"""
