"""Telling people that a cap was crossed: alert e-mail through SendGrid, JSON webhooks, the address
policy that keeps webhooks out of the server's own network, and the messages' wording."""

from __future__ import annotations

from ._fair import FairPool
from ._message import AlertMessage, format_usd, html_body, payload, payload_for, subject, text_body
from ._notifier import EMAIL_OFF, SIGNATURE_HEADER, Delivery, Notifier, sign
from ._policy import AddressPolicy, literal_blocked_reason, not_public, redacted_url
from ._transport import resolve

__all__ = [
    "AddressPolicy",
    "AlertMessage",
    "Delivery",
    "EMAIL_OFF",
    "FairPool",
    "Notifier",
    "SIGNATURE_HEADER",
    "format_usd",
    "html_body",
    "literal_blocked_reason",
    "not_public",
    "payload",
    "payload_for",
    "redacted_url",
    "resolve",
    "sign",
    "subject",
    "text_body",
]
