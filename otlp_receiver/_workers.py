"""Decoding in worker processes, so ingest uses every core instead of one GIL.

Decoding, normalizing, pricing and building Arrow cost ~20 µs of pure Python per span; in one
process that work serialises on the GIL next to gRPC and the writer (measured: ~30k spans/s at
most on 2 cores). Workers receive the raw request bytes and return the span table as Arrow IPC;
the main process only authenticates, routes and writes.

Workers are spawned, not forked: the parent runs gRPC and chDB threads, and fork copies none of
them safely. They import no storage engine (no chDB), ~100 MB each.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

import pyarrow as pa
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from setproctitle import setthreadtitle

from llmobserve.pricing import Pricer
from llmobserve.storage import spans_table

from ._decode import decode_request
from ._exceptions import BadPayload, Overloaded
from ._rules import TenantRules

__all__ = ["DecodePool", "DecodedTable", "decode_to_table"]

log = logging.getLogger("llmobserve.receiver")

_EMPTY = pa.table({})


@dataclass(frozen=True, slots=True)
class DecodedTable:
    table: pa.Table
    accepted: int
    rejected: int
    error_message: str
    months: frozenset[int] = frozenset()  # partitions the rows land in
    clock_skewed: int = 0
    skewed_services: frozenset[str] = frozenset()


def decode_to_table(body: bytes, rules: TenantRules, pricer: Pricer) -> DecodedTable:
    """Raw ExportTraceServiceRequest bytes → the span table (in-process path and worker body)."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, RecursionError) as exc:
        raise BadPayload(f"body is not an OTLP ExportTraceServiceRequest: {exc}") from exc
    decoded = decode_request(request, rules, pricer)
    return DecodedTable(
        spans_table(decoded.rows),
        decoded.accepted,
        decoded.rejected,
        decoded.error_message(),
        frozenset(decoded.months),
        decoded.clock_skewed,
        frozenset(decoded.skewed_services),
    )


_worker_pricer: Pricer | None = None
# A decode that runs longer is stuck (no valid request needs it: 100k spans take ~2 s); the kernel
# ends the worker, so it cannot stall others for good, and the pool is replaced.
DECODE_DEADLINE_S = 30


def _warm_up_request() -> bytes:
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span

    attributes = [
        KeyValue(key="gen_ai.provider.name", value=AnyValue(string_value="openai")),
        KeyValue(key="gen_ai.request.model", value=AnyValue(string_value="gpt-4o")),
        KeyValue(key="gen_ai.usage.input_tokens", value=AnyValue(int_value=1)),
    ]
    span = Span(
        trace_id=b"\x01" * 16,
        span_id=b"\x01" * 8,
        name="chat gpt-4o",
        attributes=attributes,
        start_time_unix_nano=time.time_ns(),
        end_time_unix_nano=time.time_ns(),
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])]
    ).SerializeToString()


def _exit_with_parent(parent: int) -> None:
    """Workers must not outlive ``serve``, however it dies (SIGKILL included): once the parent is
    gone this process is re-parented, which ``getppid`` shows."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _init_worker(parent: int) -> None:
    """``parent`` comes from the parent itself: had it died while this worker was still starting,
    ``getppid`` here would already name the new parent."""
    global _worker_pricer
    if _worker_pricer is not None:
        return
    setthreadtitle("llmo-decode")
    threading.Thread(target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True).start()
    _worker_pricer = Pricer()
    # The catalogue, Arrow and IPC load on first use (~0.5 s): pay that here, not in a request's deadline.
    _decode_in_worker(_warm_up_request(), TenantRules("warm-up"), 60.0)


def _decode_in_worker(body: bytes, rules: TenantRules, deadline: float) -> tuple[bytes, DecodedTable] | str:
    assert _worker_pricer is not None
    signal.setitimer(signal.ITIMER_REAL, deadline)  # SIGALRM's default action ends the process
    try:
        result = decode_to_table(body, rules, _worker_pricer)
    except BadPayload as exc:
        return str(exc)  # a plain value: exceptions pickle poorly across processes
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.table.schema) as writer:
        writer.write_table(result.table)
    # The table travels as Arrow IPC (cheap); the rest of the result as itself.
    return sink.getvalue().to_pybytes(), replace(result, table=_EMPTY)


class DecodePool:
    """A pool of decode processes; ``decode`` blocks the calling thread, not the GIL."""

    def __init__(self, processes: int, deadline: float = DECODE_DEADLINE_S) -> None:
        self.processes = processes
        self.deadline = deadline
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    def warm_up(self) -> None:
        """Start every worker now (imports take ~0.5 s) rather than on the first exports."""
        futures = [self._pool.submit(_init_worker, os.getpid()) for _ in range(self.processes)]
        for future in futures:
            future.result(timeout=120)

    def decode(self, body: bytes, rules: TenantRules) -> DecodedTable:
        pool = self._pool
        try:
            outcome = pool.submit(_decode_in_worker, body, rules, self.deadline).result()
        except BrokenProcessPool as exc:  # a worker died (e.g. killed for memory): replace the pool
            with self._lock:
                if self._pool is pool:
                    log.error("a decode worker died; restarting the pool")
                    self._pool = self._new_pool()
            raise Overloaded("a decode worker restarted") from exc
        if isinstance(outcome, str):
            raise BadPayload(outcome)
        ipc, result = outcome
        return replace(result, table=pa.ipc.open_stream(ipc).read_all())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
