"""Rate-limit tiers: per IP for anonymous callers, per user otherwise, plus the view's own tier;
RateLimit-* headers on every API response; every bucket in one Redis round trip."""

import pytest
import redis.connection
from rest_framework.settings import api_settings

from apps.core import throttles

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


@pytest.fixture
def rates(monkeypatch):
    """Set tier rates for the test (read per request)."""

    def set_rates(**values):
        for scope, rate in values.items():
            monkeypatch.setitem(api_settings.DEFAULT_THROTTLE_RATES, scope, rate)

    throttles.forget_factors()
    yield set_rates
    throttles.forget_factors()


@pytest.fixture
def round_trips(monkeypatch):
    """Counts what is sent to Redis: one call per command, or per pipeline (a spy: the commands still run)."""
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def spy(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", spy)
    return sent


def test_anonymous_callers_are_throttled_per_ip(api_client, rates):
    rates(anon="2/min")
    assert [api_client.get(PRODUCTS).status_code for _ in range(2)] == [200, 200]
    response = api_client.get(PRODUCTS)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    assert int(response["Retry-After"]) >= 1
    assert response["RateLimit-Remaining"] == "0"


def test_signed_in_users_have_their_own_bucket(api_client_for, user, api_client, rates):
    rates(user="1/min", anon="100/min")
    client = api_client_for(user)
    assert client.get(PRODUCTS).status_code == 200
    assert client.get(PRODUCTS).status_code == 429
    # another caller is not affected
    assert api_client.get(PRODUCTS).status_code == 200


def test_default_tiers_are_the_documented_ones(settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert (rates["anon"], rates["user"]) == ("100/min", "1000/min")
    assert (rates["product_create"], rates["webhook_manage"]) == ("30/min", "100/min")
    assert rates["login_ip"] == rates["login_email"] == "10/5m"


def test_every_api_response_carries_the_ratelimit_headers(api_client, rates):
    rates(anon="5/min")
    first, second = api_client.get(PRODUCTS), api_client.get("/api/v1/billing/plans/")
    assert first["RateLimit-Limit"] == second["RateLimit-Limit"] == "5"
    assert (first["RateLimit-Remaining"], second["RateLimit-Remaining"]) == ("4", "3")
    assert 1 <= int(second["RateLimit-Reset"]) <= 60
    # an error answer too
    missing = api_client.get(f"{PRODUCTS}00000000-0000-0000-0000-000000000000/")
    assert missing.status_code == 404
    assert missing["RateLimit-Remaining"] == "2"


def test_the_headers_are_exposed_to_browsers(api_client, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://shop.example.com"]
    response = api_client.get(PRODUCTS, HTTP_ORIGIN="https://shop.example.com")
    exposed = {h.strip() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"} <= exposed


def test_product_creation_has_its_own_tier(api_client_for, member, organization, rates):
    rates(product_create="2/min", user="1000/min")
    client = api_client_for(member)
    body = {"organization": str(organization.id), "name": "Widget", "price_cents": 100}
    statuses = [client.post(PRODUCTS, {**body, "name": f"Widget {n}"}).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    refused = client.post(PRODUCTS, {**body, "name": "Widget 9"})
    assert refused["RateLimit-Limit"] == "2"
    # reads are only under the user tier
    listed = client.get(PRODUCTS)
    assert listed.status_code == 200
    assert listed["RateLimit-Limit"] == "1000"


def test_webhook_management_has_its_own_tier(api_client_for, owner, organization, rates):
    rates(webhook_manage="1/min", user="1000/min")
    client = api_client_for(owner)
    url = f"/api/v1/organizations/{organization.id}/webhooks/"
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429
    assert client.get(PRODUCTS).status_code == 200


def test_a_refused_request_takes_nothing_from_the_other_buckets(api_client_for, member, organization, rates):
    rates(product_create="1/min", user="3/min")
    client = api_client_for(member)
    body = {"organization": str(organization.id), "price_cents": 100}
    assert client.post(PRODUCTS, {**body, "name": "A"}).status_code == 201  # user 2 left
    assert client.post(PRODUCTS, {**body, "name": "B"}).status_code == 429  # refused: user bucket untouched
    assert client.get(PRODUCTS)["RateLimit-Remaining"] == "1"


def test_a_plan_raises_the_signed_in_rates(api_client_for, member, organization, rates, settings):
    from apps.billing.tests.factories import on_plan

    on_plan(organization, "enterprise")
    settings.RATE_LIMIT_PLAN_FACTORS = {"enterprise": 3.0}
    rates(user="1/min")
    client = api_client_for(member)
    assert client.get(PRODUCTS)["RateLimit-Limit"] == "1"
    raised = client.get(PRODUCTS)  # the base rate would refuse: the plan's factor is looked up
    assert raised.status_code == 200
    assert raised["RateLimit-Limit"] == "3"
    assert client.get(PRODUCTS).status_code == 200
    assert client.get(PRODUCTS).status_code == 429


def test_a_user_without_a_raising_plan_keeps_the_base_rate(api_client_for, user, rates, settings):
    settings.RATE_LIMIT_PLAN_FACTORS = {"enterprise": 3.0}
    rates(user="1/min")
    client = api_client_for(user)
    assert client.get(PRODUCTS).status_code == 200
    assert client.get(PRODUCTS).status_code == 429


def test_all_buckets_are_checked_in_one_redis_round_trip(api_client_for, member, organization, rates, round_trips):
    rates(product_create="30/min", user="1000/min")
    client = api_client_for(member)
    client.get(f"/api/v1/organizations/{organization.id}/")  # warm: the member's session and organization reads
    round_trips.clear()
    response = client.get(f"/api/v1/organizations/{organization.id}/")
    assert response.status_code == 200
    assert response["RateLimit-Limit"] == "1000"
    assert len(round_trips) == 1
    assert b"EVALSHA" in _flat(round_trips[0])


def _flat(command):
    return command if isinstance(command, bytes) else b"".join(bytes(part) for part in command)


def test_parse_rate_reads_multiples_of_a_unit():
    assert throttles.parse_rate("100/min") == (100, 60)
    assert throttles.parse_rate("10/5m") == (10, 300)
    assert throttles.parse_rate("20/h") == (20, 3600)
    with pytest.raises(ValueError, match="Bad throttle rate"):
        throttles.parse_rate("10/fortnight")
