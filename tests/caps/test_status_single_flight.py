"""The cap status cache during steady ingest: one computation per tenant at a time, waiters take its
answer, a stale answer is handed out while one caller refreshes it, and writes cost a tenant at most
one computation per ``ttl`` however many processes poll. The last test does it for real: an OTLP
exporter writing spans through the receiver while 8 threads poll ``GET /api/v1/caps/status``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from llmobserve.caps import CapStatus, StatusCache
from llmobserve.control import ControlStore, StoredCap, default_url

_T0 = datetime(2026, 11, 1, tzinfo=UTC)
_CAP = StoredCap("cap_1", "n", "global", "", "daily", "UTC", Decimal(1), (Decimal(1),), "alert", (), (), True, _T0, _T0)


def _written(tenant: str = "a") -> pa.Table:
    return pa.table({"tenant": [tenant]})


class Storage:
    """A tenant's spend as ``compute`` reads it: each computation counts, may be held on a gate, and
    answers the number of writes it saw when it started."""

    def __init__(self, cache: StatusCache) -> None:
        self.cache = cache
        self.writes = 0
        self.calls = 0
        self.gate: threading.Event | None = None
        self.entered = threading.Event()
        self.delay = 0.0

    def write(self) -> None:
        self.writes += 1
        self.cache.note_write(_written())

    def compute(self) -> list[CapStatus]:
        self.calls += 1
        seen = self.writes
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        return [CapStatus(_CAP, _T0, None, Decimal(seen))]

    def ask(self) -> Decimal:
        return self.cache.statuses("a", [_CAP], self.compute)[0].spend


def _in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(target()), daemon=True)
    thread.start()
    return thread, out


def test_waiters_take_the_answer_of_the_computation_they_waited_for() -> None:
    cache = StatusCache(ttl=60)
    storage = Storage(cache)
    storage.gate = threading.Event()
    first, first_out = _in_thread(storage.ask)
    assert storage.entered.wait(10)
    waiters = [_in_thread(storage.ask) for _ in range(7)]
    time.sleep(0.1)  # the seven are queued behind the computation
    for _ in range(5):
        storage.write()  # steady ingest: writes land while it reads
    storage.gate.set()
    for thread, _ in [(first, first_out), *waiters]:
        thread.join(10)
    answers = first_out + [out[0] for _, out in waiters if out]
    assert answers == [Decimal(0)] * 8
    assert cache.computed == storage.calls == 1


def test_a_stale_answer_is_handed_out_at_once_while_one_caller_refreshes() -> None:
    now = [1000.0]
    cache = StatusCache(ttl=1.0, clock=lambda: now[0])
    storage = Storage(cache)
    assert storage.ask() == 0
    storage.write()
    storage.gate, storage.entered = threading.Event(), threading.Event()
    refresher, refreshed = _in_thread(storage.ask)
    assert storage.entered.wait(10)
    started = time.monotonic()
    assert [storage.ask() for _ in range(20)] == [Decimal(0)] * 20  # nobody waits for the refresh
    assert time.monotonic() - started < 1.0 and storage.calls == 2
    storage.gate.set()
    refresher.join(10)
    assert refreshed == [Decimal(1)]  # the refresher gets what it read
    assert storage.ask() == 1 and cache.computed == 2


def test_writes_cost_a_tenant_at_most_one_computation_per_ttl() -> None:
    now = [1000.0]
    cache = StatusCache(ttl=1.0, clock=lambda: now[0])
    storage = Storage(cache)
    assert storage.ask() == 0
    storage.write()
    assert storage.ask() == 1  # after a quiet spell, the next answer includes the write
    assert cache.computed == 2
    for step in range(9):  # steady ingest: a write every 0.1 s, polled in between
        now[0] += 0.1
        storage.write()
        assert storage.ask() == 1, step  # read again for writes 0.9 s ago: kept
    assert cache.computed == 2
    now[0] += 0.1  # a second old: read again
    assert storage.ask() == 10 and cache.computed == 3
    now[0] += 0.5
    storage.write()
    assert storage.ask() == 10 and cache.computed == 3


def test_an_answer_two_ttl_old_is_not_handed_out_even_while_refreshing() -> None:
    now = [1000.0]
    cache = StatusCache(ttl=1.0, clock=lambda: now[0])
    storage = Storage(cache)
    assert storage.ask() == 0
    storage.write()
    now[0] += 2.0
    storage.gate, storage.entered = threading.Event(), threading.Event()
    refresher, _ = _in_thread(storage.ask)
    assert storage.entered.wait(10)
    waiter, waited = _in_thread(storage.ask)
    waiter.join(0.2)
    assert waiter.is_alive()  # it waits for the computation rather than take a two-second-old answer
    storage.gate.set()
    refresher.join(10)
    waiter.join(10)
    assert waited == [Decimal(1)] and cache.computed == 2


def test_a_failed_computation_fails_its_waiters_and_the_next_caller_tries_again() -> None:
    cache = StatusCache(ttl=60)
    gate, entered = threading.Event(), threading.Event()

    def failing() -> list[CapStatus]:
        entered.set()
        assert gate.wait(10)
        raise RuntimeError("storage is down")

    errors: list[BaseException] = []

    def ask() -> None:
        try:
            cache.statuses("a", [_CAP], failing)
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    threads[0].start()
    assert entered.wait(10)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.1)
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 4 and cache.computed == 1
    assert cache.statuses("a", [_CAP], lambda: [CapStatus(_CAP, _T0, None, Decimal(7))])[0].spend == 7
    assert not cache._computing


def test_8_pollers_during_steady_ingest_compute_once_per_refresh() -> None:
    ttl = 0.2
    cache = StatusCache(ttl=ttl)
    storage = Storage(cache)
    storage.delay = 0.005
    stop = threading.Event()
    polls = [0] * 8
    answered = [0] * 8

    def writer() -> None:
        while not stop.is_set():
            storage.write()
            time.sleep(0.001)

    def poller(i: int) -> None:
        while not stop.is_set():
            polls[i] += 1
            if storage.ask() >= 0:
                answered[i] += 1
            time.sleep(0.002)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=poller, args=(i,)) for i in range(8))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(10)
    elapsed = time.monotonic() - started
    assert all(answered) and answered == polls
    assert cache.computed <= elapsed / ttl + 2, (cache.computed, sum(polls))
    assert cache.computed * 20 < sum(polls)


# ---- live: a real OTLP exporter and 8 threads polling the API over HTTP ---------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, str, str, StatusCache]]:
    """(API URL, gRPC target, a tenant's key, the API's status cache): receiver and API in this process,
    so the test can read how often the cache computed."""
    import uvicorn

    from llmobserve.control import Authenticator
    from llmobserve.otlp_receiver import Receiver
    from llmobserve.query_api import Services, create_app
    from llmobserve.storage import Store, StoreConfig

    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    authenticator = Authenticator(control.lookup_key)
    receiver = Receiver(store, authenticator)
    grpc_port = receiver.start("127.0.0.1", 0)
    services = Services.build(store, control, authenticator)
    http_port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=http_port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    key, _ = control.create_key("steady", ("ingest", "read", "admin"))
    url = f"http://127.0.0.1:{http_port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url, f"127.0.0.1:{grpc_port}", key, services.cap_statuses
    finally:
        server.should_exit = True
        thread.join(10)
        receiver.stop()
        store.close()


def test_live_steady_ingest_and_8_polling_threads(live: tuple[str, str, str, StatusCache]) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    url, target, key, cache = live
    auth = {"authorization": f"Bearer {key}"}
    made = httpx.post(
        f"{url}/api/v1/caps",
        headers=auth,
        json={"name": "daily", "scope": "global", "period": "daily", "limit_usd": "1000"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    provider = TracerProvider(resource=Resource.create({"service.name": "steady"}))
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=target, insecure=True, headers={"authorization": f"Bearer {key}"})
        )
    )
    tracer = provider.get_tracer("steady")
    stop = threading.Event()
    polls: list[list[str]] = [[] for _ in range(8)]

    def ingest() -> None:
        while not stop.is_set():
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attributes(
                    {
                        "gen_ai.operation.name": "chat",
                        "gen_ai.provider.name": "openai",
                        "gen_ai.request.model": "gpt-4o-mini",
                        "gen_ai.usage.input_tokens": 1000,
                        "gen_ai.usage.output_tokens": 100,
                    }
                )

    def poll(i: int) -> None:
        with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
            while not stop.is_set():
                answer = client.get("/api/v1/caps/status")
                assert answer.status_code == 200, answer.text
                polls[i].append(answer.json()["caps"][0]["spend_usd"])

    writer = threading.Thread(target=ingest)
    writer.start()
    deadline = time.monotonic() + 10
    while httpx.get(f"{url}/api/v1/caps/status", headers=auth, timeout=30).json()["caps"][0]["spend_usd"] == "0":
        assert time.monotonic() < deadline, "no span was written"
        time.sleep(0.05)
    before = cache.computed
    pollers = [threading.Thread(target=poll, args=(i,)) for i in range(8)]
    started = time.monotonic()
    for thread in pollers:
        thread.start()
    time.sleep(4.0)
    stop.set()
    for thread in pollers:
        thread.join(30)
    elapsed = time.monotonic() - started
    writer.join(30)
    provider.shutdown()
    computed = cache.computed - before
    assert all(polls), [len(p) for p in polls]
    total = sum(len(p) for p in polls)
    assert computed <= elapsed / cache.ttl + 2, (computed, total)
    assert computed * 5 < total, (computed, total)
    spends = [Decimal(s) for s in polls[0]]
    assert spends == sorted(spends) and spends[-1] > spends[0]  # the answers follow the ingest
