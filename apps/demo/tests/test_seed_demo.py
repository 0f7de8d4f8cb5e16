import pytest
from django.core.management import call_command

from apps.accounts.models import User
from apps.demo.management.commands import seed_demo

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_prints_credentials(capsys):
    call_command("seed_demo")
    first = set(User.objects.values_list("id", flat=True))
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert set(User.objects.values_list("id", flat=True)) == first
    assert len(first) == 2 + len(seed_demo.ROLE_USERS)  # staff, support and one per role
    assert seed_demo.DEMO_PASSWORD in out
    for email in seed_demo.ROLE_USERS.values():
        assert email in out


def test_demo_staff_can_log_into_the_admin(client):
    call_command("seed_demo")
    assert client.login(email=seed_demo.STAFF_EMAIL, password=seed_demo.DEMO_PASSWORD)
    assert client.get("/admin/").status_code == 200


def test_seed_demo_creates_orders_in_every_status_once():
    from apps.orders.models import Order

    call_command("seed_demo")
    call_command("seed_demo")

    statuses = sorted(Order.objects.filter(organization__slug="demo").values_list("status", flat=True))
    assert statuses == sorted(set(Order.Status.values) - {"draft"})  # once each
