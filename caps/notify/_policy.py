"""Where a tenant's webhooks may point. On a shared server a webhook URL is a request the server
makes on a tenant's behalf: to loopback, private, link-local (cloud metadata at 169.254.169.254) or
other non-public addresses it would reach what only the server can reach (SSRF). Those are refused
unless the operator allows them (``LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE``: a laptop, a private network).

Checked when a cap is saved (names that are addresses, and ``localhost``) and again before each
delivery (every address the name resolves to). A name that resolves differently between the check
and the connection (DNS rebinding) is not caught; a proxy that enforces egress rules is the remedy.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = ["blocked_reason", "literal_blocked_reason"]


def _not_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    return not ip.is_global or ip.is_multicast


def literal_blocked_reason(url: str) -> str | None:
    """Without DNS: why ``url`` may not be a webhook, when its host is an address or localhost."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this server itself"
    try:
        return f"{host} is not a public address" if _not_public(host) else None
    except ValueError:
        return None  # a name: resolved at delivery


def blocked_reason(url: str) -> str | None:
    """Why a delivery to ``url`` must not be made now, or None. Resolves the host."""
    if (reason := literal_blocked_reason(url)) is not None:
        return reason
    parts = urlsplit(url)
    try:
        found = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except OSError as exc:
        return f"cannot resolve {parts.hostname}: {exc.strerror or exc}"
    private = sorted({str(info[4][0]) for info in found if _not_public(str(info[4][0]))})
    return f"{parts.hostname} resolves to non-public address(es) {', '.join(private)}" if private else None
