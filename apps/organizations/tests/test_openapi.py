import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/v1/organizations/": {"get", "post"},
    "/api/v1/organizations/{id}/": {"get", "patch", "delete"},
    "/api/v1/organizations/{id}/leave/": {"post"},
    "/api/v1/organizations/{organization_pk}/members/": {"get"},
    "/api/v1/organizations/{organization_pk}/members/{id}/": {"get", "patch", "delete"},
    "/api/v1/organizations/{organization_pk}/invitations/": {"get", "post"},
    "/api/v1/organizations/{organization_pk}/invitations/{id}/": {"delete"},
    "/api/v1/organizations/{organization_pk}/audit-logs/": {"get"},
    "/api/v1/invitations/accept/": {"post"},
}


def test_every_endpoint_is_in_the_valid_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    validate(schema)
    for path, methods in PATHS.items():
        assert set(schema["paths"][path]) == methods, path
    responses = schema["paths"]["/api/v1/organizations/{organization_pk}/members/{id}/"]["patch"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(responses)
