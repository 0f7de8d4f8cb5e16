"""The webhooks API under organizations/{id}/webhooks/ (owners and admins)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditLog
from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


def url(organization, suffix=""):
    return f"/api/v1/organizations/{organization.id}/webhooks/{suffix}"


def test_create_shows_the_secret_once_and_audits(api_client_for, organization, owner):
    # when
    response = api_client_for(owner).post(
        url(organization),
        {"url": "https://hooks.example.com/in", "event_types": ["order.*", "product.created"], "description": "erp"},
        format="json",
    )
    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["event_types"] == ["order.*", "product.created"]
    endpoint = WebhookEndpoint.objects.get(id=body["id"])
    assert endpoint.organization == organization
    detail = api_client_for(owner).get(url(organization, f"{endpoint.id}/")).json()
    assert "secret" not in detail
    entry = AuditLog.objects.get(action="webhook_endpoint.created", resource_id=str(endpoint.id))
    assert "whsec_" not in str(entry.new_values)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://hooks.example.com/in", "https"),
        ("https://10.0.0.1/in", "not allowed"),
        ("https://169.254.169.254/latest", "not allowed"),
        ("https://[::1]/in", "not allowed"),
        ("ftp://hooks.example.com/in", "URL"),
    ],
)
def test_create_refuses_unsafe_urls(api_client_for, organization, owner, target, reason):
    response = api_client_for(owner).post(url(organization), {"url": target}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert reason in str(error["details"]["url"])


def test_plan_limit_applies_when_the_plan_sets_one(api_client_for, organization, owner):
    organization.limits = {"webhook_endpoints": 1}
    organization.save()
    WebhookEndpointFactory(organization=organization)
    response = api_client_for(owner).post(url(organization), {"url": "https://a.example.com/"}, format="json")
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "PLAN_LIMIT_REACHED"
    organization.features = {"webhooks": False}
    organization.limits = {}
    organization.save()
    response = api_client_for(owner).post(url(organization), {"url": "https://a.example.com/"}, format="json")
    assert response.json()["error"]["code"] == "FEATURE_NOT_IN_PLAN"


def test_reenabling_clears_the_failure_streak(api_client_for, organization, admin):
    endpoint = WebhookEndpointFactory(
        organization=organization, is_active=False, consecutive_failures=10, disabled_reason="too many"
    )
    response = api_client_for(admin).patch(url(organization, f"{endpoint.id}/"), {"is_active": True}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is True
    endpoint.refresh_from_db()
    assert (endpoint.consecutive_failures, endpoint.disabled_reason, endpoint.disabled_at) == (0, "", None)


def test_rotate_secret_returns_the_new_one_and_keeps_the_old_for_a_day(api_client_for, organization, owner):
    endpoint = WebhookEndpointFactory(organization=organization)
    old = endpoint.secret
    response = api_client_for(owner).post(url(organization, f"{endpoint.id}/rotate-secret/"))
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert response.json()["secret"] == endpoint.secret != old
    assert endpoint.previous_secret == old
    assert abs((endpoint.previous_secret_expires_at - timezone.now()) - timedelta(hours=24)) < timedelta(minutes=1)


def test_test_action_sends_a_ping(
    httpserver, api_client_for, organization, owner, endpoint, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks").respond_with_data("pong")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client_for(owner).post(url(organization, f"{endpoint.id}/test/"))
    assert response.status_code == 202
    assert response.json()["event_type"] == "ping"
    assert WebhookDelivery.objects.get(id=response.json()["id"]).status == "succeeded"
    assert len(httpserver.log) == 1


def test_delete_removes_the_endpoint(api_client_for, organization, owner):
    endpoint = WebhookEndpointFactory(organization=organization)
    WebhookDeliveryFactory(endpoint=endpoint)
    assert api_client_for(owner).delete(url(organization, f"{endpoint.id}/")).status_code == 204
    assert not WebhookEndpoint.objects.filter(id=endpoint.id).exists()
    assert AuditLog.objects.filter(action="webhook_endpoint.deleted", resource_id=str(endpoint.id)).exists()


def test_endpoint_list_has_constant_queries(api_client_for, organization, owner, django_assert_num_queries):
    WebhookEndpointFactory.create_batch(3, organization=organization)
    client = api_client_for(owner)
    with django_assert_num_queries(5):
        response = client.get(url(organization))
    assert len(response.json()["results"]) == 3


def test_deliveries_list_filters_and_has_constant_queries(
    api_client_for, organization, owner, django_assert_num_queries
):
    # given
    endpoint = WebhookEndpointFactory(organization=organization)
    now = timezone.now()
    WebhookDeliveryFactory.create_batch(3, endpoint=endpoint, event_type="order.created", status="succeeded")
    failed = WebhookDeliveryFactory(endpoint=endpoint, event_type="product.updated", status="failed")
    old = WebhookDeliveryFactory(endpoint=endpoint, created_at=now - timedelta(days=3))
    WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(organization=organization))  # another endpoint
    client = api_client_for(owner)
    base = url(organization, f"{endpoint.id}/deliveries/")
    # when / then
    with django_assert_num_queries(6):
        everything = client.get(base).json()["results"]
    assert len(everything) == 5
    assert [d["id"] for d in client.get(base, {"status": "failed"}).json()["results"]] == [str(failed.id)]
    assert len(client.get(base, {"event_type": "order.created"}).json()["results"]) == 3
    recent = client.get(base, {"created_after": (now - timedelta(days=1)).isoformat()}).json()["results"]
    assert str(old.id) not in {d["id"] for d in recent}
    assert len(recent) == 4
    assert client.get(base, {"status": "bogus"}).status_code == 400


def test_delivery_detail_shows_every_attempt(httpserver, api_client_for, organization, owner, endpoint):
    from apps.webhooks import services

    httpserver.expect_ordered_request("/hooks").respond_with_data("boom", status=502)
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    delivery = WebhookDeliveryFactory(endpoint=endpoint)
    services.webhook_delivery_attempt(delivery_id=delivery.id)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    services.webhook_delivery_attempt(delivery_id=delivery.id)
    body = api_client_for(owner).get(url(organization, f"{endpoint.id}/deliveries/{delivery.id}/")).json()
    assert body["status"] == "succeeded"
    assert [(a["status_code"], a["response_body"]) for a in body["attempt_log"]] == [(502, "boom"), (200, "ok")]
    assert body["payload"] == delivery.payload


def test_replay_endpoints(
    httpserver, api_client_for, organization, owner, endpoint, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    dead = WebhookDeliveryFactory(endpoint=endpoint, status="failed")
    pending = WebhookDeliveryFactory(endpoint=endpoint)
    client = api_client_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(organization, f"{endpoint.id}/deliveries/{dead.id}/replay/"))
    assert response.status_code == 202
    dead.refresh_from_db()
    assert dead.status == "succeeded"
    # a delivery still being attempted cannot be replayed
    conflict = client.post(url(organization, f"{endpoint.id}/deliveries/{pending.id}/replay/"))
    assert conflict.status_code == 409
    # range replay
    other = WebhookDeliveryFactory(endpoint=endpoint, status="failed")
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(organization, f"{endpoint.id}/replay/"),
            {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(minutes=1)).isoformat()},
            format="json",
        )
    assert response.status_code == 202
    assert response.json() == {"replayed": 1}
    other.refresh_from_db()
    assert other.status == "succeeded"
    bad = client.post(url(organization, f"{endpoint.id}/replay/"), {"from": now.isoformat(), "to": now.isoformat()})
    assert bad.status_code == 400


def test_deliveries_of_another_endpoint_are_not_found_through_this_one(api_client_for, organization, owner):
    mine, theirs = WebhookEndpointFactory(organization=organization), WebhookEndpointFactory(organization=organization)
    delivery = WebhookDeliveryFactory(endpoint=theirs)
    response = api_client_for(owner).get(url(organization, f"{mine.id}/deliveries/{delivery.id}/"))
    assert response.status_code == 404
