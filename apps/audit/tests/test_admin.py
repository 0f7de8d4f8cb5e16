import pytest
from django.urls import reverse

from apps.audit import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize("count", [1, 15])
def test_changelist_query_count_is_constant(staff_client, organization, owner, count, django_assert_num_queries):
    for index in range(count):
        services.record(
            action="x.y", resource_type="organization", resource_id=str(index), organization=organization, actor=owner
        )

    with django_assert_num_queries(4):
        response = staff_client.get(reverse("admin:audit_auditlog_changelist"), {"resource_type": "organization"})

    assert response.status_code == 200


def test_detail_is_read_only(staff_client, organization):
    entry = services.record(action="x.y", resource_type="organization", organization=organization)
    url = reverse("admin:audit_auditlog_change", args=[entry.pk])

    page = staff_client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert staff_client.post(url, {"action": "tampered"}).status_code == 403
    assert staff_client.get(reverse("admin:audit_auditlog_add")).status_code == 403
    assert (
        staff_client.post(reverse("admin:audit_auditlog_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
