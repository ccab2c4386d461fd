"""E-mail recipients of caps' alerts confirm once, by a link e-mailed to them, before any alert goes
to them: else a tenant could make the operator's SendGrid sender mail anyone (and get it suspended
for all). What each answer shows of a tenant's recipients, too."""

from __future__ import annotations

import hashlib
import html
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from llmobserve.control import Recipient

from ..schemas.caps import RecipientStatus

if TYPE_CHECKING:
    from ._services import Services

__all__ = [
    "CONFIRM_PATH",
    "LINK_VALID",
    "MAILS_PER_DAY",
    "RESEND_AFTER",
    "Link",
    "View",
    "ask_to_confirm",
    "confirm_recipient",
    "confirmation_link",
    "polled_recipients",
    "recipient_status",
    "recipients_changed",
    "view_of",
]

CONFIRM_PATH = "/confirm-recipient"
LINK_VALID = timedelta(days=7)
RESEND_AFTER = timedelta(hours=1)
"""A pending address is e-mailed a new link when its cap is saved this long after the last one."""
MAILS_PER_DAY = 50
"""Confirmation e-mails per tenant in any 24 hours: the links themselves must not become a relay."""
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class View:
    """What one answer shows: the tenant's recipients as of ``now``, webhook URLs in full only to
    admins, and why this write sent no confirmation e-mail to some address (``notes``)."""

    recipients: Mapping[str, Recipient]
    now: datetime
    admin: bool
    notes: Mapping[str, str] = field(default_factory=dict)


def view_of(svc: Services, tenant: str, admin: bool, notes: Mapping[str, str] | None = None) -> View:
    return View(svc.control.recipients(tenant), svc.caps_clock(), admin, notes or {})


_POLLED_FRESH_S = 1.0
_polled: dict[tuple[int, str], tuple[float, Mapping[str, Recipient]]] = {}  # by (store, tenant)
_polled_lock = threading.Lock()


def polled_recipients(svc: Services, tenant: str) -> Mapping[str, Recipient]:
    """The recipients for ``caps/status``, read at most once a second per tenant: every app process
    holding a read key polls it every 2 s, and the status cache spares storage the same way."""
    with _polled_lock:
        read_at, found = _polled.get((id(svc.store), tenant), (0.0, {}))
    if time.monotonic() - read_at < _POLLED_FRESH_S:
        return found
    found = svc.control.recipients(tenant)
    with _polled_lock:
        if len(_polled) > 10_000:  # tenants that stopped polling
            _polled.clear()
        _polled[(id(svc.store), tenant)] = (time.monotonic(), found)
    return found


def recipients_changed(svc: Services, tenant: str) -> None:
    with _polled_lock:
        _polled.pop((id(svc.store), tenant), None)


def _minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def recipient_status(address: str, found: Recipient | None, view: View) -> RecipientStatus:
    sent = found.requested_at if found else None
    if found is not None and found.confirmed_at is not None:
        detail = "confirmed: gets this cap's alerts"
    elif (note := view.notes.get(address.lower())) is not None:
        detail = f"{note}; no alerts until it is confirmed"
    elif sent is not None and view.now < sent + LINK_VALID:
        detail = f"waiting for the address to open the link e-mailed at {_minute(sent)}; no alerts until then"
    elif sent is not None:
        detail = "the confirmation link expired; saving the cap e-mails a new one"
    else:
        detail = "no confirmation e-mail sent yet; saving the cap sends one"
    confirmed_at = found.confirmed_at if found else None
    return RecipientStatus(
        address=address,
        confirmed=confirmed_at is not None,
        confirmed_at=confirmed_at,
        confirmation_sent_at=sent,
        detail=detail,
    )


_mailing_locks: dict[str, threading.Lock] = {}
_mailing_guard = threading.Lock()


def _mailing(tenant: str) -> threading.Lock:
    """Held while a tenant's confirmation e-mails are counted and sent, so two saves at once in this
    process cannot both spend the last of its daily bound."""
    with _mailing_guard:
        return _mailing_locks.setdefault(tenant, threading.Lock())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _due(found: Recipient | None, now: datetime) -> bool:
    """Whether saving a cap with this address e-mails it a (new) link now."""
    if found is None or found.requested_at is None:
        return True
    return found.confirmed_at is None and now >= found.requested_at + RESEND_AFTER


def _confirmation_mail(public_url: str, tenant: str, address: str, token: str) -> tuple[str, str, str]:
    """Subject, text and HTML. Nothing a tenant typed goes in but its name (letters, digits, ``_.-``):
    a cap's name or a link of its choosing would make this e-mail a message of the tenant's."""
    link = f"{public_url.rstrip('/')}{CONFIRM_PATH}?token={token}"
    subject = f"Confirm spending alerts from llmobserve workspace {tenant}"
    lines = [
        f'The llmobserve workspace "{tenant}" ({public_url}) wants to send its spending-cap alerts to {address}.',
        "",
        "To receive them, open this link and press Confirm:",
        link,
        "",
        f"The link works once and expires in {LINK_VALID.days} days. Until this address is confirmed it gets "
        "no alerts; if you did not expect this e-mail, ignore it.",
    ]
    e = html.escape
    body = (
        f"<p>The llmobserve workspace <strong>{e(tenant)}</strong> ({e(public_url)}) wants to send its "
        f"spending-cap alerts to <strong>{e(address)}</strong>.</p>"
        f'<p>To receive them, open this link and press Confirm:<br><a href="{e(link)}">{e(link)}</a></p>'
        f"<p>The link works once and expires in {LINK_VALID.days} days. Until this address is confirmed it "
        "gets no alerts; if you did not expect this e-mail, ignore it.</p>"
    )
    return subject, "\n".join(lines), body


def ask_to_confirm(svc: Services, tenant: str, addresses: Iterable[str]) -> dict[str, str]:
    """E-mail a confirmation link to each address that needs one now; returns, by lower-cased
    address, why one that needed a link got none (the daily bound, e-mail off or failing)."""
    now = svc.caps_clock()
    wanted: dict[str, str] = {}  # lower-cased -> as first typed
    for typed in addresses:
        if typed.strip():
            wanted.setdefault(typed.strip().lower(), typed.strip())
    notes: dict[str, str] = {}
    with _mailing(tenant):
        known = svc.control.recipients(tenant)
        due = [address for address in wanted if _due(known.get(address), now)]
        # Under the bound, an address never mailed goes before a pending one mailed again.
        due.sort(key=lambda address: address in known)
        if not due:
            return notes
        left = MAILS_PER_DAY - svc.control.confirmation_mails_since(tenant, now - _DAY)
        failed = ""
        for address in due:
            if failed:  # the next would fail alike: no save waits on every one of 20 retries
                notes[address] = f"no confirmation e-mail sent: the one before it failed ({failed})"
                continue
            if left <= 0:
                notes[address] = (
                    f"no confirmation e-mail sent: this workspace sent its {MAILS_PER_DAY} confirmation e-mails "
                    "of the last 24 hours; saving the cap later sends one"
                )
                continue
            token = secrets.token_urlsafe(32)
            sent = svc.notifier.email(
                [wanted[address]], *_confirmation_mail(svc.public_url, tenant, wanted[address], token)
            )
            if not sent.ok:
                failed = sent.error or "no answer"
                notes[address] = f"the confirmation e-mail failed: {failed}"
                continue
            left -= 1
            before = known.get(address)
            recent = tuple(t for t in (before.sends if before else ()) if t >= now - _DAY)
            svc.control.put_recipient(Recipient(tenant, address, _token_hash(token), now, None, (*recent, now)))
            recipients_changed(svc, tenant)
    return notes


@dataclass(frozen=True, slots=True)
class Link:
    """What a confirmation link stands for. ``state``: ``pending`` (may confirm), ``confirmed`` (by
    this request), ``used``, ``expired`` or ``unknown`` (never issued, or replaced by a newer link)."""

    state: Literal["pending", "confirmed", "used", "expired", "unknown"]
    tenant: str = ""
    address: str = ""
    expires_at: datetime | None = None


def _link(svc: Services, token: str) -> tuple[Link, Recipient | None]:
    found = svc.control.recipient_by_token(_token_hash(token)) if 0 < len(token) <= 256 else None
    if found is None or found.requested_at is None:
        return Link("unknown"), None
    expires_at = found.requested_at + LINK_VALID
    if found.confirmed_at is not None:
        return Link("used", found.tenant, found.address, expires_at), None
    if svc.caps_clock() >= expires_at:
        return Link("expired", found.tenant, found.address, expires_at), None
    return Link("pending", found.tenant, found.address, expires_at), found


def confirmation_link(svc: Services, token: str) -> Link:
    """What the link with ``token`` would confirm; changes nothing (mail scanners open links)."""
    return _link(svc, token)[0]


def confirm_recipient(svc: Services, token: str) -> Link:
    """Confirm the address of a pending link; the link is used up. Any other link changes nothing."""
    link, found = _link(svc, token)
    if found is None:
        return link
    svc.control.put_recipient(replace(found, confirmed_at=svc.caps_clock()))
    recipients_changed(svc, found.tenant)
    return replace(link, state="confirmed")
