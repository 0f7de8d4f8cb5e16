"""The SSRF guard, table-driven: every special-purpose range and every IPv4-in-IPv6 embedding,
refused at create time (the API answers 400) and at send time (a name resolving there is never contacted)."""

import socket

import pytest

from apps.webhooks import addresses, transport
from apps.webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.django_db

REFUSED = [
    # IPv4 special-purpose registry
    "0.0.0.0",  # noqa: S104
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.254",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.1.2.3",
    "169.254.0.1",
    "169.254.169.254",
    "169.254.170.2",
    "172.16.0.1",
    "172.31.255.254",
    "192.0.0.1",
    "192.0.0.8",
    "192.0.0.170",
    "192.0.0.200",
    "192.0.2.10",
    "192.88.99.1",
    "192.168.1.1",
    "198.18.0.1",
    "198.19.255.254",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "100.100.100.200",
    # IPv6 special-purpose registry
    "::",
    "::1",
    "100::1",
    "2001:2::1",
    "2001:10::1",
    "2001:db8::1",
    "2001:5::1",
    "3fff::1",
    "5f00::1",
    "fc00::1",
    "fd00:ec2::254",
    "fe80::1",
    "fec0::1",
    "ff02::1",
    "4000::1",
    # IPv4 inside IPv6: mapped, compatible, translated, NAT64 (both prefixes), 6to4, Teredo
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::10.0.0.1",
    "::ffff:0:7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b::7f00:1",
    "64:ff9b::a00:1",
    "64:ff9b::c0a8:101",
    "64:ff9b:1::a00:1",
    "64:ff9b:1::808:808",
    "2002:a9fe:a9fe::",
    "2002:7f00:1::1",
    "2002:c0a8:101::1",
    "2002:a00:1::",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
    "2001:0:a00:1:8000:63bf:f7f7:f7f7",  # Teredo, server 10.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo, client 192.0.2.45
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "151.101.1.69",
    "192.0.0.9",
    "192.0.0.10",
    "192.31.196.1",
    "192.52.193.1",
    "192.175.48.1",
    "100.63.255.255",
    "100.128.0.1",
    "172.32.0.1",
    "11.0.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "2001:4860:4860::8888",
    "2001:1::1",
    "2001:3::1",
    "2001:4:112::1",
    "2001:20::1",
    "2620:4f:8000::1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:0:4136:e378:8000:63bf:f7f7:f7f7",  # Teredo, server 65.54.227.120 and client 8.8.8.8
]


def url_for(address: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}/hook"


def test_the_table_holds_at_least_fifty_addresses():
    assert len(REFUSED) + len(ALLOWED) >= 50
    assert not set(REFUSED) & set(ALLOWED)


@pytest.mark.parametrize("address", REFUSED)
def test_special_purpose_address_is_refused_by_the_table(address):
    assert addresses.judge(address).allowed is False


@pytest.mark.parametrize("address", ALLOWED)
def test_public_address_is_allowed_by_the_table(address):
    assert addresses.judge(address).allowed is True


@pytest.mark.parametrize("address", REFUSED)
def test_create_refuses_a_special_purpose_address(api_client_for, organization, owner, address, settings):
    settings.WEBHOOK_ALLOWED_ADDRESSES = []
    response = api_client_for(owner).post(
        f"/api/v1/organizations/{organization.id}/webhooks/", {"url": url_for(address)}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "not allowed" in str(response.json()["error"]["details"]["url"])
    assert not WebhookEndpoint.objects.filter(organization=organization).exists()


@pytest.mark.parametrize("address", ALLOWED[:6] + ALLOWED[-4:])
def test_create_accepts_a_public_address(api_client_for, organization, owner, address):
    response = api_client_for(owner).post(
        f"/api/v1/organizations/{organization.id}/webhooks/", {"url": url_for(address)}, format="json"
    )
    assert response.status_code == 201, response.content


def _resolving_to(monkeypatch, address: str) -> None:
    """DNS (which leaves the machine) answers ``address`` for every name."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, 443, 0, 0) if family == socket.AF_INET6 else (address, 443)

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(transport.socket, "getaddrinfo", fake_getaddrinfo)


@pytest.mark.parametrize("address", REFUSED)
def test_send_refuses_a_name_resolving_to_a_special_purpose_address(monkeypatch, address, settings):
    # given: a name that passed the create-time check and now resolves to a refused address
    settings.WEBHOOK_ALLOWED_ADDRESSES = []
    _resolving_to(monkeypatch, address)
    # when / then: refused before any connection is attempted
    with pytest.raises(transport.Refused, match="refused address"):
        transport.post(url="https://hooks.example.com/in", body=b"{}", headers={})


@pytest.mark.parametrize("address", ALLOWED)
def test_send_resolution_accepts_a_public_address(monkeypatch, address, settings):
    settings.WEBHOOK_ALLOWED_ADDRESSES = []
    _resolving_to(monkeypatch, address)
    assert transport.resolve("hooks.example.com", 443) == [address]


@pytest.mark.parametrize(
    "url",
    [
        "https://2130706433/",  # decimal 127.0.0.1
        "https://0177.0.0.1/",  # octal
        "https://0x7f.0.0.1/",  # hex
        "https://0x7f000001/",
        "https://127.1/",  # short form
        "https://127.0.0.1./",  # trailing dot
        "https://169.254.169.254./latest",
        "https://[fe80::1%25eth0]/",  # zone id
        "https://[::ffff:a9fe:a9fe]/",
    ],
)
def test_every_spelling_of_a_refused_address_is_refused_at_create(url, settings):
    settings.WEBHOOK_ALLOWED_ADDRESSES = []
    assert "not allowed" in (transport.check_url(url) or "")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://hooks.example.com\\@127.0.0.1/", "backslash"),
        ("https://user:pw@hooks.example.com/", "Credentials"),
        ("https://user@hooks.example.com/", "Credentials"),
        ("https://hooks.example.com/\x00", "control"),
        ("https://hooks.exa mple.com/", "spaces"),
    ],
)
def test_ambiguous_urls_are_refused(url, reason):
    assert reason in (transport.check_url(url) or "")


def test_an_allowed_address_is_allowed_in_its_mapped_form_too(settings):
    settings.WEBHOOK_ALLOWED_ADDRESSES = ["127.0.0.1"]
    assert transport.address_allowed("::ffff:127.0.0.1")
    assert not transport.address_allowed("::ffff:169.254.169.254")
