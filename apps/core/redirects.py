"""Redirect URLs read the way a browser reads them, or refused.

Python's ``urlsplit`` and a browser's WHATWG URL parser disagree on some inputs:
``https://evil.example\\@localhost/x`` is host ``localhost`` to Python and
``evil.example`` to a browser (which reads ``\\`` as ``/``). Rather than guess, the
forms where they can disagree are refused outright: backslashes, userinfo (``@``
in the authority), ASCII control characters and whitespace (browsers drop tabs and
newlines anywhere), percent-escapes or anything but letters, digits, dots and
hyphens in the host, and a missing ``//``. What remains parses the same way in both.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_HOST = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


def redirect_host(url: str, *, schemes: frozenset[str] = frozenset({"http", "https"})) -> str | None:
    """The lower-cased host a browser would go to for ``url``, or None when the URL is refused."""
    if any(ch == "\\" or ord(ch) <= 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in url):
        return None
    if not url.isascii():
        return None
    scheme, separator, rest = url.partition("://")
    if not separator or scheme.lower() not in schemes:
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority or "%" in authority:
        return None
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if not _HOST.fullmatch(host):
        return None
    return host


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    """``host`` is one of ``allowed_hosts``; an entry with a leading dot admits its subdomains too."""
    for allowed in (entry.lower() for entry in allowed_hosts):
        if host == allowed or (allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:])):
            return True
    return False
