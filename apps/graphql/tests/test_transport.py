"""The /graphql endpoint itself: auth, error shape, limits, introspection, throttles, GraphiQL, schema file."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from apps.graphql.export import SCHEMA_FILE, schema_sdl

pytestmark = pytest.mark.django_db

ME = "{ me { id email } }"
LOGIN = "mutation($email: String!, $password: String!) { login(email: $email, password: $password) { access } }"


# --- authentication ------------------------------------------------------------------------------


def test_bearer_token_authenticates_like_rest(gql, member):
    result = gql(ME, user=member)

    assert result.errors == []
    assert result.data["me"]["email"] == member.email


def test_anonymous_me_is_unauthorized_without_failing_the_rest_of_the_document(gql):
    result = gql("{ me { id } products { totalCount } }")

    assert result.codes == ["UNAUTHORIZED"]
    assert result.error["path"] == ["me"]
    assert result.data == {"me": None, "products": {"totalCount": 0}}


def test_bad_token_is_unauthorized_on_fields_that_need_the_user(gql):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    result = gql("{ products { totalCount } }", client=client)

    assert result.codes == ["UNAUTHORIZED"]
    assert result.data == {"products": None}


def test_revoked_session_token_stops_working_at_once(gql, member, api_client_for):
    from apps.accounts.services import auth_logout

    client = api_client_for(member)
    auth_logout(refresh=client.tokens.refresh, client=None)

    assert gql(ME, client=client).codes == ["UNAUTHORIZED"]


def test_login_ignores_a_stale_bearer_token(gql, user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    user.set_password("Correct-Horse-9!")
    user.save()

    result = gql(LOGIN, {"email": user.email, "password": "Correct-Horse-9!"}, client=client)

    assert result.errors == []
    assert result.data["login"]["access"]


def test_admin_session_cookie_is_not_a_credential(gql, client, staff_user):
    client.force_login(staff_user)

    response = client.post(reverse("graphql"), {"query": ME}, content_type="application/json")

    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


# --- error shape -----------------------------------------------------------------------------------


def test_errors_carry_code_details_and_request_id_but_no_internals(gql, member, monkeypatch):
    def boom(self):
        raise RuntimeError("secret database password is hunter2")

    monkeypatch.setattr("apps.graphql.context.GraphQLContext.require_user", boom)

    result = gql(ME, user=member)

    error = result.error
    assert error["extensions"]["code"] == "INTERNAL_ERROR"
    assert "hunter2" not in str(result.body)
    assert "Traceback" not in str(result.body)
    assert error["extensions"]["requestId"] == result.response["X-Request-ID"]


def test_a_failure_outside_the_operation_is_still_a_graphql_error(gql, member, monkeypatch):
    def redis_down(request, throttles):
        raise ConnectionError("redis://secret-host:6379 refused")

    monkeypatch.setattr("apps.graphql.views.check_throttles", redis_down)

    result = gql(ME, user=member)

    assert result.status_code == 500
    assert result.codes == ["INTERNAL_ERROR"]
    assert "secret-host" not in str(result.body)


def test_syntax_error_is_a_validation_error(gql):
    result = gql("{ me { id ")

    assert result.codes == ["VALIDATION_ERROR"]
    assert "Syntax Error" in result.error["message"]


def test_unknown_field_is_a_validation_error(gql):
    assert gql("{ nope }").codes == ["VALIDATION_ERROR"]


def test_malformed_json_body_is_a_json_validation_error(client):
    response = client.post(reverse("graphql"), "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


def test_mutations_are_refused_over_get(client):
    response = client.get(reverse("graphql"), {"query": 'mutation { refreshToken(refresh: "x") { access } }'})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert "GET" in error["message"]


def test_queries_work_over_get(client):
    response = client.get(reverse("graphql"), {"query": "{ products { totalCount } }"})

    assert response.status_code == 200
    assert response.json() == {"data": {"products": {"totalCount": 0}}}


# --- limits ----------------------------------------------------------------------------------------


def test_depth_over_ten_is_refused_before_running(gql, member):
    deep = "{ organizations { products { edges { node { organization { products { edges { node { organization { products { edges { node { id } } } } } } } } } } } } }"  # noqa: E501 - depth 13

    result = gql(deep, user=member)

    assert result.codes == ["VALIDATION_ERROR"]
    assert "exceeds maximum operation depth of 10" in result.error["message"]


def test_depth_of_ten_is_allowed(gql, member):
    query = "{ organizations { products { edges { node { organization { products { edges { node { organization { id } } } } } } } } } }"  # noqa: E501 - depth 10

    assert gql(query, user=member).errors == []


def test_too_many_aliases_are_refused(gql):
    aliases = " ".join(f"a{i}: products {{ totalCount }}" for i in range(16))

    result = gql(f"{{ {aliases} }}")

    assert result.codes == ["VALIDATION_ERROR"]
    assert "aliases" in result.error["message"]


def test_too_many_tokens_are_refused(gql):
    fields = " ".join(["__typename"] * 2100)

    result = gql(f"{{ {fields} }}")

    assert result.codes == ["VALIDATION_ERROR"]
    assert "tokens" in result.error["message"]


# --- introspection ---------------------------------------------------------------------------------


@override_settings(GRAPHQL_INTROSPECTION=False)
def test_introspection_is_refused_when_switched_off(gql):
    result = gql("{ __schema { queryType { name } } }")

    assert result.data is None
    assert set(result.codes) == {"VALIDATION_ERROR"}
    assert "introspection" in result.errors[0]["message"].lower()


@override_settings(GRAPHQL_INTROSPECTION=True)
def test_full_introspection_query_passes_the_limits_when_switched_on(gql):
    from graphql import get_introspection_query

    result = gql(get_introspection_query())

    assert result.errors == []
    assert result.data["__schema"]["queryType"]["name"] == "Query"


def test_development_settings_turn_introspection_and_graphiql_on():
    from olympus.settings import base, dev

    assert (base.GRAPHQL_INTROSPECTION, base.GRAPHQL_GRAPHIQL) == (False, False)
    assert dev.GRAPHQL_INTROSPECTION is True
    assert dev.GRAPHQL_GRAPHIQL is True


# --- throttles -------------------------------------------------------------------------------------


def _rates(**rates: str) -> dict:
    from django.conf import settings

    config = dict(settings.REST_FRAMEWORK)
    config["DEFAULT_THROTTLE_RATES"] = {**api_settings.DEFAULT_THROTTLE_RATES, **rates}
    return config


def test_requests_count_against_the_rest_user_rate(gql, member):
    with override_settings(REST_FRAMEWORK=_rates(user="2/min")):
        assert gql(ME, user=member).errors == []
        assert gql(ME, user=member).errors == []

        result = gql(ME, user=member)

    assert result.status_code == 429
    assert result.codes == ["RATE_LIMIT_EXCEEDED"]
    assert int(result.response["Retry-After"]) >= 1
    assert result.error["extensions"]["details"]["retry_after_seconds"] >= 1


def test_anonymous_requests_count_against_the_anon_rate_per_ip(gql):
    with override_settings(REST_FRAMEWORK=_rates(anon="1/min")):
        assert gql("{ products { totalCount } }").status_code == 200

        assert gql("{ products { totalCount } }").status_code == 429


def test_login_is_throttled_per_email_like_rest(gql, user):
    wrong = {"email": user.email, "password": "wrong"}
    with override_settings(REST_FRAMEWORK=_rates(login_email="2/m", login_ip="100/m")):
        assert gql(LOGIN, wrong).codes == ["UNAUTHORIZED"]
        assert gql(LOGIN, wrong).codes == ["UNAUTHORIZED"]

        result = gql(LOGIN, wrong)

    assert result.codes == ["RATE_LIMIT_EXCEEDED"]


# --- GraphiQL --------------------------------------------------------------------------------------


@override_settings(GRAPHQL_GRAPHIQL=True)
def test_graphiql_in_development_loads_every_asset_from_our_static_files(client):
    response = client.get(reverse("graphql"), HTTP_ACCEPT="text/html")

    page = response.content.decode()
    assert response.status_code == 200
    assert "unpkg.com" not in page
    assert "cdn" not in page.lower()
    for asset in ("graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js"):
        assert f"/static/olympus_graphql/graphiql/{asset}" in page
        assert client.get(f"/static/olympus_graphql/graphiql/{asset}").status_code == 200


@override_settings(GRAPHQL_GRAPHIQL=False)
def test_graphiql_is_not_served_outside_development(client):
    response = client.get(reverse("graphql"), HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# --- the committed schema ----------------------------------------------------------------------------


def test_schema_graphql_is_up_to_date():
    assert SCHEMA_FILE.read_text() == schema_sdl(), "schema.graphql is stale: run `python manage.py graphql_schema`"


def test_schema_check_command_fails_when_stale(tmp_path, monkeypatch):
    from django.core.management import CommandError, call_command

    stale = tmp_path / "schema.graphql"
    stale.write_text("type Query { old: Int }\n")
    monkeypatch.setattr("apps.graphql.export.SCHEMA_FILE", stale)

    with pytest.raises(CommandError, match="out of date"):
        call_command("graphql_schema", "--check")
