import pytest
from django.db import IntegrityError

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_stored_lower_case():
    user = User.objects.create_user("Alice@Example.COM", "pw-Secret-1!")
    assert user.email == "alice@example.com"
    assert User.objects.get_by_natural_key("ALICE@example.com") == user
    assert user.check_password("pw-Secret-1!")
    assert user.password.startswith("md5$") or user.password.startswith("argon2")


def test_email_is_unique_regardless_of_case():
    User.objects.create_user("bob@example.com", "x")
    with pytest.raises(IntegrityError):
        User.objects.bulk_create([User(email="BOB@example.com")])


def test_primary_key_is_a_uuid_and_times_are_set():
    user = User.objects.create_user("carol@example.com", "x")
    assert user.pk.version == 7  # time-ordered (apps/core/ids.py)
    assert user.created_at is not None
    assert user.updated_at is not None


def test_production_hasher_is_argon2():
    from django.conf import settings

    from olympus.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    assert settings.AUTH_USER_MODEL == "accounts.User"
