"""Staff screens for webhooks: constant query counts, secrets hidden, actions through the services."""

import pytest
from django.urls import reverse

from apps.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.webhooks.tests.factories import WebhookDeliveryFactory, WebhookEndpointFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


# Exact per page, whatever the number of rows (a ceiling would let one more query in unseen).
# One LIMITed count, no second count of the whole table (apps/core/admin_paginator.py).
CHANGELIST_QUERIES = {"webhookendpoint": 4, "webhookdelivery": 5}


@pytest.mark.parametrize("model", list(CHANGELIST_QUERIES))
@pytest.mark.parametrize("count", [1, 6])
def test_changelists_query_count_is_constant(staff_client, model, count, django_assert_num_queries):
    for _ in range(count):
        WebhookDeliveryFactory()
    with django_assert_num_queries(CHANGELIST_QUERIES[model]):
        response = staff_client.get(reverse(f"admin:webhooks_{model}_changelist"))
    assert response.status_code == 200


def test_endpoint_page_never_shows_the_secret(staff_client):
    endpoint = WebhookEndpointFactory()
    response = staff_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]))
    assert response.status_code == 200
    assert endpoint.secret not in response.content.decode()


def test_delivery_page_shows_attempts(staff_client, httpserver, organization, owner):
    from apps.webhooks import services

    httpserver.expect_request("/hooks").respond_with_data("received!")
    delivery = WebhookDeliveryFactory(endpoint=WebhookEndpointFactory(url=httpserver.url_for("/hooks")))
    services.webhook_delivery_attempt(delivery_id=delivery.id)
    response = staff_client.get(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    assert "received!" in response.content.decode()


def test_disable_and_enable_actions_go_through_the_services(staff_client, owner, organization):
    endpoint = WebhookEndpointFactory(organization=organization)
    changelist = reverse("admin:webhooks_webhookendpoint_changelist")
    staff_client.post(changelist, {"action": "disable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason == "Disabled by Olympus staff."
    staff_client.post(changelist, {"action": "enable", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).disabled_reason == ""


def test_replay_action_requeues_dead_letters(staff_client, httpserver, django_capture_on_commit_callbacks):
    httpserver.expect_request("/hooks").respond_with_data("ok")
    delivery = WebhookDeliveryFactory(
        endpoint=WebhookEndpointFactory(url=httpserver.url_for("/hooks")), status="failed"
    )
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "replay", "_selected_action": [delivery.pk]},
        )
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
