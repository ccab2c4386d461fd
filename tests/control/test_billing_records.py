"""Billing in the control store, on SQLite and PostgreSQL: a promo code's last redemption goes to one
of many racing workspaces, each refusal names itself, an event applies once, an older read of a
subscription never overwrites a newer one, and usage adds up across processes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from llmobserve.control import ControlStore, PromoRefused, Subscription, add_months
from tests.control.test_people import _race

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


def _workspaces(store: ControlStore, n: int) -> list[str]:
    names = [f"team-{i}" for i in range(n)]
    for name in names:
        store.ensure_tenant(name)
    return names


def test_twenty_racing_redemptions_of_a_one_use_code_grant_one(stores: list[ControlStore]) -> None:
    teams = _workspaces(stores[0], 20)
    assert stores[0].billing.create_promo("LAUNCH", 2, 1, None)

    results, errors = _race(20, lambda i: stores[i % 2].billing.redeem("launch", teams[i]))
    assert len(results) == 1
    assert sorted({e.kind for e in errors if isinstance(e, PromoRefused)}) == ["exhausted"] and len(errors) == 19
    granted = [t for t in teams if stores[1].billing.account(t).promo_until is not None]
    assert len(granted) == 1
    (promo,) = stores[0].billing.promos()
    assert promo.redemptions == 1 and promo.status(datetime.now(UTC)) == "exhausted"


def test_each_refusal_names_itself_and_changes_nothing(stores: list[ControlStore]) -> None:
    store = stores[0]
    a, b = _workspaces(store, 2)
    store.billing.create_promo("OLD-CODE", 1, 5, NOW - timedelta(days=1))
    store.billing.create_promo("GONE-CODE", 1, 5, None)
    store.billing.disable_promo("gone-code")
    store.billing.create_promo("ONCE", 1, 1, None)
    store.billing.create_promo("TWICE", 3, 2, None)

    def refused(code: str, workspace: str) -> str:
        with pytest.raises(PromoRefused) as caught:
            store.billing.redeem(code, workspace, now=NOW)
        return caught.value.kind

    assert refused("NOPE", a) == "unknown"
    assert refused("old-code", a) == "expired"
    assert refused("GONE-CODE", a) == "disabled"
    store.billing.redeem("ONCE", a, now=NOW)
    assert refused("ONCE", b) == "exhausted"
    store.billing.redeem(" twice ", a, now=NOW)
    assert refused("TWICE", a) == "redeemed"
    assert store.billing.account(b).promo_until is None
    # two codes stack: 1 month from now, then 3 more
    assert store.billing.account(a).promo_until == add_months(add_months(NOW, 1), 3)
    assert [p.redemptions for p in store.billing.promos()] == [0, 0, 1, 1]


def _sub(status: str, synced: datetime, cancel: bool = False, sub_id: str = "sub_1") -> Subscription:
    return Subscription(sub_id, "cus_1", status, "price_pro", NOW + timedelta(days=30), cancel, synced)


def test_an_event_applies_once_and_an_older_read_never_overwrites_a_newer_one(stores: list[ControlStore]) -> None:
    store = stores[0]
    (team,) = _workspaces(store, 1)
    b = store.billing
    assert b.apply_event("evt_1", "customer.subscription.created", NOW, team, _sub("active", NOW), "applied")
    assert not stores[1].billing.apply_event(
        "evt_1", "customer.subscription.created", NOW, team, _sub("canceled", NOW), "applied"
    )
    assert b.account(team).status == "active"
    # deleted read later, then an update read earlier arrives: canceled stays
    assert b.apply_event(
        "evt_3", "customer.subscription.deleted", NOW, team, _sub("canceled", NOW + timedelta(seconds=5)), "applied"
    )
    assert b.apply_event(
        "evt_2", "customer.subscription.updated", NOW, team, _sub("active", NOW + timedelta(seconds=2)), "applied"
    )
    assert b.account(team).status == "canceled"
    assert [e["id"] for e in b.events(team)] == ["evt_2", "evt_3", "evt_1"]
    assert b.find_workspace(None, "sub_1", None) == team and b.find_workspace(None, None, "cus_1") == team
    assert b.find_workspace("no-such-team", None, "cus_9") is None


def test_past_due_keeps_its_first_time_and_an_old_subscription_ending_keeps_the_new_one(
    stores: list[ControlStore],
) -> None:
    b = stores[0].billing
    (team,) = _workspaces(stores[0], 1)
    b.apply_event("e1", "invoice.payment_failed", NOW, team, _sub("past_due", NOW), "applied")
    b.apply_event("e2", "invoice.payment_failed", NOW, team, _sub("past_due", NOW + timedelta(days=2)), "applied")
    assert b.account(team).past_due_since == NOW
    b.apply_event(
        "e3",
        "customer.subscription.created",
        NOW,
        team,
        _sub("active", NOW + timedelta(days=3), sub_id="sub_2"),
        "applied",
    )
    b.apply_event(
        "e4", "customer.subscription.deleted", NOW, team, _sub("canceled", NOW + timedelta(days=4)), "applied"
    )
    account = b.account(team)
    assert (account.subscription_id, account.status, account.past_due_since) == ("sub_2", "active", None)


def test_usage_from_two_processes_adds_up_per_day(stores: list[ControlStore]) -> None:
    (team,) = _workspaces(stores[0], 1)
    day1, day2 = date(2026, 12, 1), date(2026, 12, 2)
    _race(10, lambda i: stores[i % 2].billing.add_usage({(team, day1 if i < 6 else day2): (100, i)}))
    assert stores[0].billing.usage(team, day1, day2) == (1000, sum(range(10)))
    assert stores[1].billing.usage(team, day2, day2) == (400, 6 + 7 + 8 + 9)
    assert [d for d, _, _ in stores[0].billing.usage_days(team, day1, day2)] == [day1, day2]


def test_a_workspace_keeps_its_first_stripe_customer(stores: list[ControlStore]) -> None:
    (team,) = _workspaces(stores[0], 1)
    results, errors = _race(6, lambda i: stores[i % 2].billing.set_customer(team, f"cus_{i}"))
    assert errors == [] and len(set(results)) == 1
    assert stores[0].billing.account(team).customer_id == results[0]
