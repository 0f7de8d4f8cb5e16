import pytest

from apps.accounts.models import User
from apps.accounts.tests.helpers import ME_URL, assert_error
from apps.core.models import OutboxEvent

pytestmark = pytest.mark.django_db

PROFILE = {
    "full_name": "Ada Lovelace",
    "display_name": "Ada",
    "avatar_url": "https://cdn.example.com/ada.png",
    "phone": "+44 20 7946 0958",
    "bio": "Analyst of engines.",
    "preferences": {"theme": "dark", "digest": {"weekly": True}},
}


def test_me_returns_the_current_user(api_client_for, user):
    response = api_client_for(user).get(ME_URL)

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user.id)
    assert body["email"] == user.email
    assert body["status"] == "active"
    assert body["preferences"] == {}
    assert body["email_verified_at"] is not None
    assert not {"password", "is_superuser", "groups", "user_permissions"} & set(body)


def test_patch_me_changes_profile_fields(api_client_for, user):
    # when
    response = api_client_for(user).patch(ME_URL, PROFILE, format="json")

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    for field, value in PROFILE.items():
        assert body[field] == value
    user.refresh_from_db()
    assert user.display_name == "Ada"
    assert user.preferences == {"theme": "dark", "digest": {"weekly": True}}
    event = OutboxEvent.objects.get(event_type="user.updated")
    assert event.payload["changed_fields"] == list(PROFILE)


def test_patch_me_with_some_fields_leaves_the_others(api_client_for, user):
    user.bio = "Kept."
    user.save()

    response = api_client_for(user).patch(ME_URL, {"display_name": "Short"}, format="json")

    assert response.json()["display_name"] == "Short"
    assert response.json()["bio"] == "Kept."


@pytest.mark.parametrize(
    "field",
    ["email", "status", "is_staff", "is_superuser", "id", "email_verified_at", "last_login", "created_at", "password"],
)
def test_patch_me_refuses_read_only_fields(api_client_for, user, field):
    # given
    before = User.objects.values().get(id=user.id)

    # when
    response = api_client_for(user).patch(ME_URL, {field: "x", "display_name": "Changed"}, format="json")

    # then: refused as a whole, nothing changed
    error = assert_error(response, 400, "VALIDATION_ERROR")
    assert error["details"] == {field: ["This field cannot be changed."]}
    assert User.objects.values().get(id=user.id) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "call me maybe"}, "phone"),
        ({"avatar_url": "not a url"}, "avatar_url"),
        ({"display_name": "x" * 151}, "display_name"),
        ({"preferences": ["not", "an", "object"]}, "preferences"),
        ({"preferences": {"blob": "x" * 20000}}, "preferences"),
        ({"full_name": None}, "full_name"),
    ],
)
def test_patch_me_validates_values(api_client_for, user, body, field):
    error = assert_error(api_client_for(user).patch(ME_URL, body, format="json"), 400, "VALIDATION_ERROR")
    assert set(error["details"]) == {field}


def test_patch_me_without_changes_publishes_nothing(api_client_for, user):
    response = api_client_for(user).patch(ME_URL, {"full_name": user.full_name}, format="json")

    assert response.status_code == 200
    assert not OutboxEvent.objects.filter(event_type="user.updated").exists()


def test_me_requires_authentication(api_client):
    assert_error(api_client.get(ME_URL), 401, "UNAUTHORIZED")
    assert_error(api_client.patch(ME_URL, {"bio": "x"}, format="json"), 401, "UNAUTHORIZED")


def test_me_does_not_allow_put_or_delete(api_client_for, user):
    client = api_client_for(user)
    assert_error(client.put(ME_URL, {}, format="json"), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete(ME_URL), 405, "METHOD_NOT_ALLOWED")
