"""Local accounts: e-mail and password (argon2id, argon2-cffi), the address verified by a single-use
link before the account exists, and password reset by another. Nothing here says whether an
address has an account: sign-up and reset answer alike, and the e-mail says what applies.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import cache
from html import escape
from typing import TYPE_CHECKING

from llmobserve.control import SignIn, SignInRefused, User

from .errors import BadRequest, RateLimited, Unavailable

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from ._services import Services

__all__ = [
    "MIN_PASSWORD",
    "check_password",
    "finish_reset",
    "finish_sign_up",
    "hash_password",
    "link_problem",
    "password_sign_in",
    "start_reset",
    "start_sign_up",
]

MIN_PASSWORD = 10
VERIFY_TTL = timedelta(hours=24)
RESET_TTL = timedelta(hours=1)
MAILS_PER_HOUR = 3  # links of one purpose to one address: a form cannot be made to mail-bomb anyone
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher  # ~20 ms: only when a password is first used

    return PasswordHasher()  # argon2id, the library's (RFC 9106) defaults


@cache
def _dummy_hash() -> str:
    return _hasher().hash("not a password anyone has")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (a missing one checks a dummy hash)."""
    from argon2.exceptions import Argon2Error

    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except Argon2Error:
        return False


def _valid(email: str, password: str | None) -> str:
    address = email.strip().lower()
    if not _EMAIL.match(address) or len(address) > 320:
        raise BadRequest("Enter a valid e-mail address.")
    if password is not None and len(password) < MIN_PASSWORD:
        raise BadRequest(f"Choose a password of at least {MIN_PASSWORD} characters.")
    if password is not None and len(password) > 1024:
        raise BadRequest("That password is too long (at most 1024 characters).")
    return address


def _mail(svc: Services, address: str, subject: str, lines: list[str], link: str | None) -> None:
    text = "\n\n".join([*lines, *([link] if link else [])])
    html = "".join(f"<p>{escape(line)}</p>" for line in lines) + (
        f'<p><a href="{escape(link)}">{escape(link)}</a></p>' if link else ""
    )
    sent = svc.notifier.email([address], subject, text, html)
    if not sent.ok:
        raise Unavailable(f"The e-mail could not be sent ({sent.error}). Try again later.")


def _throttle(svc: Services, purpose: str, address: str) -> None:
    since = datetime.now(UTC) - timedelta(hours=1)
    if svc.control.people.links_sent_since(purpose, address, since) >= MAILS_PER_HOUR:
        raise RateLimited("Too many e-mails to this address in the last hour. Try again later.", 3600)


def start_sign_up(svc: Services, email: str, password: str, name: str, invitation: str | None) -> str:
    """Send the verification link (or, to an address that has an account, a note saying so).
    Returns the address; the answer to the browser is the same either way."""
    if not svc.notifier.email_enabled:
        raise Unavailable("This server sends no e-mail, so it cannot verify an address: use a sign-in provider.")
    address = _valid(email, password)
    if svc.accounts.signup != "open" and invitation is None:
        raise SignInRefused("This server takes new accounts by invitation only: use the link in your invitation.")
    _throttle(svc, "verify", address)
    people = svc.control.people
    existing = people.local_account(address)
    token = people.create_link(
        "verify",
        VERIFY_TTL,
        email=address,
        data={"name": name.strip()[:200], "password_hash": hash_password(password), "invitation": invitation},
    )
    base = svc.public_url.rstrip("/")
    if existing is not None:
        _mail(
            svc,
            address,
            "You already have an llmobserve account",
            [
                "Someone (maybe you) asked to create an account with this address, which already has one.",
                "Sign in, or reset your password here:",
            ],
            f"{base}/reset",
        )
    else:
        _mail(
            svc,
            address,
            "Confirm your e-mail address for llmobserve",
            ["Open this link within 24 hours to confirm your address and create your account:"],
            f"{base}/verify/{token}",
        )
    return address


def finish_sign_up(svc: Services, token: str) -> SignIn:
    """Use the verification link: the account exists from now on (raises ``SignInRefused`` with why)."""
    link, why = svc.control.people.use_link(token, "verify")
    if link is None or link.email is None:
        raise SignInRefused(link_problem("verify", why))
    data = link.data
    return svc.control.people.sign_up_local(
        link.email, str(data["password_hash"]), str(data.get("name") or ""), svc.accounts.signup, data.get("invitation")
    )


def password_sign_in(svc: Services, client: str, email: str, password: str) -> User:
    """The account, if the password is right; rate-limited per client address and per account."""
    address = email.strip().lower()
    wait = svc.accounts.passwords.admit(client, address)
    if wait:
        raise RateLimited(f"Too many sign-in attempts. Try again in {wait} seconds.", wait)
    found = svc.control.people.local_account(address)
    if not check_password(found[1] if found else None, password) or found is None:
        raise SignInRefused("Wrong e-mail or password.")
    svc.accounts.passwords.succeeded(client)
    return found[0]


def start_reset(svc: Services, email: str) -> None:
    """Mail a reset link if the address has an account; the same answer either way."""
    if not svc.notifier.email_enabled:
        raise Unavailable("This server sends no e-mail: ask its operator to reset your password.")
    address = _valid(email, None)
    _throttle(svc, "reset", address)
    found = svc.control.people.local_account(address)
    if found is None:
        return
    token = svc.control.people.create_link("reset", RESET_TTL, email=address, user_id=found[0].id)
    _mail(
        svc,
        address,
        "Reset your llmobserve password",
        ["Open this link within an hour to choose a new password. If you did not ask, ignore this e-mail."],
        f"{svc.public_url.rstrip('/')}/reset/{token}",
    )


def finish_reset(svc: Services, token: str, password: str) -> User:
    """Set the new password; every session of the account ends."""
    if len(password) < MIN_PASSWORD:
        raise BadRequest(f"Choose a password of at least {MIN_PASSWORD} characters.")
    link, why = svc.control.people.use_link(token, "reset")
    user = svc.control.people.user(link.user_id) if link is not None and link.user_id else None
    if user is None:
        raise SignInRefused(link_problem("reset", why))
    svc.control.people.set_password(user.id, hash_password(password))
    return user


def link_problem(purpose: str, why: str) -> str:
    """Why a ``verify`` or ``reset`` link cannot be used, and where to ask for a new one."""
    what, again = ("confirmation", "/signup") if purpose == "verify" else ("reset", "/reset")
    return _LINK_PROBLEMS[why or "unknown"].format(what=what, again=again)


_LINK_PROBLEMS = {
    "unknown": "This {what} link is not valid. Ask for a new one at {again}.",
    "used": "This {what} link was already used. Ask for a new one at {again}.",
    "expired": "This {what} link has expired. Ask for a new one at {again}.",
}
