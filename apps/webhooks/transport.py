"""Sending one webhook request: the SSRF guard and a pinned-address HTTP POST.

The URL's host is resolved at send time and every address it resolves to
must be allowed (outside every special-purpose range of the table in
``apps.webhooks.addresses``, IPv4 carried inside IPv6 unwrapped; or listed in
``WEBHOOK_ALLOWED_ADDRESSES``); the
connection then goes to that checked address (the Host header and TLS SNI
keep the name), so DNS cannot answer differently between the check and the
connect. Redirects are never followed; the timeout is total.

Connections are reused: one small urllib3 pool per (scheme, checked address,
port, host name) per process, kept while it is used and dropped after
``WEBHOOK_KEEPALIVE_IDLE_SECONDS`` idle. The key includes the address the
guard checked, so a reused connection always goes where the check allowed.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.utils import timezone

from apps.webhooks import addresses

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "Olympus-Webhooks/1.0"
# Pools kept per process (least recently used dropped first); connections per pool (threads of one worker).
MAX_POOLS = 256
POOL_CONNECTIONS = 4


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
    pool = _pool(secure=secure, address=address, port=port, host=host, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    started = time.perf_counter()
    try:
        raw = pool.urlopen(
            "POST",
            path,
            body=body,
            headers=request_headers,
            redirect=False,
            retries=False,
            preload_content=False,
            timeout=urllib3.Timeout(total=timeout),
        )
        try:
            content = raw.read(settings.WEBHOOK_RESPONSE_BODY_MAX, decode_content=True)
            if raw.length_remaining != 0:  # unread body, or no Content-Length: the connection is not reused
                raw.close()
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


class _Pools:
    """The process's reusable connection pools, least recently used first; safe across threads.

    A pool idle longer than ``WEBHOOK_KEEPALIVE_IDLE_SECONDS`` is closed rather than reused (receivers close idle
    keep-alive connections, and a connection closed while the request is on its way would fail the attempt).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple[bool, str, int, str], tuple[urllib3.HTTPConnectionPool, float]] = OrderedDict()

    def get(self, *, secure: bool, address: str, port: int, host: str, timeout: float) -> urllib3.HTTPConnectionPool:
        key = (secure, address, port, host.lower())
        now = time.monotonic()
        stale: list[urllib3.HTTPConnectionPool] = []
        with self._lock:
            entry = self._pools.pop(key, None)
            if entry is not None and now - entry[1] > settings.WEBHOOK_KEEPALIVE_IDLE_SECONDS:
                stale.append(entry[0])
                entry = None
            pool = entry[0] if entry is not None else _new_pool(secure, address, port, host, timeout)
            self._pools[key] = (pool, now)
            while len(self._pools) > MAX_POOLS:
                stale.append(self._pools.popitem(last=False)[1][0])
        for old in stale:
            old.close()
        return pool

    def clear(self) -> None:
        with self._lock:
            pools = [pool for pool, _ in self._pools.values()]
            self._pools.clear()
        for pool in pools:
            pool.close()

    def forget(self) -> None:
        """In a forked child: drop the parent's pools without touching their sockets."""
        self._lock = threading.Lock()
        self._pools = OrderedDict()


def _new_pool(secure: bool, address: str, port: int, host: str, timeout: float) -> urllib3.HTTPConnectionPool:
    options = {"timeout": urllib3.Timeout(total=timeout), "retries": False, "maxsize": POOL_CONNECTIONS}
    if secure:
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            ssl_context=ssl.create_default_context(),
            server_hostname=host,
            assert_hostname=host,
            **options,
        )
    return urllib3.HTTPConnectionPool(address, port, **options)


_pools = _Pools()
_pool = _pools.get
close_connections = _pools.clear
os.register_at_fork(after_in_child=_pools.forget)
