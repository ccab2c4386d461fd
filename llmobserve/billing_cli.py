"""``llmobserve billing promo create|list|disable``: promo codes live on the server only, hashed; the
operator makes them here and people redeem them on the Billing page or ``POST /api/v1/billing/promo``."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

from llmobserve.control import ControlStore

__all__ = ["parse_expiry", "promo_create_cli", "promo_disable_cli", "promo_list_cli"]

_CODE = re.compile(r"^[A-Za-z0-9_-]{6,64}$")


def parse_expiry(text: str | None) -> datetime | None:
    """An ISO date or time; a time without a zone is UTC. Raises ValueError."""
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def promo_create_cli(
    url: str, code: str, months: int, max_redemptions: int, expires: str | None, stripe_promotion_code: str | None
) -> int:
    if not _CODE.match(code):
        print("error: a code is 6 to 64 letters, digits, '-' or '_'", file=sys.stderr)
        return 2
    if not 1 <= months <= 120 or not 1 <= max_redemptions <= 1_000_000:
        print("error: --months is 1 to 120 and --max-redemptions 1 to 1000000", file=sys.stderr)
        return 2
    try:
        expires_at = parse_expiry(expires)
    except ValueError:
        print(f"error: --expires {expires!r} is not an ISO date or time (e.g. 2027-03-31)", file=sys.stderr)
        return 2
    if expires_at is not None and expires_at <= datetime.now(UTC):
        print("error: --expires is in the past", file=sys.stderr)
        return 2
    if stripe_promotion_code is not None and not stripe_promotion_code.startswith("promo_"):
        print("error: --stripe-promotion-code is a Stripe promotion code id (promo_...)", file=sys.stderr)
        return 2
    store = ControlStore.open(url)
    try:
        made = store.billing.create_promo(code, months, max_redemptions, expires_at, stripe_promotion_code)
    finally:
        store.close()
    if not made:
        print(f"error: a promo code {code.upper()!r} exists already", file=sys.stderr)
        return 1
    what = (
        f"applies {stripe_promotion_code} at Checkout" if stripe_promotion_code else f"grants pro for {months} month(s)"
    )
    until = f", until {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else ""
    print(f"promo code {code.upper()} {what}, {max_redemptions} redemption(s){until}")
    print("only its hash is stored: keep the code itself where you hand it out")
    return 0


def promo_list_cli(url: str) -> int:
    store = ControlStore.open(url)
    try:
        promos = store.billing.promos()
    finally:
        store.close()
    if not promos:
        print("no promo codes")
        return 0
    now = datetime.now(UTC)
    print("code\tstatus\tredeemed\tmonths\texpires\tstripe")
    for p in promos:
        expires = f"{p.expires_at:%Y-%m-%d}" if p.expires_at else "-"
        print(
            f"{p.hint}\t{p.status(now)}\t{p.redemptions}/{p.max_redemptions}\t{p.months}\t{expires}\t"
            f"{p.stripe_promotion_code or '-'}"
        )
    return 0


def promo_disable_cli(url: str, code: str) -> int:
    store = ControlStore.open(url)
    try:
        done = store.billing.disable_promo(code)
    finally:
        store.close()
    if not done:
        print(f"error: no enabled promo code {code.upper()!r}", file=sys.stderr)
        return 1
    print(f"promo code {code.upper()} disabled; redemptions made stay")
    return 0
