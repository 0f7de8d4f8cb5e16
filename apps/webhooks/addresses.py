"""Which IP addresses a webhook may be sent to: an explicit table of special-purpose ranges.

The table is the IANA IPv4 and IPv6 Special-Purpose Address Registries (plus multicast, the
deprecated site-local and IPv4-compatible blocks), each row with the registry's "globally
reachable" verdict. It does not rely on ``ipaddress.is_global``, whose answer changed between
Python releases (CVE-2024-4032). An address is judged by the most specific row that holds it:

* a row that embeds an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64 well-known and
  local-use prefixes, 6to4, Teredo) is decided by every IPv4 address it carries, and is refused
  when the row itself is not globally reachable;
* any other row decides by its verdict;
* outside every row, IPv4 is public and IPv6 is public only inside global unicast 2000::/3.

Cloud metadata addresses are refused whatever the table says.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from enum import Enum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Embeds(Enum):
    NONE = "none"
    LAST_32 = "last 32 bits"  # IPv4-mapped, IPv4-compatible, NAT64 (/96 form)
    NAT64_LOCAL = "NAT64 local-use"  # RFC 6052: any prefix length from /48 to /96 inside 64:ff9b:1::/48
    SIX_TO_FOUR = "6to4"  # bits 16..47
    TEREDO = "Teredo"  # server in bits 32..63, client (inverted) in the last 32


@dataclass(frozen=True)
class Range:
    network: Network
    name: str
    reachable: bool
    embeds: Embeds = Embeds.NONE


def _r(cidr: str, name: str, reachable: bool, embeds: Embeds = Embeds.NONE) -> Range:
    return Range(ipaddress.ip_network(cidr), name, reachable, embeds)


# IANA IPv4 Special-Purpose Address Registry (with multicast and broadcast).
IPV4_SPECIAL = (
    _r("0.0.0.0/8", "this network", False),
    _r("0.0.0.0/32", "this host on this network", False),
    _r("10.0.0.0/8", "private-use", False),
    _r("100.64.0.0/10", "shared address space", False),
    _r("127.0.0.0/8", "loopback", False),
    _r("169.254.0.0/16", "link-local", False),
    _r("172.16.0.0/12", "private-use", False),
    _r("192.0.0.0/24", "IETF protocol assignments", False),
    _r("192.0.0.0/29", "IPv4 service continuity prefix", False),
    _r("192.0.0.8/32", "IPv4 dummy address", False),
    _r("192.0.0.9/32", "Port Control Protocol anycast", True),
    _r("192.0.0.10/32", "TURN anycast", True),
    _r("192.0.0.170/32", "NAT64/DNS64 discovery", False),
    _r("192.0.0.171/32", "NAT64/DNS64 discovery", False),
    _r("192.0.2.0/24", "documentation (TEST-NET-1)", False),
    _r("192.31.196.0/24", "AS112-v4", True),
    _r("192.52.193.0/24", "AMT", True),
    _r("192.88.99.0/24", "deprecated 6to4 relay anycast", False),
    _r("192.168.0.0/16", "private-use", False),
    _r("192.175.48.0/24", "direct delegation AS112 service", True),
    _r("198.18.0.0/15", "benchmarking", False),
    _r("198.51.100.0/24", "documentation (TEST-NET-2)", False),
    _r("203.0.113.0/24", "documentation (TEST-NET-3)", False),
    _r("224.0.0.0/4", "multicast", False),
    _r("240.0.0.0/4", "reserved", False),
    _r("255.255.255.255/32", "limited broadcast", False),
)

# IANA IPv6 Special-Purpose Address Registry (with multicast, site-local, IPv4-compatible and -translated).
IPV6_SPECIAL = (
    _r("::/128", "unspecified", False),
    _r("::1/128", "loopback", False),
    _r("::/96", "IPv4-compatible (deprecated)", True, Embeds.LAST_32),
    _r("::ffff:0:0/96", "IPv4-mapped", True, Embeds.LAST_32),
    _r("::ffff:0:0:0/96", "IPv4-translated (SIIT)", True, Embeds.LAST_32),
    _r("64:ff9b::/96", "NAT64 well-known prefix", True, Embeds.LAST_32),
    _r("64:ff9b:1::/48", "NAT64 local-use prefix", False, Embeds.NAT64_LOCAL),
    _r("100::/64", "discard-only", False),
    _r("100:0:0:1::/64", "dummy IPv6 prefix", False),
    _r("2001::/23", "IETF protocol assignments", False),
    _r("2001::/32", "Teredo", True, Embeds.TEREDO),
    _r("2001:1::1/128", "Port Control Protocol anycast", True),
    _r("2001:1::2/128", "TURN anycast", True),
    _r("2001:1::3/128", "DNS-SD service registration protocol anycast", True),
    _r("2001:2::/48", "benchmarking", False),
    _r("2001:3::/32", "AMT", True),
    _r("2001:4:112::/48", "AS112-v6", True),
    _r("2001:10::/28", "deprecated ORCHID", False),
    _r("2001:20::/28", "ORCHIDv2", True),
    _r("2001:30::/28", "drone remote ID", True),
    _r("2001:db8::/32", "documentation", False),
    _r("2002::/16", "6to4", True, Embeds.SIX_TO_FOUR),
    _r("2620:4f:8000::/48", "direct delegation AS112 service", True),
    _r("3fff::/20", "documentation", False),
    _r("5f00::/16", "segment routing SIDs", False),
    _r("fc00::/7", "unique-local", False),
    _r("fe80::/10", "link-local", False),
    _r("fec0::/10", "site-local (deprecated)", False),
    _r("ff00::/8", "multicast", False),
)

GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")
# Cloud metadata services (AWS, ECS, Alibaba, AWS IPv6): refused even when WEBHOOK_ALLOWED_ADDRESSES covers them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def special_range(ip: IPAddress) -> Range | None:
    """The most specific table row holding ``ip``, or None."""
    table = IPV4_SPECIAL if ip.version == 4 else IPV6_SPECIAL
    holding = [row for row in table if ip in row.network]
    return max(holding, key=lambda row: row.network.prefixlen, default=None)


def embedded_ipv4(ip: IPAddress, row: Range) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address in ``row`` carries (every position RFC 6052 allows, for local NAT64)."""
    value = int(ip)
    if row.embeds is Embeds.LAST_32:
        return [ipaddress.IPv4Address(value & 0xFFFFFFFF)]
    if row.embeds is Embeds.SIX_TO_FOUR:
        return [ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)]
    if row.embeds is Embeds.TEREDO and isinstance(ip, ipaddress.IPv6Address) and ip.teredo:
        return list(ip.teredo)
    if row.embeds is Embeds.NAT64_LOCAL:
        # RFC 6052 section 2.2: /96 is the last 32 bits; /48, /56, /64 skip bits 64..71 (the "u" octet).
        octets = value.to_bytes(16, "big")
        forms = [octets[12:16], octets[6:8] + octets[9:11], octets[7:8] + octets[9:12], octets[9:13]]
        return list(dict.fromkeys(ipaddress.IPv4Address(form) for form in forms))
    return []


def judge(address: IPAddress | str) -> Verdict:
    """Whether a webhook may be sent to ``address``, by the table alone (no allow-list)."""
    ip = ipaddress.ip_address(address)
    if ip in METADATA_ADDRESSES:
        return Verdict(False, f"{ip} is a cloud metadata address")
    row = special_range(ip)
    if row is None:
        if ip.version == 6 and ip not in GLOBAL_UNICAST_V6:
            return Verdict(False, f"{ip} is outside IPv6 global unicast space")
        return Verdict(True, "public")
    if row.embeds is not Embeds.NONE:
        for inner in embedded_ipv4(ip, row):
            verdict = judge(inner)
            if not verdict.allowed:
                return Verdict(False, f"{ip} ({row.name}) carries {inner}: {verdict.reason}")
    if not row.reachable:
        return Verdict(False, f"{ip} is {row.name} ({row.network})")
    return Verdict(True, row.name)


@functools.lru_cache(maxsize=8)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def allowed(address: IPAddress | str, *, allow: tuple[str, ...] = ()) -> bool:
    """``judge``'s verdict, or an address listed in ``allow`` (an IPv4-mapped one by its IPv4); metadata never."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return False
    if any(ip in network for network in networks(allow)):
        return True
    return judge(ip).allowed
