"""Signing webhook requests, twice on every request.

- ``X-Olympus-Signature: t=<unix>,v1=<hex>``: hex HMAC-SHA256 of ``"<t>.<body>"``
  keyed with the endpoint secret as given to the customer (the whole
  ``whsec_...`` string, UTF-8), Stripe-style;
- Standard Webhooks (https://www.standardwebhooks.com): ``webhook-id`` (the
  delivery id), ``webhook-timestamp`` and ``webhook-signature: v1,<base64>``,
  the HMAC-SHA256 of ``"<id>.<t>.<body>"`` keyed with the base64-decoded part
  of the secret after ``whsec_``, so the ``standardwebhooks`` libraries verify it.

While a rotated-out secret is still in its grace period each scheme carries
one signature per secret (``v1=`` twice; two space-separated ``v1,`` entries).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32
SIGNATURE_HEADER = "X-Olympus-Signature"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def olympus_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def standard_signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    message = f"{message_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(_key_bytes(secret), message, hashlib.sha256).digest()).decode()


def signature_headers(*, secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Both schemes' headers for one request, one signature per active secret."""
    olympus = ",".join(f"v1={olympus_signature(secret=s, timestamp=timestamp, body=body)}" for s in secrets_)
    standard = " ".join(
        f"v1,{standard_signature(secret=s, message_id=message_id, timestamp=timestamp, body=body)}" for s in secrets_
    )
    return {
        SIGNATURE_HEADER: f"t={timestamp},{olympus}",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard,
    }


def verify_olympus_signature(*, secret: str, header: str, body: bytes) -> bool:
    """What a receiver does with ``X-Olympus-Signature`` (used by our tests and documented in the README)."""
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    if not timestamps:
        return False
    expected = olympus_signature(secret=secret, timestamp=int(timestamps[0]), body=body)
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
