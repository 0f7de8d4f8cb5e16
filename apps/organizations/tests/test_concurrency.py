"""Two owners demoting each other at the same moment: the organization still keeps an owner."""

import threading

import pytest
from django.db import connection

from apps.core.exceptions import Conflict, PermissionDenied
from apps.organizations import services
from apps.organizations.models import Membership
from apps.organizations.roles import Role
from apps.organizations.tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_mutual_demotion_keeps_one_owner():
    # given an organization with exactly two owners
    organization = OrganizationFactory()
    first = MembershipFactory(organization=organization, role=Role.OWNER)
    second = MembershipFactory(organization=organization, role=Role.OWNER)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor_membership, target_membership):
        try:
            barrier.wait(timeout=10)
            services.membership_update(actor=actor_membership.user, membership=target_membership, role=Role.ADMIN)
            outcomes.append("demoted")
        except (Conflict, PermissionDenied):
            # the loser is refused: no longer an owner (403), or the last owner left (409)
            outcomes.append("refused")
        finally:
            connection.close()

    # when each demotes the other at once
    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then exactly one demotion won and one owner remains
    assert sorted(outcomes) == ["demoted", "refused"]
    assert Membership.objects.filter(organization=organization, role=Role.OWNER).count() == 1
