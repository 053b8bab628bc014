"""Traces from built artifacts to the cloud's own trace service, when the project asks.

Off by default.  ``[tool.skaal] traces = true`` in the project's
``pyproject.toml`` (read by :func:`~skaal.declare.project.traces_setting`,
priced by the plan, :mod:`skaal.solver.traces`; carried as
:attr:`skaal.builder.model.BuildContext.traces`) makes the cloud builds
export the runtime's spans (:mod:`skaal.runtime.tracing`: a function span
per invocation, a child span per storage and queue operation):

**aws** -- every Lambda gets

* the AWS Distro for OpenTelemetry (ADOT) Python layer of its region
  (:func:`adot_layer_arn`), whose collector runs as a Lambda extension,
  receives OTLP on ``localhost:4317`` and forwards to X-Ray, and whose
  ``AWS_LAMBDA_EXEC_WRAPPER=/opt/otel-instrument`` wrapper opens the
  invocation's span (the X-Ray trace the function's spans join);
* X-Ray active tracing (``tracing_config`` mode ``Active``);
* ``SKAAL_TRACES=otlp`` and ``OTEL_SERVICE_NAME`` (:func:`aws_trace_env`);
* the IAM statement its role needs to write segments (:data:`XRAY_STATEMENT`).

**gcp** -- every Cloud Run service gets ``SKAAL_TRACES=gcp``: the runtime
exports its spans straight to Cloud Trace over OTLP (Google's Telemetry
API, authenticated as the service account; no collector in between), and
the service account gets ``roles/cloudtrace.agent`` (:data:`GCP_TRACE_ROLE`).

In both, the function's ``requirements.txt`` gains the OpenTelemetry SDK
and the exporter (:func:`trace_packages`) -- only when traces are on.
"""

from __future__ import annotations

from typing import Final

from skaal.builder.stacks.aws import ANY_RESOURCE, Statement
from skaal.declare.project import traces_setting

__all__ = [
    "ADOT_LAYER",
    "ADOT_WRAPPER",
    "GCP_TRACE_ROLE",
    "XRAY_STATEMENT",
    "adot_layer_arn",
    "aws_trace_env",
    "gcp_trace_env",
    "trace_packages",
    "traces_setting",
]

ADOT_LAYER: Final = "aws-otel-python-amd64-ver-1-25-0:1"
"""The ADOT Python layer (x86_64, as the Lambdas are) and its version, published by AWS in
account 901920570463 of every region (https://aws-otel.github.io/docs/getting-started/lambda/lambda-python)."""

ADOT_ACCOUNT: Final = "901920570463"

ADOT_WRAPPER: Final = "/opt/otel-instrument"
"""The layer's wrapper script: set as ``AWS_LAMBDA_EXEC_WRAPPER``."""

XRAY_STATEMENT: Final = Statement(
    sid="Traces",
    actions=("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
    resources=(ANY_RESOURCE,),  # X-Ray's write actions take no resource
)
"""What a Lambda's role needs to send its traces to X-Ray (as AWS's managed
``AWSXRayDaemonWriteAccess`` policy grants, without its sampling reads)."""

GCP_TRACE_ROLE: Final = "roles/cloudtrace.agent"
"""The role a Cloud Run service account needs to write spans to Cloud Trace."""

_PACKAGES: Final[dict[str, tuple[str, ...]]] = {
    "aws": ("opentelemetry-api", "opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-grpc"),
    "gcp": (
        "google-auth",
        "opentelemetry-api",
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-grpc",
        "requests",
    ),
}


def adot_layer_arn(region: str) -> str:
    """The ARN of the ADOT Python layer in ``region``."""
    return f"arn:aws:lambda:{region}:{ADOT_ACCOUNT}:layer:{ADOT_LAYER}"


def aws_trace_env(service: str) -> dict[str, str]:
    """The variables of a traced Lambda called ``service``."""
    return {
        "AWS_LAMBDA_EXEC_WRAPPER": ADOT_WRAPPER,
        "OTEL_SERVICE_NAME": service,
        "SKAAL_TRACES": "otlp",
    }


def gcp_trace_env(service: str) -> dict[str, str]:
    """The variables of a traced Cloud Run service called ``service``."""
    return {"OTEL_SERVICE_NAME": service, "SKAAL_TRACES": "gcp"}


def trace_packages(target: str, traces: bool) -> tuple[str, ...]:
    """What a ``target`` function needs to export its traces; none when ``traces`` is off."""
    return _PACKAGES.get(target, ()) if traces else ()
