"""Running a Skaal app on AWS Lambda.

:mod:`skaal.aws.handler` is the entry point every generated Lambda calls; it
dispatches HTTP API requests (:mod:`skaal.aws.http_api`), SQS batches
(:mod:`skaal.aws.sqs_event`) and EventBridge Scheduler invocations to the app.
"""

from skaal.aws.handler import LambdaHandler

__all__ = ["LambdaHandler"]
