"""Group commit and backpressure on a real embedded store, through the real gRPC server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from google.rpc.error_details_pb2 import RetryInfo

from llmobserve.control import Authenticator
from llmobserve.otlp_receiver import Batcher, Overloaded, Receiver, TenantRules
from llmobserve.otlp_receiver._decode import decode_request
from llmobserve.pricing import Pricer
from llmobserve.storage import Store, StoreConfig, spans_table
from tests.otlp_helpers import chat_attrs, grpc_export, request, span


class GatedStore(Store):
    """A real store whose inserts wait for a gate, to hold the writer busy on demand."""

    gate: threading.Event
    entered: threading.Event

    def insert_spans(self, table):  # type: ignore[no-untyped-def]
        self.entered.set()
        self.gate.wait(30)
        return super().insert_spans(table)


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    opened = Store.open(StoreConfig(tmp_path_factory.mktemp("bp") / "data"))
    gated = GatedStore(opened.client, opened.config)
    yield gated
    gated.close()


def _rows(n: int, tenant: str = "bp"):  # type: ignore[no-untyped-def]
    rows = decode_request(
        request(*[span(attrs=chat_attrs("openai", "gpt-4o", 10, 10)) for _ in range(n)]), TenantRules(tenant), Pricer()
    ).rows
    return spans_table(rows)


def test_requests_waiting_during_an_insert_share_the_next_one(store) -> None:  # type: ignore[no-untyped-def]
    store.gate, store.entered = threading.Event(), threading.Event()
    batcher = Batcher(store)
    batcher.start()
    try:
        first = batcher.submit(_rows(3, "gc"))
        assert store.entered.wait(10)
        waiting = [batcher.submit(_rows(2, "gc")) for _ in range(10)]
        assert not any(f.done() for f in [first, *waiting])  # nothing acknowledged before its write
        store.gate.set()
        assert first.result(10) == 3 and [f.result(10) for f in waiting] == [2] * 10
        assert batcher.stats.inserts == 2 and batcher.stats.rows_written == 23
        assert store.span_count("gc") == 23
    finally:
        store.gate.set()
        batcher.stop()


def test_full_queue_refuses_with_overloaded_then_recovers(store) -> None:  # type: ignore[no-untyped-def]
    store.gate, store.entered = threading.Event(), threading.Event()
    batcher = Batcher(store, max_pending_rows=10)
    batcher.start()
    try:
        first = batcher.submit(_rows(8, "ov"))
        assert store.entered.wait(10)
        with pytest.raises(Overloaded):
            batcher.submit(_rows(8, "ov"))
        store.gate.set()
        first.result(10)
        batcher.submit(_rows(8, "ov")).result(10)
        assert batcher.stats.rejected_overload == 1 and store.span_count("ov") == 16
    finally:
        store.gate.set()
        batcher.stop()


def test_grpc_answers_unavailable_with_retry_info_when_full(store, control) -> None:  # type: ignore[no-untyped-def]
    store.gate, store.entered = threading.Event(), threading.Event()
    key, _ = control.create_key("grpc-overload")
    receiver = Receiver(store, Authenticator(control.lookup_key), max_pending_rows=10)
    port = receiver.start("127.0.0.1", 0)
    target = f"127.0.0.1:{port}"
    body = request(*[span(attrs=chat_attrs("openai", "gpt-4o", 10, 10)) for _ in range(8)]).SerializeToString()
    try:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(grpc_export, target, key, body)
            assert store.entered.wait(10)
            with pytest.raises(grpc.RpcError) as caught:
                grpc_export(target, key, body)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            info = dict(caught.value.trailing_metadata())["google.rpc.retryinfo-bin"]
            assert RetryInfo.FromString(info).retry_delay.seconds == 1
            store.gate.set()
            assert first.result(10).partial_success.rejected_spans == 0
        assert store.span_count("grpc-overload") == 8
    finally:
        store.gate.set()
        receiver.stop()


def test_stop_writes_everything_already_queued(store) -> None:  # type: ignore[no-untyped-def]
    store.gate, store.entered = threading.Event(), threading.Event()
    store.gate.set()
    batcher = Batcher(store)
    batcher.start()
    futures = [batcher.submit(_rows(5, "drain")) for _ in range(4)]
    batcher.stop()
    assert all(f.result(0) == 5 for f in futures)
    assert store.span_count("drain") == 20
