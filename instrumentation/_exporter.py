"""The OTLP exporter behind a guard: an unreachable receiver costs the app one warning, never
an exception, a block or a log line per batch."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["QuietExporter", "EXPORTER_LOGGERS"]

log = logging.getLogger("llmobserve")

# The OTLP exporters log every failed attempt themselves; we report once instead.
EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http",
)


class _Silence(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False


class QuietExporter(SpanExporter):
    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self._inner = inner
        self._endpoint = endpoint
        self.unreachable = False
        """The last export failed (we warned once; we say so when it recovers)."""
        self.failed_batches = 0
        self.dropped_spans = 0
        for name in EXPORTER_LOGGERS:
            logging.getLogger(name).addFilter(_Silence())

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:  # an exporter bug must not reach the app's threads either
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.failed_batches += 1
            self.dropped_spans += len(spans)
            if not self.unreachable:
                self.unreachable = True
                log.warning(
                    "llmobserve: cannot deliver spans to %s (is the receiver running, and the API key "
                    "valid?); the app is unaffected, spans are dropped until it is reachable",
                    self._endpoint,
                )
        elif self.unreachable:
            self.unreachable = False
            log.info("llmobserve: delivering spans to %s again", self._endpoint)
        return result

    def shutdown(self) -> None:
        try:
            self._inner.shutdown()
        except Exception:
            pass

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        try:
            return self._inner.force_flush(timeout_millis)
        except Exception:
            return False
