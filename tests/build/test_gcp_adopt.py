"""An adopted Cloud Storage bucket on gcp: read into the stack, granted, never created."""

from __future__ import annotations

from skaal import App, BlobStore
from skaal.build.model import BuildContext
from skaal.build.targets.gcp import build_gcp
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.build import gcp_mocks


class Uploads(BlobStore): ...


def _app() -> App:
    app = App("shop")
    app.blob(existing="gs://acme-uploads")(Uploads)

    @app.function()
    async def upload(name: str) -> None:
        await Uploads.delete(name)

    return app


def test_the_adopted_bucket_is_read_and_its_users_are_granted() -> None:
    app = _app()
    plan = solve(app.blueprint(), load_catalog("gcp"))
    context = BuildContext(
        blueprint=app.blueprint(),
        plan=plan,
        app_ref="shop:app",
        target="gcp",
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )
    source = build_gcp(context).file("infra/__main__.py").content
    assert isinstance(source, str)
    assert "gcp.storage.Bucket.get(" in source
    run = gcp_mocks.run_program(source, gcp_mocks.CONFIG)
    bucket = run.named("Uploads")
    assert bucket.read_id == "acme-uploads"
    members = run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert members
    assert all(m.inputs["bucket"] == "acme-uploads" for m in members)
    env = next(
        e["value"]
        for s in run.of_type("gcp:cloudrunv2/service:Service")
        for c in s.inputs["template"]["containers"]
        for e in c.get("envs", [])
        if e["name"] == "SKAAL_UPLOADS_NAME"
    )
    assert env == "acme-uploads"
