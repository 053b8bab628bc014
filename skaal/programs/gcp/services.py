"""Cloud Run services, the API Gateway and the Cloud Scheduler jobs of the gcp program."""

from __future__ import annotations

import base64

import pulumi
import pulumi_gcp as gcp

from skaal.builder.stacks.gcp import (
    MIGRATION_URL_OUTPUT,
    Env,
    EnvBucket,
    EnvMemorystore,
    EnvProject,
    EnvSecret,
    EnvValue,
    Gateway,
    SchedulerJob,
    Service,
)
from skaal.programs.gcp.context import Deploy

__all__ = ["create_gateway", "create_schedules", "create_services", "gateway_document"]

run = gcp.cloudrunv2


def create_services(deploy: Deploy) -> None:
    for service in deploy.stack.services:
        _service(deploy, service)
    runner = deploy.stack.migration_runner
    if runner is not None:
        _migration_runner(deploy, deploy.services[runner])


def _migration_runner(deploy: Deploy, service: run.Service) -> None:
    """Export the runner's URL; let only the operator's listed members invoke it.

    No account of the stack is its invoker: besides the project's Owners,
    Editors and Cloud Run Admins/Invokers, only ``skaal:migrationInvokers``.
    """
    for index, member in enumerate(deploy.migration_invokers):
        run.ServiceIamMember(
            f"migrate-operator-{index}",
            name=service.name,
            location=service.location,
            role="roles/run.invoker",
            member=member,
        )
    pulumi.export(MIGRATION_URL_OUTPUT, service.uri)


def _env(deploy: Deploy, entry: Env) -> run.ServiceTemplateContainerEnvArgs:
    match entry:
        case EnvValue():
            return run.ServiceTemplateContainerEnvArgs(name=entry.name, value=entry.value)
        case EnvProject():
            return run.ServiceTemplateContainerEnvArgs(name=entry.name, value=deploy.project)
        case EnvBucket():
            bucket = deploy.buckets[entry.bucket].name
            return run.ServiceTemplateContainerEnvArgs(name=entry.name, value=bucket)
        case EnvMemorystore():
            instance = deploy.redis[entry.instance]
            host, port = (
                (instance.read_endpoint, instance.read_endpoint_port)
                if entry.read
                else (instance.host, instance.port)
            )
            url = pulumi.Output.concat("redis://", host, ":", port.apply(str))
            return run.ServiceTemplateContainerEnvArgs(name=entry.name, value=url)
        case EnvSecret():
            return run.ServiceTemplateContainerEnvArgs(
                name=entry.name,
                value_source=run.ServiceTemplateContainerEnvValueSourceArgs(
                    secret_key_ref=run.ServiceTemplateContainerEnvValueSourceSecretKeyRefArgs(
                        secret=deploy.secret_ids[entry.secret], version="latest"
                    )
                ),
            )


def _service(deploy: Deploy, spec: Service) -> None:
    """A private Cloud Run service; only its invoker may call it."""
    if spec.trace_grant is not None:
        deploy.project_grants((spec.trace_grant,))
    sockets = [deploy.sql[key].connection_name for key in spec.sql_instances]
    container = run.ServiceTemplateContainerArgs(
        image=deploy.image,
        envs=[_env(deploy, entry) for entry in spec.env],
        resources=run.ServiceTemplateContainerResourcesArgs(
            limits={"cpu": spec.cpu, "memory": spec.memory}
        ),
        volume_mounts=[
            run.ServiceTemplateContainerVolumeMountArgs(name="cloudsql", mount_path="/cloudsql")
        ]
        if sockets
        else None,
    )
    connector = spec.connector
    service = run.Service(
        spec.key,
        name=spec.name,
        location=spec.location,
        ingress="INGRESS_TRAFFIC_ALL",
        deletion_protection=False,
        template=run.ServiceTemplateArgs(
            service_account=deploy.email(spec.account),
            scaling=run.ServiceTemplateScalingArgs(max_instance_count=spec.max_instances),
            timeout=spec.timeout,
            containers=[container],
            volumes=[
                run.ServiceTemplateVolumeArgs(
                    name="cloudsql",
                    cloud_sql_instance=run.ServiceTemplateVolumeCloudSqlInstanceArgs(
                        instances=sockets
                    ),
                )
            ]
            if sockets
            else None,
            vpc_access=None
            if connector is None
            else run.ServiceTemplateVpcAccessArgs(
                connector=deploy.connectors[connector].id, egress="PRIVATE_RANGES_ONLY"
            ),
        ),
    )
    deploy.services[spec.key] = service
    if spec.invoker is None:  # the migration runner: the operator's only
        return
    run.ServiceIamMember(
        f"{spec.key}-invoker",
        name=service.name,
        location=service.location,
        role="roles/run.invoker",
        member=deploy.member(spec.invoker),
    )


def gateway_document(document: str, addresses: dict[str, str]) -> str:
    """``document`` with each service's URL in place of its ``{key}``, base64-encoded."""
    for key, uri in addresses.items():
        document = document.replace("{" + key + "}", uri)
    return base64.b64encode(document.encode()).decode()


def create_gateway(deploy: Deploy) -> None:
    spec: Gateway | None = deploy.stack.gateway
    if spec is None:
        return
    api = gcp.apigateway.Api("api", api_id=spec.api_id, display_name=spec.display_name)
    document = spec.document
    addresses = pulumi.Output.all(**{key: deploy.services[key].uri for key in spec.backends}).apply(
        lambda uris: gateway_document(document, uris)
    )
    config = gcp.apigateway.ApiConfig(
        "api-config",
        api=api.api_id,
        api_config_id_prefix=spec.config_prefix,
        openapi_documents=[
            gcp.apigateway.ApiConfigOpenapiDocumentArgs(
                document=gcp.apigateway.ApiConfigOpenapiDocumentDocumentArgs(
                    path="openapi.json", contents=addresses
                )
            )
        ],
        gateway_config=gcp.apigateway.ApiConfigGatewayConfigArgs(
            backend_config=gcp.apigateway.ApiConfigGatewayConfigBackendConfigArgs(
                google_service_account=deploy.email(spec.account)
            )
        ),
    )
    gateway = gcp.apigateway.Gateway(
        "gateway",
        gateway_id=spec.gateway_id,
        api_config=config.id,
        region=spec.region,
        display_name=spec.display_name,
    )
    pulumi.export("url", pulumi.Output.concat("https://", gateway.default_hostname))


def create_schedules(deploy: Deploy) -> None:
    for job in deploy.stack.schedules:
        _schedule(deploy, job)


def _schedule(deploy: Deploy, spec: SchedulerJob) -> None:
    uri = deploy.services[spec.service].uri
    gcp.cloudscheduler.Job(
        spec.name,
        name=spec.job,
        region=spec.region,
        schedule=spec.schedule,
        time_zone=spec.time_zone,
        attempt_deadline=spec.attempt_deadline,
        retry_config=gcp.cloudscheduler.JobRetryConfigArgs(retry_count=0),
        http_target=gcp.cloudscheduler.JobHttpTargetArgs(
            uri=pulumi.Output.concat(uri, spec.path),
            http_method="POST",
            oidc_token=gcp.cloudscheduler.JobHttpTargetOidcTokenArgs(
                service_account_email=deploy.email(spec.invoker), audience=uri
            ),
        ),
    )
