"""The OpenAPI document is the contract: valid, complete, and browsable offline."""

import pytest
import yaml
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


@pytest.mark.urls("apps.core.tests.urls")
def test_schema_declares_bearer_auth_and_error_envelope(schema):
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    envelope = schema["components"]["schemas"]["ErrorEnvelope"]
    assert envelope["required"] == ["error"]
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert set(detail["properties"]) == {"code", "message", "details", "request_id", "trace_id"}
    # trace_id only when the server traces (issue 17)
    assert set(detail["required"]) == {"code", "message", "details", "request_id"}


@pytest.mark.urls("apps.core.tests.urls")
def test_every_operation_documents_its_errors(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    for path, method, op in operations:
        assert "500" in op["responses"], (path, method)
        assert op["responses"]["500"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorEnvelope")
        if method in {"post", "put", "patch"}:
            assert "400" in op["responses"], (path, method)


@pytest.mark.parametrize(
    ("url", "asset"),
    [("/api/docs/", "/static/drf_spectacular_sidecar/swagger-ui"), ("/api/redoc/", "/api/redoc/redoc.standalone.js")],
)
def test_docs_ui_is_served_from_local_static_files(client, url, asset):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert asset in html
    assert "fonts.googleapis.com" not in html
    # Works without internet: no CDN.
    assert "cdn.jsdelivr.net" not in html
    assert "unpkg.com" not in html


def test_sidecar_assets_are_served(client):
    response = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert response.status_code == 200


def test_redoc_bundle_is_the_sidecar_without_the_cdn_logo(client):
    response = client.get("/api/redoc/redoc.standalone.js")
    assert response.status_code == 200
    body = response.content
    assert len(body) > 100_000
    assert b"Redoc" in body
    assert b"cdn.redoc.ly" not in body
