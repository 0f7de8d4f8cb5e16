"""Demo data never reaches production by accident, and never with a published password."""

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from apps.accounts.checks import KNOWN_PASSWORD_CHECK_ID
from apps.accounts.known_passwords import DEMO_PASSWORD
from apps.accounts.models import User
from apps.core.tests.production_env import database_url_of, production_environment, run_manage
from apps.demo.management.commands.seed_demo import ROLE_USERS, STAFF_EMAIL, SUPPORT_EMAIL

UNREACHABLE_DATABASE = "postgresql://nobody:nothing@127.0.0.1:9/none"


def test_seed_demo_refuses_production_settings_before_touching_the_database():
    # given production settings whose database cannot be reached: any query would fail differently
    env = production_environment(database_url=UNREACHABLE_DATABASE, redis_url=settings.REDIS_URL)

    # when
    result = run_manage("seed_demo", env=env)

    # then a clear refusal, exit code not 0, and no database error (it never tried to connect)
    assert result.returncode != 0
    assert "seed_demo refuses to run with production settings" in result.stderr
    assert "createsuperuser" in result.stderr
    assert "OperationalError" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flag", "allow"),
    [(False, False), (True, False), (False, True)],
    ids=["neither", "flag-only", "variable-only"],
)
@pytest.mark.django_db
def test_seed_demo_needs_both_the_flag_and_the_variable_in_production(settings, flag, allow):
    settings.OLYMPUS_PRODUCTION = True
    settings.OLYMPUS_ALLOW_DEMO_SEED = allow
    args = ["--i-know-this-is-production"] if flag else []

    with pytest.raises(CommandError, match="refuses to run with production settings"):
        call_command("seed_demo", *args, stdout=io.StringIO())

    assert not User.objects.exists()


@pytest.mark.django_db
def test_opted_in_production_seed_gives_random_passwords_printed_once(settings):
    # given the explicit double opt-in
    settings.OLYMPUS_PRODUCTION = True
    settings.OLYMPUS_ALLOW_DEMO_SEED = True
    out = io.StringIO()

    # when
    call_command("seed_demo", "--i-know-this-is-production", stdout=out)

    # then no account has the published password, and each printed one signs in
    emails = [STAFF_EMAIL, SUPPORT_EMAIL, *ROLE_USERS.values()]
    lines = {line.split()[-3]: line.split()[-1] for line in out.getvalue().splitlines() if " / " in line}
    assert set(lines) == set(emails)
    assert len(set(lines.values())) == len(emails)
    for email in emails:
        user = User.objects.get(email=email)
        assert not user.check_password(DEMO_PASSWORD)
        assert user.check_password(lines[email])
    assert DEMO_PASSWORD not in out.getvalue()

    # and a second run prints no password at all
    again = io.StringIO()
    call_command("seed_demo", "--i-know-this-is-production", stdout=again)
    assert "password unchanged" in again.getvalue()
    for password in lines.values():
        assert password not in again.getvalue()


@pytest.mark.django_db
def test_demo_support_user_is_staff_but_not_superuser(client):
    call_command("seed_demo", stdout=io.StringIO())

    support = User.objects.get(email=SUPPORT_EMAIL)
    assert support.is_staff
    assert not support.is_superuser
    assert support.memberships.get(organization__slug="demo").role == "member"
    assert client.login(email=SUPPORT_EMAIL, password=DEMO_PASSWORD)
    assert client.get("/admin/catalog/product/").status_code == 200


def _deploy_check(database_url: str):
    env = production_environment(database_url=database_url, redis_url=settings.REDIS_URL)
    return run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)


@pytest.mark.django_db(transaction=True)
def test_deploy_check_fails_on_a_seeded_database_until_the_passwords_change(settings):
    # given a database seeded with the demo (committed, so the check's own process sees it),
    # hashed as production hashes (the suite's fast MD5 hasher is unknown there)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())
    database_url = database_url_of(settings.DATABASE_URL, connection.settings_dict["NAME"])

    # when / then the deploy check names the accounts
    result = _deploy_check(database_url)
    assert result.returncode != 0
    assert KNOWN_PASSWORD_CHECK_ID in result.stderr
    assert STAFF_EMAIL in result.stderr
    assert ROLE_USERS["owner"] in result.stderr

    # when every exposed account gets a new password, the check is clean
    for user in User.objects.filter(email__endswith="@demo.olympus.local"):
        user.set_password("A-fresh-Secret-42!")
        user.save(update_fields=["password"])
    result = _deploy_check(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_deploy_check_catches_staff_outside_the_demo_domain():
    from apps.accounts.checks import check_no_known_passwords
    from apps.accounts.tests.factories import UserFactory

    staff = UserFactory(is_staff=True)
    assert check_no_known_passwords() == []

    staff.set_password(DEMO_PASSWORD)
    staff.save(update_fields=["password"])
    [error] = check_no_known_passwords()
    assert error.id == KNOWN_PASSWORD_CHECK_ID
    assert staff.email in error.msg


def test_published_password_is_refused_by_the_validators():
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        validate_password(DEMO_PASSWORD)
    assert "password_known" in [error.code for error in raised.value.error_list]
