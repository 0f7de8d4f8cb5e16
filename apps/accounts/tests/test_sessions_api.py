import uuid

import pytest

from apps.accounts.models import UserSession
from apps.accounts.tests.helpers import ME_URL, SESSIONS_URL, assert_error, bearer, login_tokens
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_sessions_list_shows_live_sessions_newest_first_and_marks_the_current(api_client, user, other_user):
    # given: two devices, one ended session and someone else's session
    first = login_tokens(api_client, user.email, user_agent="Phone/1", ip="198.51.100.1")
    ended = login_tokens(api_client, user.email)
    api_client.post("/api/v1/auth/logout", {"refresh": ended["refresh"]}, format="json")
    current = login_tokens(api_client, user.email, user_agent="Laptop/2", ip="2001:db8::1")
    login_tokens(api_client, other_user.email)

    # when
    response = bearer(api_client, current["access"]).get(SESSIONS_URL)

    # then
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(s["user_agent"], s["ip_address"], s["current"]) for s in results] == [
        ("Laptop/2", "2001:db8::1", True),
        ("Phone/1", "198.51.100.1", False),
    ]
    assert set(results[0]) == {"id", "created_at", "last_used_at", "expires_at", "ip_address", "user_agent", "current"}
    assert first["refresh"] not in response.content.decode()


@pytest.mark.parametrize("count", [1, 12])
def test_sessions_list_query_count_does_not_grow_with_sessions(api_client_for, user, count, django_assert_num_queries):
    # given
    client = api_client_for(user)
    for _ in range(count - 1):
        api_client_for(user)

    # when / then: authentication (session + user) and the page
    with django_assert_num_queries(2):
        response = client.get(SESSIONS_URL)
    assert len(response.json()["results"]) == count


def test_sessions_list_is_paginated(api_client_for, user):
    client = api_client_for(user)
    for _ in range(3):
        api_client_for(user)

    page = client.get(SESSIONS_URL, {"page_size": 2}).json()

    assert len(page["results"]) == 2
    assert page["next"]


def test_revoking_a_session_stops_its_access_token_at_once(api_client, user):
    # given
    mine = login_tokens(api_client, user.email)
    other = login_tokens(api_client, user.email)
    other_id = UserSession.objects.latest("created_at").id

    # when
    response = bearer(api_client, mine["access"]).delete(f"{SESSIONS_URL}/{other_id}")

    # then
    assert response.status_code == 204
    assert bearer(api_client, other["access"]).get(ME_URL).status_code == 401
    assert bearer(api_client, mine["access"]).get(ME_URL).status_code == 200
    revoked = UserSession.objects.get(id=other_id)
    assert revoked.revoked_reason == "user_revoked"
    event = OutboxEvent.objects.get(event_type="auth.session_revoked")
    assert event.payload["session_ids"] == [str(other_id)]
    assert event.payload["actor_id"] == str(user.id)


def test_revoking_the_current_session_signs_out(api_client_for, user):
    client = api_client_for(user)

    assert client.delete(f"{SESSIONS_URL}/{client.tokens.session.id}").status_code == 204
    assert client.get(ME_URL).status_code == 401


def test_another_users_session_is_not_found(api_client_for, user, other_user):
    theirs = api_client_for(other_user)

    response = api_client_for(user).delete(f"{SESSIONS_URL}/{theirs.tokens.session.id}")

    assert_error(response, 404, "NOT_FOUND")
    assert theirs.get(ME_URL).status_code == 200


def test_unknown_or_already_revoked_session_is_not_found(api_client_for, user):
    client = api_client_for(user)
    spare = api_client_for(user)
    client.delete(f"{SESSIONS_URL}/{spare.tokens.session.id}")

    assert_error(client.delete(f"{SESSIONS_URL}/{spare.tokens.session.id}"), 404, "NOT_FOUND")
    assert_error(client.delete(f"{SESSIONS_URL}/{uuid.uuid4()}"), 404, "NOT_FOUND")
    assert_error(client.delete(f"{SESSIONS_URL}/not-a-uuid"), 404, "NOT_FOUND")


def test_sessions_require_authentication(api_client):
    assert_error(api_client.get(SESSIONS_URL), 401, "UNAUTHORIZED")
    assert_error(api_client.delete(f"{SESSIONS_URL}/{uuid.uuid4()}"), 401, "UNAUTHORIZED")
