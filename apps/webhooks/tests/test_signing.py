"""Both signature schemes, checked the way receivers check them (standardwebhooks for the standard one)."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from apps.webhooks import signing
from apps.webhooks.tests.factories import WebhookEndpointFactory


def test_secret_is_whsec_and_at_least_24_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(signing._key_bytes(secret)) >= 24
    assert secret != signing.generate_secret()


def test_standard_webhooks_library_verifies_our_signature():
    # given
    secret, body, now = signing.generate_secret(), b'{"type":"order.created"}', int(time.time())
    # when
    headers = signing.signature_headers(secrets_=[secret], message_id="msg_1", timestamp=now, body=body)
    # then
    assert Webhook(secret).verify(body, headers) == {"type": "order.created"}
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.generate_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_olympus_header_is_hex_hmac_of_timestamp_and_body():
    import hashlib
    import hmac

    secret, body = signing.generate_secret(), b'{"a":1}'
    headers = signing.signature_headers(secrets_=[secret], message_id="m", timestamp=1700000000, body=body)
    expected = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Olympus-Signature"] == f"t=1700000000,v1={expected}"
    assert signing.verify_olympus_signature(secret=secret, header=headers["X-Olympus-Signature"], body=body)
    assert not signing.verify_olympus_signature(secret=secret, header=headers["X-Olympus-Signature"], body=b"{}")


@pytest.mark.django_db
def test_rotated_out_secret_signs_during_its_grace_period_only():
    # given: an endpoint whose secret was rotated
    endpoint = WebhookEndpointFactory(
        previous_secret=signing.generate_secret(), previous_secret_expires_at=timezone.now() + timedelta(hours=1)
    )
    body, now = b"{}", int(time.time())
    # when
    headers = signing.signature_headers(secrets_=endpoint.signing_secrets(), message_id="m", timestamp=now, body=body)
    # then: both the new and the old secret verify, in both schemes
    for secret in (endpoint.secret, endpoint.previous_secret):
        Webhook(secret).verify(body, headers)
        assert signing.verify_olympus_signature(secret=secret, header=headers["X-Olympus-Signature"], body=body)
    later = timezone.now() + timedelta(hours=2)
    assert endpoint.signing_secrets(now=later) == [endpoint.secret]
