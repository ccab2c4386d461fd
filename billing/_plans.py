"""Plans and who is on which: ``pro`` while Stripe says the subscription is paid (or within the
grace period after a failed payment) or a promo code's months last; ``free`` otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from llmobserve.control import Account

__all__ = ["FREE", "PAID_STATUSES", "PRO", "Plan", "month_start", "plan_of"]

FREE = "free"
PRO = "pro"
PAID_STATUSES = frozenset({"active", "trialing"})


@dataclass(frozen=True, slots=True)
class Plan:
    name: str  # free | pro
    reason: str  # why: "subscription active", "promo code until ...", "past due, grace until ...", "no subscription"
    until: datetime | None = None  # when this reason ends, when known


def plan_of(account: Account, now: datetime, grace_days: int) -> Plan:
    status = account.status
    if status in PAID_STATUSES:
        return Plan(PRO, f"subscription {status}", account.current_period_end)
    if status == "past_due" and account.past_due_since is not None:
        grace_end = account.past_due_since + timedelta(days=grace_days)
        if now < grace_end:
            return Plan(PRO, "payment failed; Stripe retries it during the grace period", grace_end)
    if account.promo_until is not None and now < account.promo_until:
        return Plan(PRO, "promo code", account.promo_until)
    return Plan(FREE, f"subscription {status}" if status else "no subscription")


def month_start(day: date) -> date:
    return day.replace(day=1)
