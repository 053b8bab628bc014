"""Running a Skaal app on AWS Lambda.

:mod:`skaal.hosts.aws_lambda.handler` is the entry point every generated Lambda calls; it
dispatches HTTP API requests (:mod:`skaal.hosts.aws_lambda.http_api`), SQS batches
(:mod:`skaal.hosts.aws_lambda.sqs_event`) and EventBridge Scheduler invocations to the app.
"""

from skaal.hosts.aws_lambda.handler import LambdaHandler

__all__ = ["LambdaHandler"]
