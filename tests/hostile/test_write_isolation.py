"""Issue 10, item 1, at the group commit: whatever one request's rows do to an insert, the requests
sharing it are written and acknowledged; only the unwritable one fails, and finally."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from llmobserve.otlp_receiver import Batcher, StorageUnavailable, Unstorable
from llmobserve.storage import Store, StoreConfig, spans_table
from tests.span_rows import span

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


class HeldStore(Store):
    """A real store whose first insert waits until released, so requests queue up behind it."""

    release = threading.Event()
    entered = threading.Event()
    down = False

    def insert_spans(self, table: pa.Table) -> int:
        self.entered.set()
        self.release.wait(30)
        if self.down:
            raise ConnectionError("connection refused")
        return super().insert_spans(table)

    def ping(self) -> bool:
        return not self.down and super().ping()


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    opened = Store.open(StoreConfig(tmp_path / "data"))
    held = HeldStore(opened.client, opened.config)
    held.release, held.entered, held.down = threading.Event(), threading.Event(), False
    yield held
    held.close()


def _table(tenant: str, months: int = 1, count: int = 3, first: int = 0) -> pa.Table:
    """``count`` spans per month over ``months`` distinct months from ``first`` months ago: over 100
    months, no insert can hold them."""
    return spans_table(
        [
            span(f"{tenant}{m:03d}", f"{i + 1:x}", NOW - timedelta(days=31 * m), "0.01", tenant=tenant)
            for m in range(first, first + months)
            for i in range(count)
        ]
    )


def _months(table: pa.Table) -> frozenset[int]:
    return frozenset(t.year * 100 + t.month for t in table.column("start_time").to_pylist())


def _count(store: Store, tenant: str) -> int:
    return store.client.query(
        "SELECT count() FROM spans FINAL WHERE tenant = {t:String}", parameters={"t": tenant}
    ).result_rows[0][0]


def test_a_request_storage_refuses_fails_alone_and_finally(store: HeldStore) -> None:
    batcher = Batcher(store, max_batch_months=1000)  # let the bad one share the insert
    batcher.start()
    try:
        first = batcher.submit(_table("first"))
        assert store.entered.wait(10)
        poison = _table("poison", months=101, count=1)
        queued = [batcher.submit(_table(f"ok{i}")) for i in range(3)]
        bad = batcher.submit(poison, months=_months(poison))
        queued += [batcher.submit(_table(f"ok{i}")) for i in range(3, 6)]
        store.release.set()
        assert first.result(30) == 3 and [f.result(30) for f in queued] == [3] * 6
        with pytest.raises(Unstorable, match="storage refused these spans"):
            bad.result(30)
        assert batcher.stats.split_inserts == 1 and batcher.stats.unstorable_requests == 1
        assert [_count(store, f"ok{i}") for i in range(6)] == [3] * 6 and _count(store, "poison") == 0
    finally:
        store.release.set()
        batcher.stop()


def test_a_batch_never_spans_more_months_than_allowed(store: HeldStore) -> None:
    batcher = Batcher(store, max_batch_months=4)
    batcher.start()
    try:
        first = batcher.submit(_table("warm"))
        assert store.entered.wait(10)
        tables = [_table(f"m{i}", months=3, count=1, first=3 * i) for i in range(6)]  # 18 distinct months
        futures = [batcher.submit(t, months=_months(t)) for t in tables]
        store.release.set()
        assert first.result(30) == 3 and [f.result(30) for f in futures] == [3] * 6
        assert batcher.stats.inserts == 1 + 6 and batcher.stats.failed_inserts == 0  # 3 + 3 months > 4
    finally:
        store.release.set()
        batcher.stop()


def test_an_outage_is_retryable_for_everyone(store: HeldStore) -> None:
    batcher = Batcher(store)
    batcher.start()
    try:
        first = batcher.submit(_table("first"))
        assert store.entered.wait(10)
        store.down = True
        queued = [batcher.submit(_table(f"ok{i}")) for i in range(3)]
        store.release.set()
        for future in [first, *queued]:
            with pytest.raises(StorageUnavailable):
                future.result(30)
    finally:
        store.release.set()
        batcher.stop()
