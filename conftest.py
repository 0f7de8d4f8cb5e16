"""Shared fixtures: the common actors and API clients.

The test setup starts or reuses the embedded PostgreSQL and Redis
(``olympus.bootstrap``) when their URLs are unset, before Django reads its
settings, and exports the URLs, so pytest-xdist workers inherit them. It runs
when pytest imports this file: this root conftest is imported before any other
(``pytest apps/x/tests/test_y.py`` loads that folder's conftest early), and
before pytest-django sets Django up. The settings module is chosen here, not in
the ini, because pytest-django would import it before any of our code ran.
Nothing here imports models at module level.
"""

import os

# Before anything imports the olympus package (its Celery app defaults to the dev settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "olympus.settings.test")

import django  # noqa: E402
import pytest  # noqa: E402

from olympus.bootstrap import ensure_services  # noqa: E402


def _bootstrap() -> None:
    ensure_services()
    django.setup()  # pytest-django's own set-up (pytest_configure, trylast) then finds Django ready


_bootstrap()


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def api_client_for():
    """``api_client_for(user)``: a client sending the access token of a new session of that user.

    The client keeps the pair: ``client.tokens.refresh``, ``client.tokens.session``.
    """
    from rest_framework.test import APIClient

    from apps.accounts.services import ClientInfo, session_start

    def make(user) -> APIClient:
        tokens = session_start(user=user, client=ClientInfo(ip="127.0.0.1", user_agent="pytest"))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access}")
        client.tokens = tokens
        return client

    return make


@pytest.fixture
def user(db):
    from apps.accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.fixture
def staff_user(db):
    from apps.accounts.tests.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True)


# --- tenants: one organization with one user per role, and an outsider from another one ---


@pytest.fixture
def organization(db):
    from apps.organizations.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Acme", slug="acme")


def _member(organization, role):
    from apps.organizations.tests.factories import MembershipFactory

    return MembershipFactory(organization=organization, role=role).user


@pytest.fixture
def owner(organization):
    return _member(organization, "owner")


@pytest.fixture
def admin(organization):
    return _member(organization, "admin")


@pytest.fixture
def member(organization):
    return _member(organization, "member")


@pytest.fixture
def viewer(organization):
    return _member(organization, "viewer")


@pytest.fixture
def other_organization(db):
    from apps.organizations.tests.factories import OrganizationFactory

    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def outsider(other_organization):
    """The owner of another organization: must see nothing of ``organization`` (404s)."""
    return _member(other_organization, "owner")


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with this worker's cache namespace empty."""
    from django.core.cache import cache

    yield
    cache.delete_pattern("*")


# --- Stripe: a real local server (localstripe + tools/stripe_local.py), one per xdist worker ---


@pytest.fixture(scope="session")
def stripe_server():
    from apps.billing.tests.stripe_server import LocalStripe

    server = LocalStripe.start()
    yield server
    server.stop()


@pytest.fixture
def stripe_api(stripe_server, settings):
    """Point this test's Stripe calls at the local server."""
    settings.STRIPE_API_BASE = stripe_server.url
    return stripe_server


@pytest.fixture
def plans(db):
    """The seeded plans by code (re-seeded when a transactional test flushed the table)."""
    from apps.billing.models import Plan
    from apps.billing.plans_seed import seed_default_plans

    seed_default_plans(Plan)
    return {plan.code: plan for plan in Plan.objects.all()}


@pytest.fixture
def stripe_prices(stripe_api, plans):
    """The paid plans with their prices created in the local Stripe (ids stored on the plans)."""
    from apps.billing.models import Plan
    from apps.billing.services import plan_prices_sync

    plan_prices_sync()
    return {plan.code: plan for plan in Plan.objects.all()}


@pytest.fixture(autouse=True)
def _celery_join_allowed():
    """Each test starts outside any Celery worker context.

    Celery keeps a process-global "inside a worker" flag (set when a worker's pool
    starts) that makes ``result.get()`` refuse; a worker started earlier in the same
    xdist process must not decide whether a later eager test may read its result.
    """
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
