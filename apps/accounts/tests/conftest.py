import pytest

from apps.accounts.tests.factories import UserFactory


@pytest.fixture
def unverified_user(db):
    return UserFactory(email_verified_at=None)


@pytest.fixture
def other_user(db):
    return UserFactory()
