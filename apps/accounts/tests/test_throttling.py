"""Sign-in and password reset: 10 per 5 minutes per IP and per email by default, then 429 with Retry-After."""

import pytest

from apps.accounts.tests.factories import DEFAULT_PASSWORD
from apps.accounts.tests.helpers import LOGIN_URL, RESET_URL, assert_error

pytestmark = pytest.mark.django_db


def post(client, url, email, ip):
    body = {"email": email, "password": "Wrong-password-1"} if url == LOGIN_URL else {"email": email}
    return client.post(url, body, format="json", REMOTE_ADDR=ip)


def assert_throttled(response):
    error = assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 300
    assert error["details"]["retry_after_seconds"] == retry_after


@pytest.mark.parametrize("url", [LOGIN_URL, RESET_URL])
def test_eleventh_attempt_from_one_ip_is_throttled(api_client, url):
    # given: ten attempts for ten addresses from one IP
    for n in range(10):
        assert post(api_client, url, f"victim{n}@example.com", "203.0.113.5").status_code != 429

    # when
    response = post(api_client, url, "victim99@example.com", "203.0.113.5")

    # then
    assert_throttled(response)
    assert post(api_client, url, "victim99@example.com", "203.0.113.6").status_code != 429


@pytest.mark.parametrize("url", [LOGIN_URL, RESET_URL])
def test_eleventh_attempt_for_one_email_is_throttled_across_ips(api_client, url):
    # given: ten attempts on one address from ten IPs, in varying case
    for n in range(10):
        email = "Target@Example.com" if n % 2 else "target@example.com"
        assert post(api_client, url, email, f"198.51.100.{n}").status_code != 429

    # when
    response = post(api_client, url, "TARGET@example.com", "198.51.100.200")

    # then
    assert_throttled(response)
    assert post(api_client, url, "someone-else@example.com", "198.51.100.201").status_code != 429


def test_throttle_rate_comes_from_settings(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_ip": "2/1h"},
    }

    for n in range(2):
        post(api_client, LOGIN_URL, f"a{n}@example.com", "192.0.2.1")
    response = post(api_client, LOGIN_URL, "a9@example.com", "192.0.2.1")

    assert_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert 3000 < int(response["Retry-After"]) <= 3600


def test_successful_logins_count_too_but_other_endpoints_are_not_throttled(api_client, user):
    for _ in range(10):
        response = api_client.post(LOGIN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
        assert response.status_code == 200

    assert_throttled(api_client.post(LOGIN_URL, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"))
    access = response.json()["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api_client.get("/api/v1/users/me").status_code == 200


def test_throttle_counters_live_in_redis(api_client):
    from django.core.cache import caches

    post(api_client, LOGIN_URL, "counted@example.com", "192.0.2.77")

    cache = caches["default"]
    assert type(cache).__module__.startswith("django_redis")
    assert len(cache.get("throttle_login_ip_192.0.2.77")) == 1


def test_spoofed_forwarded_for_does_not_dodge_the_ip_throttle(api_client):
    # given: NUM_PROXIES is 0 by default, so X-Forwarded-For is not trusted
    for n in range(10):
        api_client.post(
            LOGIN_URL,
            {"email": f"v{n}@example.com", "password": "x"},
            format="json",
            REMOTE_ADDR="203.0.113.50",
            HTTP_X_FORWARDED_FOR=f"10.9.9.{n}",
        )

    # when
    response = api_client.post(
        LOGIN_URL,
        {"email": "v99@example.com", "password": "x"},
        format="json",
        REMOTE_ADDR="203.0.113.50",
        HTTP_X_FORWARDED_FOR="10.9.9.99",
    )

    # then
    assert_throttled(response)


def test_behind_a_trusted_proxy_the_forwarded_client_ip_is_used(api_client, user, settings):
    from apps.accounts.models import UserSession

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    api_client.post(
        LOGIN_URL,
        {"email": user.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="spoofed, 192.0.2.44",
    )

    assert UserSession.objects.get().ip_address == "192.0.2.44"


def test_sign_in_answers_carry_the_ratelimit_headers_of_the_tightest_bucket(api_client):
    # one email tried from one IP: both buckets at 10 per 5 minutes
    first = post(api_client, LOGIN_URL, "someone@example.com", "203.0.113.9")
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("10", "9")
    assert 1 <= int(first["RateLimit-Reset"]) <= 300
    # the same email from another IP: its email bucket is the tighter one
    other_ip = post(api_client, LOGIN_URL, "someone@example.com", "203.0.113.10")
    assert other_ip["RateLimit-Remaining"] == "8"
