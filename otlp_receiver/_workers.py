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
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import pyarrow as pa
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmobserve.pricing import CustomPrices, Pricer
from llmobserve.storage import spans_table

from ._decode import decode_request
from ._exceptions import BadPayload, Overloaded

__all__ = ["DecodePool", "DecodedTable", "decode_to_table"]

log = logging.getLogger("llmobserve.receiver")


@dataclass(frozen=True, slots=True)
class DecodedTable:
    table: pa.Table
    accepted: int
    rejected: int
    error_message: str


def decode_to_table(body: bytes, tenant: str, pricer: Pricer, custom: CustomPrices | None = None) -> DecodedTable:
    """Raw ExportTraceServiceRequest bytes → the span table (in-process path and worker body)."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError as exc:
        raise BadPayload(f"body is not an OTLP ExportTraceServiceRequest: {exc}") from exc
    decoded = decode_request(request, tenant, pricer, custom)
    return DecodedTable(spans_table(decoded.rows), decoded.accepted, decoded.rejected, decoded.error_message())


_worker_pricer: Pricer | None = None


def _init_worker() -> None:
    global _worker_pricer
    _worker_pricer = Pricer()


def _decode_in_worker(body: bytes, tenant: str, custom: CustomPrices | None) -> tuple[bytes, int, int, str] | str:
    assert _worker_pricer is not None
    try:
        result = decode_to_table(body, tenant, _worker_pricer, custom)
    except BadPayload as exc:
        return str(exc)  # a plain value: exceptions pickle poorly across processes
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, result.table.schema) as writer:
        writer.write_table(result.table)
    return sink.getvalue().to_pybytes(), result.accepted, result.rejected, result.error_message


class DecodePool:
    """A pool of decode processes; ``decode`` blocks the calling thread, not the GIL."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._lock = threading.Lock()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker)

    def warm_up(self) -> None:
        """Start every worker now (imports take ~0.5 s) rather than on the first exports."""
        futures = [self._pool.submit(_init_worker) for _ in range(self.processes)]
        for future in futures:
            future.result(timeout=120)

    def decode(self, body: bytes, tenant: str, custom: CustomPrices | None = None) -> DecodedTable:
        pool = self._pool
        try:
            outcome = pool.submit(_decode_in_worker, body, tenant, custom).result()
        except BrokenProcessPool as exc:  # a worker died (e.g. killed for memory): replace the pool
            with self._lock:
                if self._pool is pool:
                    log.error("a decode worker died; restarting the pool")
                    self._pool = self._new_pool()
            raise Overloaded("a decode worker restarted") from exc
        if isinstance(outcome, str):
            raise BadPayload(outcome)
        ipc, accepted, rejected, message = outcome
        return DecodedTable(pa.ipc.open_stream(ipc).read_all(), accepted, rejected, message)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
