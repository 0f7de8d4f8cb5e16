"""Billing admin: plans editable through the service; Stripe's mirror read-only; events reprocessable."""

import json

import pytest

from apps.audit.models import AuditLog
from apps.billing.models import StripeEvent
from apps.billing.tests.factories import InvoiceFactory, SubscriptionFactory, on_plan
from apps.billing.tests.stripe_server import event_for
from apps.organizations.tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


# Exact per page, whatever the number of rows (a ceiling would let one more query in unseen).
# Tenant changelists count their rows once (a LIMITed count; no second count of the whole table,
# apps/core/admin_paginator.py); the plan list is not a tenant list.
CHANGELIST_QUERIES = {
    "plan": 5,
    "subscription": 5,
    "invoice": 4,
    "checkoutsession": 5,
    "stripeevent": 5,
    "payment": 5,
    "refund": 5,
}


@pytest.mark.parametrize("model", list(CHANGELIST_QUERIES))
def test_changelists_run_constant_queries(admin_client, plans, model, django_assert_num_queries):
    for _ in range(5):
        InvoiceFactory(subscription=SubscriptionFactory())
    for n in range(5):
        StripeEvent.objects.create(
            stripe_event_id=f"evt_{n}", type="invoice.paid", stripe_created_at="2026-01-01T00:00:00Z", payload={}
        )

    with django_assert_num_queries(CHANGELIST_QUERIES[model]):
        response = admin_client.get(f"/admin/billing/{model}/")

    assert response.status_code == 200


def test_stripe_mirror_is_read_only(admin_client, plans):
    subscription = SubscriptionFactory()

    assert admin_client.get("/admin/billing/subscription/add/").status_code == 403
    page = admin_client.get(f"/admin/billing/subscription/{subscription.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        f"/admin/organizations/organization/{subscription.organization_id}/change/"
        in admin_client.get("/admin/billing/subscription/").content.decode()
    )


def _plan_form(admin_client, plan):
    form = admin_client.get(f"/admin/billing/plan/{plan.pk}/change/").context["adminform"].form
    data = {name: form.initial.get(name, "") for name in form.fields}
    data["limits"] = json.dumps(plan.limits)
    data["features"] = ",".join(plan.features)
    return {key: ("on" if value is True else value) for key, value in data.items() if value not in (False, None)}


def test_editing_a_plan_reaches_the_organizations_on_it(admin_client, plans):
    # given: an organization on pro
    organization = on_plan(OrganizationFactory(), "pro")
    pro = plans["pro"]
    data = _plan_form(admin_client, pro)
    data["limits"] = json.dumps({**pro.limits, "products": 2000})

    # when
    response = admin_client.post(f"/admin/billing/plan/{pro.pk}/change/", data)

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    organization.refresh_from_db()
    assert organization.limits["products"] == 2000
    assert AuditLog.objects.filter(action="plan.updated", resource_id=str(pro.pk)).exists()
    assert AuditLog.objects.filter(action="organization.plan_changed", organization_id=organization.pk).exists()


def test_plan_limits_are_validated(admin_client, plans):
    data = _plan_form(admin_client, plans["pro"])
    data["limits"] = json.dumps({"products": -1, "seats": 3})

    response = admin_client.post(f"/admin/billing/plan/{plans['pro'].pk}/change/", data)

    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors)
    assert "Unknown limit(s): seats" in errors
    assert "Missing limit(s)" in errors


def test_reprocess_action_queues_the_events_again(admin_client, plans, django_capture_on_commit_callbacks):
    event = StripeEvent.objects.create(
        stripe_event_id="evt_failed",
        type="customer.created",
        status=StripeEvent.Status.FAILED,
        attempts=8,
        stripe_created_at="2026-01-01T00:00:00Z",
        payload=event_for({"id": "cus_x", "object": "customer"}, "customer.created", event_id="evt_failed"),
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/billing/stripeevent/", {"action": "reprocess", "_selected_action": [str(event.pk)]}
        )

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.status == StripeEvent.Status.IGNORED  # reprocessed: no handler for this type
    assert event.attempts == 1


def test_payments_and_refunds_link_to_their_order_and_organization(admin_client, plans, organization):
    from apps.billing.models import Payment, Refund
    from apps.orders.tests.factories import OrderFactory

    order = OrderFactory(organization=organization)
    payment = Payment.objects.create(
        order=order,
        organization=organization,
        stripe_payment_intent_id="pi_admin",
        amount_cents=order.total_cents,
        currency="USD",
        status="succeeded",
    )
    Refund.objects.create(
        payment=payment,
        organization=organization,
        stripe_refund_id="re_admin",
        amount_cents=100,
        currency="USD",
        status="succeeded",
    )

    for model in ("payment", "refund"):
        page = admin_client.get(f"/admin/billing/{model}/").content.decode()
        assert f"/admin/orders/order/{order.pk}/change/" in page
        assert f"/admin/organizations/organization/{organization.pk}/change/" in page


def test_making_another_plan_the_default_moves_the_flag(admin_client, plans):
    from apps.billing.models import Plan
    from apps.billing.services import plan_save

    plan_save(actor=None, plan=plans["pro"], data={"is_default": True})

    assert list(Plan.objects.filter(is_default=True).values_list("code", flat=True)) == ["pro"]
