import pytest
from django.core import mail
from django.urls import reverse

from apps.accounts.models import User, UserSession
from apps.accounts.tests.factories import UserFactory
from apps.accounts.tests.helpers import ME_URL
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:accounts_user_changelist")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


def act(staff_client, action, users):
    return staff_client.post(
        CHANGELIST, {"action": action, "_selected_action": [str(u.id) for u in users]}, follow=True
    )


def test_changelist_searches_by_email_and_name(staff_client):
    UserFactory(email="ada@example.com", full_name="Ada Lovelace")
    UserFactory(email="grace@example.com", full_name="Grace Hopper")

    by_email = staff_client.get(CHANGELIST, {"q": "ada@"}).content.decode()
    by_name = staff_client.get(CHANGELIST, {"q": "Hopper"}).content.decode()

    assert "ada@example.com" in by_email
    assert "grace@example.com" not in by_email
    assert "grace@example.com" in by_name


@pytest.mark.parametrize(
    ("params", "shown", "hidden"),
    [
        ({"status__exact": "suspended"}, "sus@example.com", "ok@example.com"),
        ({"is_staff__exact": "0"}, "ok@example.com", "boss@example.com"),
        ({"verified": "no"}, "new@example.com", "ok@example.com"),
        ({"verified": "yes"}, "ok@example.com", "new@example.com"),
    ],
)
def test_changelist_filters_by_status_staff_and_verified(staff_client, params, shown, hidden):
    UserFactory(email="ok@example.com")
    UserFactory(email="sus@example.com", status=User.Status.SUSPENDED)
    UserFactory(email="new@example.com", email_verified_at=None)
    UserFactory(email="boss@example.com", is_staff=True)

    content = staff_client.get(CHANGELIST, params).content.decode()

    assert shown in content
    assert hidden not in content


@pytest.mark.parametrize("count", [3, 30])
def test_changelist_query_count_is_flat(staff_client, count, django_assert_num_queries):
    UserFactory.create_batch(count)

    with django_assert_num_queries(5):
        response = staff_client.get(CHANGELIST)

    assert response.status_code == 200


def test_change_page_shows_sessions_but_no_password_hash(staff_client, user, api_client_for):
    api_client_for(user)

    response = staff_client.get(reverse("admin:accounts_user_change", args=[user.id]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "pytest" in content  # the session's user agent, in the sessions inline
    assert user.password not in content
    assert user.password.split("$")[-1] not in content
    assert 'name="password"' not in content
    assert "md5" not in content.lower()


def test_set_password_page_is_gone(staff_client, user):
    response = staff_client.get(f"/admin/accounts/user/{user.id}/password/", follow=True)

    content = response.content.decode()
    assert 'name="password1"' not in content
    assert 'name="usable_password"' not in content


def test_change_page_cannot_edit_status(staff_client, user):
    # given
    url = reverse("admin:accounts_user_change", args=[user.id])
    form = {
        "full_name": "Renamed",
        "display_name": "",
        "avatar_url": "",
        "phone": "",
        "bio": "",
        "preferences": "{}",
        "status": "suspended",
        "is_active": "",
        "sessions-TOTAL_FORMS": "0",
        "sessions-INITIAL_FORMS": "0",
    }

    # when
    response = staff_client.post(url, form)

    # then: the profile is saved, the status is not
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.full_name == "Renamed"
    assert user.status == User.Status.ACTIVE


def test_suspend_action_revokes_sessions_through_the_service(staff_client, staff_user, user, api_client_for):
    # given
    signed_in = api_client_for(user)

    # when
    response = act(staff_client, "suspend_users", [user])

    # then
    assert "1 user(s) suspended." in response.content.decode()
    user.refresh_from_db()
    assert user.status == User.Status.SUSPENDED
    assert not user.is_active
    assert signed_in.get(ME_URL).status_code == 401
    assert UserSession.objects.get(user=user).revoked_reason == "suspended"
    event = OutboxEvent.objects.get(event_type="user.suspended")
    assert event.payload["actor_id"] == str(staff_user.id)
    assert event.payload["user_id"] == str(user.id)


def test_staff_cannot_suspend_themselves(staff_client, staff_user):
    response = act(staff_client, "suspend_users", [staff_user])

    assert "You cannot suspend yourself." in response.content.decode()
    staff_user.refresh_from_db()
    assert staff_user.status == User.Status.ACTIVE


def test_reactivate_action(staff_client):
    suspended = UserFactory(status=User.Status.SUSPENDED)

    act(staff_client, "reactivate_users", [suspended])

    suspended.refresh_from_db()
    assert suspended.status == User.Status.ACTIVE
    assert suspended.is_active
    assert OutboxEvent.objects.filter(event_type="user.reactivated").count() == 1


def test_revoke_sessions_action(staff_client, user, api_client_for):
    signed_in = api_client_for(user)

    act(staff_client, "revoke_sessions", [user])

    assert signed_in.get(ME_URL).status_code == 401


def test_send_password_reset_action(staff_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        act(staff_client, "send_password_reset", [user])

    assert [m.subject for m in mail.outbox] == ["Reset your password"]


def test_add_user_through_admin(staff_client):
    response = staff_client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "Added@Example.com",
            "full_name": "Added",
            "password1": "Added-pass-123!",
            "password2": "Added-pass-123!",
        },
    )

    assert response.status_code == 302, response.content.decode()[:3000]
    added = User.objects.get(email="added@example.com")
    assert added.status == User.Status.ACTIVE
    assert added.check_password("Added-pass-123!")
