"""The strict-mode ledger stays bounded and exact: settled amounts are forgotten once their period is
over or the stored spend has caught up with them, without losing what they bridged; what open
reservations hold is kept as running sums; a ledger full of amounts storage never catches up with
refuses reservations rather than forget them."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest

from llmobserve.caps import Blocked, Reservations, TooManyReservations
from llmobserve.caps import _reservations as ledger_module
from llmobserve.control import ControlStore, StoredCap
from llmobserve.storage import Store

_T0 = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _cap(
    scope: str = "global",
    limit: str = "1",
    period: str = "daily",
    cap_id: str = "cap_0000000000000001",
    value: str = "",
) -> StoredCap:
    return StoredCap(
        cap_id, "n", scope, value, period, "UTC", Decimal(limit), (Decimal(1),), "hard_block", (), (), True, _T0, _T0
    )


class Storage:
    """What the ledger reads of a store: the tenant's caps and the stored spend per dimension."""

    def __init__(self, *caps: StoredCap) -> None:
        self.caps = list(caps)
        self.spend: dict[str, dict[str, Decimal]] = defaultdict(dict)  # dimension -> value -> spend

    def list_caps(self, tenant: str) -> list[StoredCap]:
        return self.caps

    def cap_spend(
        self, tenant: str, windows: list[tuple[datetime, datetime]], dims: list[str]
    ) -> list[dict[str, dict[str, Decimal]]]:
        return [{dim: dict(self.spend[dim]) for dim in dims} for _ in windows]


class Clock:
    def __init__(self) -> None:
        self.now = _T0

    def __call__(self) -> datetime:
        return self.now


def _ledger(storage: Storage, clock: Clock | None = None, **options: Any) -> Reservations:
    options.setdefault("spend_ttl_s", 0)
    return Reservations(cast(Store, storage), cast(ControlStore, storage), clock=clock or Clock(), **options)


def _price(cost: str) -> Any:
    return lambda provider, model: Decimal(cost)


def _consistent(reservations: Reservations, tenant: str = "t") -> None:
    """The running sums are what the open reservations add up to."""
    ledger = reservations._ledger(tenant)
    held: dict[Any, Decimal] = defaultdict(Decimal)
    for reservation in ledger.open.values():
        for hold in reservation.holds:
            held[hold] += reservation.amount
    assert ledger.held == dict(held)
    assert ledger.reserved == sum((r.amount for r in ledger.open.values()), Decimal(0))


def test_settled_amounts_storage_has_caught_up_with_are_forgotten() -> None:
    storage = Storage(_cap("each_customer", limit="1000", period="total"))
    reservations = _ledger(storage)
    sizes = []
    for i in range(5_000):  # a total cap: its period never ends, every customer is a new subject
        customer = f"c{i}"
        held = reservations.reserve("t", {"customer": customer}, Decimal("0.02"))
        assert held is not None
        assert reservations.settle("t", held.id, _price("0.01")) == Decimal("0.01")
        storage.spend["customer"][customer] = Decimal("0.01")  # its span is stored
        sizes.append(len(reservations._ledger("t").settled))
    assert max(sizes) <= 2 * ledger_module._PRUNE_FROM
    assert reservations.open_reservations("t") == (0, Decimal(0))
    assert reservations._ledger("t").held == {}


def test_settled_amounts_of_a_period_that_is_over_are_forgotten() -> None:
    clock = Clock()
    storage = Storage(_cap("each_customer", limit="1000"))
    reservations = _ledger(storage, clock)
    for day in range(5):
        clock.now = _T0 + timedelta(days=day)
        for i in range(1_000):  # spans never stored: only the period's end makes them go
            held = reservations.reserve("t", {"customer": f"c{i}"}, Decimal("0.02"))
            assert held is not None and reservations.settle("t", held.id, _price("0.01")) is not None
    settled = reservations._ledger("t").settled
    assert len(settled) <= 2_000 and {hold[2] for hold in settled} <= {
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2026, 12, 2, tzinfo=UTC),
    }


def _prune_at_every_reservation(reservations: Reservations, tenant: str = "t") -> None:
    reservations._ledger(tenant).prune_at = 0


def test_a_forgotten_amount_leaves_nothing_uncounted() -> None:
    storage = Storage(_cap(limit="1"))
    reservations = _ledger(storage)
    admitted = 0
    for call in range(20):
        if call == 5:
            storage.spend["provider"]["openai"] = Decimal("0.5")  # the first five calls' spans are stored
        _prune_at_every_reservation(reservations)
        try:
            held = reservations.reserve("t", {"provider": "openai"}, Decimal("0.1"))
        except Blocked as exc:
            [(_, _, counted)] = exc.caps
            assert counted == Decimal("1.0")
            break
        assert held is not None
        admitted += 1
        assert reservations.settle("t", held.id, _price("0.1")) == Decimal("0.1")
        if call == 5:  # forgotten: storage shows it all
            assert reservations._ledger("t").settled == {
                ("cap_0000000000000001", "", datetime(2026, 11, 28, tzinfo=UTC)): Decimal("0.6")
            }
    assert admitted == 10  # never an eleventh: the stored $0.50 plus the five settled since


def test_an_amount_an_open_reservation_holds_is_kept() -> None:
    storage = Storage(_cap(limit="1"))
    reservations = _ledger(storage)
    first = reservations.reserve("t", {}, Decimal("0.3"))
    second = reservations.reserve("t", {}, Decimal("0.3"))
    assert first is not None and second is not None
    reservations.settle("t", first.id, _price("0.3"))
    storage.spend["provider"]["openai"] = Decimal("0.3")
    _prune_at_every_reservation(reservations)
    third = reservations.reserve("t", {}, Decimal("0.1"))  # a prune: 0.3 settled, 0.3 stored, but second holds it
    assert third is not None
    reservations.settle("t", second.id, _price("0.3"))
    reservations.settle("t", third.id, _price("0.1"))
    with pytest.raises(Blocked) as blocked:  # 0.7 spent: the second and third built on the first
        reservations.reserve("t", {}, Decimal("0.31"))
    assert blocked.value.caps[0][2] == Decimal("0.7")


def test_a_ledger_full_of_amounts_storage_never_shows_refuses_then_recovers() -> None:
    storage = Storage(_cap("each_customer", limit="1000", period="total"))
    reservations = _ledger(storage, max_settled=10)
    for i in range(10):
        held = reservations.reserve("t", {"customer": f"c{i}"}, Decimal("0.02"))
        assert held is not None and reservations.settle("t", held.id, _price("0.01")) is not None
    with pytest.raises(TooManyReservations, match="spans"):
        reservations.reserve("t", {"customer": "c10"}, Decimal("0.02"))
    for i in range(10):
        storage.spend["customer"][f"c{i}"] = Decimal("0.01")
    assert reservations.reserve("t", {"customer": "c10"}, Decimal("0.02")) is not None


def test_running_sums_stay_exact_through_reserve_settle_release_and_expiry() -> None:
    storage = Storage(_cap(limit="100000"), _cap("customer", "100000", cap_id="cap_0000000000000002", value="acme"))
    reservations = _ledger(storage, ttl_s=0.05)
    rng = random.Random(7)
    opened: list[str] = []
    for step in range(3_000):
        action = rng.random()
        if action < 0.5 or not opened:
            amount = Decimal(rng.randint(1, 10_000)) / 10_000
            held = reservations.reserve("t", {"customer": rng.choice(["acme", "other"])}, amount)
            assert held is not None
            opened.append(held.id)
        elif action < 0.75:
            reservations.settle("t", opened.pop(rng.randrange(len(opened))), _price("0.0001"))
        else:
            reservations.release("t", opened.pop(rng.randrange(len(opened))))
        if step % 500 == 0:
            time.sleep(0.06)  # the ones open now expire
        _consistent(reservations)
    time.sleep(0.06)
    assert reservations.open_reservations("t") == (0, Decimal(0))
    _consistent(reservations)


def test_admission_does_not_walk_the_open_reservations() -> None:
    storage = Storage(_cap(limit="100000"))
    reservations = _ledger(storage, max_open=50_000, spend_ttl_s=60)
    for _ in range(20_000):
        assert reservations.reserve("t", {}, Decimal("0.001")) is not None
    started = time.perf_counter()
    for _ in range(2_000):
        reservations.reserve("t", {}, Decimal("0.001"))
    # Walking 20,000 open reservations per admission takes seconds here; a look-up per cap, milliseconds.
    assert time.perf_counter() - started < 1.0
    assert reservations.open_reservations("t") == (22_000, Decimal("22"))
