import io

import pytest
import yaml
from django.core.management import call_command

from apps.accounts.tests.helpers import login

ACCOUNT_OPERATIONS = {
    ("/api/v1/auth/register", "post"): "202",
    ("/api/v1/auth/login", "post"): "200",
    ("/api/v1/auth/refresh", "post"): "200",
    ("/api/v1/auth/logout", "post"): "204",
    ("/api/v1/auth/logout-all", "post"): "204",
    ("/api/v1/auth/password-reset", "post"): "202",
    ("/api/v1/auth/password-reset/confirm", "post"): "204",
    ("/api/v1/auth/verify-email", "post"): "204",
    ("/api/v1/auth/verify-email/resend", "post"): "202",
    ("/api/v1/users/me", "get"): "200",
    ("/api/v1/users/me", "patch"): "200",
    ("/api/v1/users/me/password", "post"): "204",
    ("/api/v1/users/me/sessions", "get"): "200",
    ("/api/v1/users/me/sessions/{id}", "delete"): "204",
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    # --fail-on-warn: every view must describe itself without drf-spectacular guessing
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize(("path", "method"), list(ACCOUNT_OPERATIONS))
def test_every_accounts_endpoint_is_in_the_openapi_document(schema, path, method):
    operation = schema["paths"][path][method]

    assert ACCOUNT_OPERATIONS[(path, method)] in operation["responses"]
    assert "429" in operation["responses"]
    if method in {"post", "patch"} and path not in {"/api/v1/auth/logout-all", "/api/v1/auth/verify-email/resend"}:
        assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"])
def test_public_auth_endpoints_document_their_401(schema, path):
    assert "401" in schema["paths"][path]["post"]["responses"]


def test_bearer_scheme_is_documented(schema):
    assert schema["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/users/me"]["get"]["security"] == [{"jwtAuth": []}]


@pytest.mark.django_db
def test_demo_users_are_verified_and_can_sign_in(api_client):
    from apps.accounts.models import User
    from apps.demo.management.commands.seed_demo import DEMO_PASSWORD, ROLE_USERS, STAFF_EMAIL

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())  # idempotent

    for email in [STAFF_EMAIL, *ROLE_USERS.values()]:
        assert User.objects.get(email=email).email_verified_at is not None
        assert login(api_client, email, DEMO_PASSWORD).status_code == 200
