"""The cap status cache: one computation serves every poller of a tenant until that tenant's
spans are written (or ``ttl`` passes), and concurrent pollers compute once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

from llmobserve.caps import CapStatus, StatusCache
from llmobserve.control import ControlStore, StoredCap, default_url

_T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _cap(cap_id: str = "cap_1", limit: str = "1") -> StoredCap:
    return StoredCap(
        cap_id, "n", "global", "", "daily", "UTC", Decimal(limit), (Decimal(1),), "alert", (), (), True, _T0, _T0
    )


class Counter:
    def __init__(self, spend: str = "0.5") -> None:
        self.calls = 0
        self.spend = Decimal(spend)

    def __call__(self, caps: list[StoredCap]):  # noqa: ANN204
        def compute() -> list[CapStatus]:
            self.calls += 1
            return [CapStatus(c, _T0, None, self.spend) for c in caps]

        return compute


def _written(*tenants: str) -> pa.Table:
    return pa.table({"tenant": list(tenants)})


def test_polls_share_one_answer_until_the_tenant_writes() -> None:
    cache, compute, caps = StatusCache(ttl=60), Counter(), [_cap()]
    for _ in range(5):
        assert cache.statuses("a", caps, compute(caps))[0].spend == Decimal("0.5")
    assert compute.calls == 1
    cache.note_write(_written("b"))  # another tenant's spans change nothing here
    cache.statuses("a", caps, compute(caps))
    assert compute.calls == 1
    compute.spend = Decimal("0.9")
    cache.note_write(_written("b", "a"))
    assert cache.statuses("a", caps, compute(caps))[0].spend == Decimal("0.9")
    assert compute.calls == 2


def test_changed_caps_and_time_recompute() -> None:
    now = [1000.0]
    cache, compute = StatusCache(ttl=1.0, clock=lambda: now[0]), Counter()
    cache.statuses("a", [_cap()], compute([_cap()]))
    cache.statuses("a", [_cap(limit="2")], compute([_cap(limit="2")]))  # an edited cap is another question
    assert compute.calls == 2
    now[0] += 0.5
    cache.statuses("a", [_cap(limit="2")], compute([_cap(limit="2")]))
    assert compute.calls == 2
    now[0] += 0.6  # older than ttl: another process may have written
    cache.statuses("a", [_cap(limit="2")], compute([_cap(limit="2")]))
    assert compute.calls == 3
    now[0] -= 86_400  # a clock set back a day is not a fresh answer
    cache.statuses("a", [_cap(limit="2")], compute([_cap(limit="2")]))
    assert compute.calls == 4


def test_a_write_during_a_computation_is_not_hidden_by_its_answer() -> None:
    cache, caps = StatusCache(ttl=60), [_cap()]
    calls = []

    def slow() -> list[CapStatus]:
        calls.append(1)
        if len(calls) == 1:
            cache.note_write(_written("a"))  # spans land while the spend is being read
        return [CapStatus(caps[0], _T0, None, Decimal(len(calls)))]

    assert cache.statuses("a", caps, slow)[0].spend == 1
    assert cache.statuses("a", caps, slow)[0].spend == 2  # the first answer was not kept


def test_concurrent_pollers_compute_once() -> None:
    cache, caps = StatusCache(ttl=60), [_cap()]
    started, calls = threading.Event(), []

    def compute() -> list[CapStatus]:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return [CapStatus(caps[0], _T0, None, Decimal(1))]

    results: list[list[CapStatus]] = []
    threads = [threading.Thread(target=lambda: results.append(cache.statuses("a", caps, compute))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 8


def test_the_number_of_tenants_kept_is_bounded() -> None:
    cache, compute = StatusCache(ttl=60, max_tenants=10), Counter()
    for i in range(1000):
        cache.statuses(f"t{i}", [_cap()], compute([_cap()]))
    assert len(cache._entries) == 10 and len(cache._generation) <= 30 and len(cache._computing) <= 30


def test_the_api_reads_storage_once_for_many_polls_and_again_after_a_write(tmp_path) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from llmobserve.query_api import Services, create_app
    from llmobserve.storage import Store, StoreConfig, spans_table
    from tests.span_rows import span

    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    try:
        key, _ = control.create_key("acme", ("admin",))
        services = Services.build(store, control, caps_clock=lambda: datetime.now(UTC))
        app = create_app(services)
        auth = {"authorization": f"Bearer {key}"}
        with TestClient(app) as client:
            made = client.post(
                "/api/v1/caps",
                headers=auth,
                json={"name": "daily", "scope": "global", "period": "daily", "limit_usd": "1"},
            )
            assert made.status_code == 201, made.text
            for _ in range(20):  # twenty SDK processes polling
                assert client.get("/api/v1/caps/status", headers=auth).json()["caps"][0]["spend_usd"] == "0"
            assert client.get("/api/v1/caps/check", headers=auth).json()["allowed"] is True
            assert services.cap_statuses.computed == 1
            store.insert_spans(spans_table([span("a1", "b1", datetime.now(UTC), "0.25")]))
            assert client.get("/api/v1/caps/status", headers=auth).json()["caps"][0]["spend_usd"] == "0.25"
            assert services.cap_statuses.computed == 2
    finally:
        store.close()
