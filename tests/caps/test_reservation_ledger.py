"""The strict-mode ledger (in the control store: SQLite here) stays bounded and exact: settled amounts
are forgotten once their period is over or the stored spend has caught up with them, without losing
what they bridged; what open reservations hold is what they add up to; a ledger full of amounts
storage never catches up with refuses reservations rather than forget them."""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select

from llmobserve.caps import Blocked, Reservations, TooManyReservations
from llmobserve.control import ControlStore, StoredCap, default_url
from llmobserve.control._schema import RESERVATIONS
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
    """What the ledger reads of the span store: the stored spend per dimension."""

    def __init__(self) -> None:
        self.spend: dict[str, dict[str, Decimal]] = defaultdict(dict)  # dimension -> value -> spend

    def cap_spend(
        self, tenant: str, windows: list[tuple[datetime, datetime]], dims: list[str]
    ) -> list[dict[str, dict[str, Decimal]]]:
        return [{dim: dict(self.spend[dim]) for dim in dims} for _ in windows]


class Clock:
    def __init__(self) -> None:
        self.now = _T0

    def __call__(self) -> datetime:
        return self.now


def _ledger(
    control: ControlStore, *caps: StoredCap, clock: Clock | None = None, **options: Any
) -> tuple[Reservations, Storage]:
    for cap in caps:
        control.put_cap("t", cap)
    options.setdefault("spend_ttl_s", 0)
    options.setdefault("prune_from", _PRUNE_FROM)
    storage = Storage()
    return Reservations(cast(Store, storage), control, clock=clock or Clock(), **options), storage


_PRUNE_FROM = 64  # what the ledger keeps before its first prune (1,024 in the product): a short test


def _settled(control: ControlStore) -> dict[Any, Decimal]:
    return control.ledger("t", lambda tx: tx.all_settled())


def _price(cost: str) -> Any:
    return lambda provider, model: Decimal(cost)


def _consistent(control: ControlStore) -> None:
    """What the holds add up to is what the open reservations hold, and nothing is held by none."""

    def check(tx: Any) -> None:
        rows = tx.conn.execute(select(RESERVATIONS.c.amount, RESERVATIONS.c.holds)).all()
        expected: dict[Any, Decimal] = defaultdict(Decimal)
        for amount, holds in rows:
            for cap_id, subject, start, _ in holds:
                expected[(cap_id, subject, datetime.fromisoformat(start))] += Decimal(amount)
        held = tx.held(list(expected))
        assert held == {k: v for k, v in expected.items() if v}
        assert tx.held_holds() == set(expected)

    control.ledger("t", check)


def test_settled_amounts_storage_has_caught_up_with_are_forgotten(control: ControlStore) -> None:
    reservations, storage = _ledger(control, _cap("each_customer", limit="1000", period="total"))
    sizes = []
    for i in range(400):  # a total cap: its period never ends, every customer is a new subject
        customer = f"c{i}"
        held = reservations.reserve("t", {"customer": customer}, Decimal("0.02"))
        assert held is not None
        assert reservations.settle("t", held.id, _price("0.01")) == Decimal("0.01")
        storage.spend["customer"][customer] = Decimal("0.01")  # its span is stored
        sizes.append(len(_settled(control)))
    assert max(sizes) <= 2 * _PRUNE_FROM
    assert reservations.open_reservations("t") == (0, Decimal(0))
    assert control.ledger("t", lambda tx: tx.held_holds()) == set()


def test_settled_amounts_of_a_period_that_is_over_are_forgotten(control: ControlStore) -> None:
    clock = Clock()
    reservations, _ = _ledger(control, _cap("each_customer", limit="1000"), clock=clock)
    for day in range(4):
        clock.now = _T0 + timedelta(days=day)
        for i in range(100):  # spans never stored: only the period's end makes them go
            held = reservations.reserve("t", {"customer": f"c{i}"}, Decimal("0.02"))
            assert held is not None and reservations.settle("t", held.id, _price("0.01")) is not None
    settled = _settled(control)
    assert len(settled) <= 2 * _PRUNE_FROM + 100 and {hold[2] for hold in settled} <= {
        datetime(2026, 11, 30, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    }


def _prune_at_every_reservation(reservations: Reservations, tenant: str = "t") -> None:
    reservations._prune_at[tenant] = 0


def test_a_forgotten_amount_leaves_nothing_uncounted(control: ControlStore) -> None:
    reservations, storage = _ledger(control, _cap(limit="1"))
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
            assert _settled(control) == {
                ("cap_0000000000000001", "", datetime(2026, 11, 28, tzinfo=UTC)): Decimal("0.6")
            }
    assert admitted == 10  # never an eleventh: the stored $0.50 plus the five settled since


def test_an_amount_an_open_reservation_holds_is_kept(control: ControlStore) -> None:
    reservations, storage = _ledger(control, _cap(limit="1"))
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


def test_a_ledger_full_of_amounts_storage_never_shows_refuses_then_recovers(control: ControlStore) -> None:
    reservations, storage = _ledger(control, _cap("each_customer", limit="1000", period="total"), max_settled=10)
    for i in range(10):
        held = reservations.reserve("t", {"customer": f"c{i}"}, Decimal("0.02"))
        assert held is not None and reservations.settle("t", held.id, _price("0.01")) is not None
    with pytest.raises(TooManyReservations, match="spans"):
        reservations.reserve("t", {"customer": "c10"}, Decimal("0.02"))
    for i in range(10):
        storage.spend["customer"][f"c{i}"] = Decimal("0.01")
    assert reservations.reserve("t", {"customer": "c10"}, Decimal("0.02")) is not None


def test_running_sums_stay_exact_through_reserve_settle_release_and_expiry(control: ControlStore) -> None:
    clock = Clock()
    caps = (_cap(limit="100000"), _cap("customer", "100000", cap_id="cap_0000000000000002", value="acme"))
    reservations, _ = _ledger(control, *caps, clock=clock, ttl_s=60)
    rng = random.Random(7)
    opened: list[str] = []
    for step in range(600):
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
        if step % 150 == 0:
            clock.now += timedelta(seconds=61)  # the ones open now expire
        if step % 20 == 0:
            _consistent(control)
    clock.now += timedelta(seconds=61)
    assert reservations.open_reservations("t") == (0, Decimal(0))
    _consistent(control)


def test_two_processes_ledgers_admit_as_one(tmp_path: Path) -> None:
    """Two ``Reservations`` on one store (two API processes) racing for the last dollar of a cap:
    what they admit together never exceeds it."""
    url = default_url(tmp_path)
    stores = [ControlStore.open(url), ControlStore.open(url)]
    stores[0].put_cap("t", _cap(limit="1"))
    ledgers = [Reservations(cast(Store, Storage()), store, clock=Clock(), spend_ttl_s=0) for store in stores]
    admitted: list[Decimal] = []
    barrier = threading.Barrier(8)

    def caller(ledger: Reservations) -> None:
        barrier.wait()
        for _ in range(10):
            try:
                if ledger.reserve("t", {}, Decimal("0.03")) is not None:
                    admitted.append(Decimal("0.03"))
            except Blocked:
                pass

    threads = [threading.Thread(target=caller, args=(ledgers[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(admitted) == Decimal("0.99")  # 33 of the 80 attempts: the cap, never over it
    assert ledgers[1].open_reservations("t") == (33, Decimal("0.99"))
    for store in stores:
        store.close()
