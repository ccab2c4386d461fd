"""App side, run inside a framework's own venv (OTel SDK + OTLP/HTTP exporter only, no llmobserve):
a tracer provider exporting to ``$RECEIVER/v1/traces`` with ``Authorization: Bearer $KEY``.

``DUMP=<file>`` also writes every finished span as one JSON line (name, ids, kind, times, status, scope,
attributes, resource), which is how ``SPAN_SHAPES.md`` was written; leave ``RECEIVER`` empty to only dump.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter, SpanExportResult


class _JsonLines(SpanExporter):
    def __init__(self, path: str) -> None:
        self._path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self._path, "a") as out:
            for s in spans:
                ctx, parent = s.get_span_context(), s.parent
                out.write(
                    json.dumps(
                        {
                            "name": s.name,
                            "trace_id": f"{ctx.trace_id:032x}",
                            "span_id": f"{ctx.span_id:016x}",
                            "parent_id": f"{parent.span_id:016x}" if parent else None,
                            "kind": s.kind.name,
                            "start_time_unix_nano": s.start_time,
                            "end_time_unix_nano": s.end_time,
                            "status": s.status.status_code.name,
                            "scope": s.instrumentation_scope.name if s.instrumentation_scope else None,
                            "attributes": dict(s.attributes or {}),
                            "resource": dict(s.resource.attributes),
                        },
                        default=str,
                    )
                    + "\n"
                )
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def setup(service: str, set_global: bool = True) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    receiver = os.environ.get("RECEIVER", "")
    if receiver:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=f"{receiver}/v1/traces", headers={"authorization": f"Bearer {os.environ['KEY']}"}, timeout=30
        )
        # One export at force_flush: a whole run arrives in one request, as a real app's batch would.
        provider.add_span_processor(
            BatchSpanProcessor(exporter, schedule_delay_millis=60_000, max_export_batch_size=512)
        )
    if os.environ.get("DUMP"):
        provider.add_span_processor(SimpleSpanProcessor(_JsonLines(os.environ["DUMP"])))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def finish(provider: TracerProvider, summary: str) -> None:
    """Export everything, then print the line the test waits for."""
    assert provider.force_flush(30_000), "force_flush timed out"
    provider.shutdown()
    print(f"done: {summary}", flush=True)
