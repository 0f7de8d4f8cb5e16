"""Sending one webhook request: the SSRF guard and a pinned-address HTTP POST.

The URL's host is resolved at send time and every address it resolves to
must be allowed (outside every special-purpose range of the table in
``apps.webhooks.addresses``, IPv4 carried inside IPv6 unwrapped; or listed in
``WEBHOOK_ALLOWED_ADDRESSES``); the
connection then goes to that checked address (the Host header and TLS SNI
keep the name), so DNS cannot answer differently between the check and the
connect. Redirects are never followed; the timeout is total.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.utils import timezone

from apps.webhooks import addresses

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "Olympus-Webhooks/1.0"


class Refused(Exception):
    """The URL may not be called (scheme or address); nothing was sent."""


class SendError(Exception):
    """The request could not be completed (DNS, connect, TLS, timeout, reset)."""


@dataclass
class Response:
    status_code: int
    body: str
    latency_ms: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def retry_after_seconds(self) -> float | None:
        """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), if present and sane."""
        value = self.headers.get("retry-after", "").strip()
        if not value:
            return None
        if value.isdigit():
            return float(value)
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            return None
        return max((moment - timezone.now()).total_seconds(), 0.0)


def address_allowed(address: IPAddress | str) -> bool:
    """Allowed by the special-purpose table (``addresses``), or inside ``WEBHOOK_ALLOWED_ADDRESSES``."""
    return addresses.allowed(address, allow=tuple(settings.WEBHOOK_ALLOWED_ADDRESSES))


def http_allowed(host: str) -> bool:
    return settings.DEBUG or host.lower() in {h.lower() for h in settings.WEBHOOK_ALLOW_HTTP_HOSTS}


def literal_address(host: str) -> IPAddress | None:
    """The address a URL host spells, as a browser or ``getaddrinfo`` reads it, or None for a name.

    Covers IPv6 literals (a zone id dropped), dotted quads with a trailing dot, and the legacy IPv4
    forms ``inet_aton`` accepts: decimal (2130706433), octal (0177.0.0.1), hex (0x7f.1), short (127.1).
    """
    host = host.rstrip(".").split("%")[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fx.]+", host, flags=re.IGNORECASE):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint (scheme, host, credentials, a refused literal address), or None."""
    if any(ch == "\\" or ord(ch) <= 0x20 or ord(ch) == 0x7F for ch in url):
        return "The URL may not contain backslashes, spaces or control characters."
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in {"http", "https"} or not host:
        return "The URL must be an absolute http(s) URL."
    if parts.scheme == "http" and not http_allowed(host):
        return "Only https URLs are allowed."
    if "@" in parts.netloc:
        return "Credentials in the URL are not supported."
    literal = literal_address(host)
    if literal is None:
        return None  # a name: its addresses are checked at send time, every time
    if not address_allowed(literal):
        reason = addresses.judge(literal).reason
        return f"This address is not allowed (private, loopback, link-local, multicast, metadata, reserved): {reason}."
    return None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, each checked; Refused if any is not allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise SendError(f"could not resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))
    refused = [a for a in addresses if not address_allowed(a)]
    if refused or not addresses:
        raise Refused(f"{host} resolves to a refused address ({', '.join(refused) or 'none'})")
    return addresses


def post(*, url: str, body: bytes, headers: dict[str, str], timeout: float | None = None) -> Response:
    """POST ``body`` to ``url`` through the guard; Refused / SendError when no response came back."""
    problem = check_url(url)
    if problem:
        raise Refused(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    address = resolve(host, port)[0]
    timeout = timeout if timeout is not None else settings.WEBHOOK_TIMEOUT_SECONDS
    default_port = port == (443 if secure else 80)
    host_header = host if ":" not in host else f"[{host}]"
    request_headers = {
        "Host": host_header if default_port else f"{host_header}:{port}",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }
    pool_options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": 1}
    if secure:
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            address,
            port,
            ssl_context=ssl.create_default_context(),
            server_hostname=host,
            assert_hostname=host,
            **pool_options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, **pool_options)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    started = time.perf_counter()
    try:
        with pool:
            raw = pool.urlopen(
                "POST", path, body=body, headers=request_headers, redirect=False, retries=False, preload_content=False
            )
            try:
                content = raw.read(settings.WEBHOOK_RESPONSE_BODY_MAX, decode_content=True)
            finally:
                raw.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise SendError(f"{type(exc).__name__}: {exc}"[:900]) from exc
    latency_ms = int((time.perf_counter() - started) * 1000)
    return Response(
        status_code=raw.status,
        body=content[: settings.WEBHOOK_RESPONSE_BODY_MAX].decode("utf-8", errors="replace"),
        latency_ms=latency_ms,
        headers={k.lower(): v for k, v in raw.headers.items()},
    )
