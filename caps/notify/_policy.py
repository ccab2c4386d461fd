"""Where a tenant's webhooks may point. On a shared server a webhook URL is a request the server
makes on a tenant's behalf: to loopback, private, link-local (cloud metadata at 169.254.169.254) or
other non-public addresses it would reach what only the server can reach (SSRF). Those are refused
unless the operator allows them (``LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE``: a laptop, a private network;
or only some networks, ``LLMOBSERVE_WEBHOOKS_ALLOW_NETWORKS``).

Checked when a cap is saved (names that are addresses, and ``localhost``), and at delivery by the
transport (``_transport``) on the addresses it is about to connect to: the name is resolved once, in
the spelling the connection uses, and the connection goes to an address that was checked. Checking
a name and letting the HTTP client resolve it again is what DNS rebinding and IDNA2003/2008
spelling differences defeat.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["AddressPolicy", "literal_blocked_reason", "not_public", "redacted_url"]

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded(ip: IPAddress) -> list[IPAddress]:
    """The IPv4 addresses an IPv6 address leads to (IPv4-mapped, 6to4, Teredo, NAT64)."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[IPAddress] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found += list(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def not_public(address: str) -> bool:
    """Whether ``address`` (or an IPv4 address it embeds) is anything but a public unicast address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    return any(not a.is_global or a.is_multicast for a in (ip, *_embedded(ip)))


def redacted_url(url: str) -> str:
    """Scheme and host only: Slack's and Discord's webhook URLs carry their secret in the path."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    host = parts.netloc.rpartition("@")[2]  # never the user:password before it
    return f"{parts.scheme}://{host}/…" if host else "(invalid URL)"


def literal_blocked_reason(url: str) -> str | None:
    """Without DNS: why ``url`` may not be a webhook, when its host is an address or localhost."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this server itself"
    try:
        return f"{host} is not a public address" if not_public(host) else None
    except ValueError:
        return None  # a name: checked at delivery


class AddressPolicy:
    """Which addresses a delivery may connect to: public ones, plus the networks the operator allows
    (``allow_private`` allows every address)."""

    def __init__(self, allow_private: bool = False, allowed_networks: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.allowed = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)

    def refused(self, address: str) -> bool:
        if self.allow_private:
            return False
        ip = ipaddress.ip_address(address.split("%")[0])
        if any(ip in net for net in self.allowed):
            return False
        return not_public(address)
