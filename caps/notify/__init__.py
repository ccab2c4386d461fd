"""Telling people that a cap was crossed: alert e-mail through SendGrid, JSON webhooks, the address
policy that keeps webhooks out of the server's own network, and the messages' wording."""

from __future__ import annotations

from ._message import AlertMessage, format_usd, html_body, payload, subject, text_body
from ._notifier import EMAIL_OFF, Delivery, Notifier
from ._policy import blocked_reason, literal_blocked_reason

__all__ = [
    "AlertMessage",
    "Delivery",
    "EMAIL_OFF",
    "Notifier",
    "blocked_reason",
    "format_usd",
    "html_body",
    "literal_blocked_reason",
    "payload",
    "subject",
    "text_body",
]
