#!/usr/bin/env python3
"""Issue 14's probe: what ingest costs when ClickHouse (embedded chDB) decodes and normalizes OTLP.

Runs the receiver's decode, validation and ``semconv`` normalization written as one ClickHouse
query (``bench/sql_stage``; spellings generated from ``semconv``'s tables) over raw request bodies
in envelopes, and prints for each insert size:

- decode only: ClickHouse reading every span and attribute and doing nothing else;
- analysis: the time ClickHouse spends analysing the query before reading a byte
  (``EXPLAIN QUERY TREE``), paid again by every insert;
- the whole insert into a staging table, and the spans/s it comes to;
- beside it, the floor of the current write: inserting the same spans, already decoded and
  priced by Python, as Arrow into ``spans``;

and last, the CPU that storage alone costs per span (inserts and the merges they cause), which
bounds any ingest path that writes the same table on this machine.

It first checks the SQL against the Python decoder (the oracle) on the load generator's traffic
and on spans in every convention ``semconv`` reads, odd values included, and prints the columns
where they differ (none expected) and how many spans the SQL leaves to Python (``rare``).

    python bench/sql_ingest_probe.py [--sizes 4096,16384,65536]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1 import common_pb2 as cp
from opentelemetry.proto.resource.v1 import resource_pb2 as rp
from opentelemetry.proto.trace.v1 import trace_pb2 as tp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen import build_requests, kv  # noqa: E402
from sql_stage.schema import ENVELOPE, SCHEMA, STRUCTURE, envelope  # noqa: E402
from sql_stage.stage import STAGE_DDL, stage_select  # noqa: E402

from llmobserve.otlp_receiver import _decode  # noqa: E402
from llmobserve.otlp_receiver._limits import Limits  # noqa: E402
from llmobserve.pricing import Pricer  # noqa: E402
from llmobserve.semconv import _attributes as a  # noqa: E402
from llmobserve.storage import SPAN_COLUMNS, Store, StoreConfig, spans_table  # noqa: E402

# The analyzer's AND-chain rewrite doubles analysis time here and changes no answer.
SETTINGS = {"optimize_and_compare_chain": 0, "short_circuit_function_evaluation": "disable"}
COMPARED = ("trace_id", "span_id", "parent_span_id", "name", "kind", "service", "scope", "duration_ns", "status_code",
            "status_message", "operation", "provider", "request_model", "response_model", "model", "agent",
            "section_path", "customer", "session", "tool", "is_llm", "input_tokens", "output_tokens",
            "cache_read_tokens", "cache_write_tokens", "reasoning_tokens", "is_batch", "http_status", "error_type",
            "span_attributes", "resource_attributes")


def mixed_requests(count: int, seed: int = 7) -> list[bytes]:
    """Spans in every convention semconv reads, with odd values: what the SQL must match or leave to Python."""
    rng = random.Random(seed)
    now = time.time_ns() - 3600 * 10**9
    keys = [*a.PROVIDER_KEYS, *a.REQUEST_MODEL_KEYS, *a.RESPONSE_MODEL_KEYS, *a.INPUT_TOKEN_KEYS, *a.OUTPUT_TOKEN_KEYS,
            *a.CACHE_READ_KEYS, *a.CACHE_WRITE_KEYS, *a.REASONING_KEYS, *a.CUSTOMER_KEYS, *a.SESSION_KEYS,
            *a.SECTION_KEYS, *a.SERVICE_TIER_KEYS, *a.HTTP_STATUS_KEYS, *a.CLIENT_COST_KEYS, a.GEN_AI_OPERATION_NAME,
            a.LLM_REQUEST_TYPE, a.OPENINFERENCE_SPAN_KIND, a.TRACELOOP_SPAN_KIND, a.AI_OPERATION_ID,
            a.GEN_AI_AGENT_NAME, a.TRACELOOP_ENTITY_NAME, a.AGENT_NAME, a.GRAPH_NODE_ID, a.AI_TELEMETRY_FUNCTION_ID,
            a.GEN_AI_TOOL_NAME, a.TOOL_NAME, a.AI_TOOL_CALL_NAME, a.LLMOBSERVE_BATCH, a.ERROR_TYPE,
            a.LLMOBSERVE_PRICED_BY, a.LLMOBSERVE_USAGE_CACHE_WRITE_1H, a.TRACELOOP_LANGGRAPH_NODE, "url.full"]
    values = ["openai", "OpenAI", "azure-openai.chat", "google.vertex.chat", "gcp.gemini", "xai", "mistral",
              "gpt-4o", "claude-3-5-sonnet-20241022", "LLM", "AGENT", "agent", "tool", "chat", "completion",
              "ai.generateText.doGenerate", "ai.toolCall", "ai.streamText", "agent:a/agent:b/tool:t", "node:x",
              "", "true", "1", "12", "0", "-3", "7.9", True, False, 0, 1, 42, 1500, 3.5, 0.25, 1e20, -0.0, 2.0,
              ["a", "b"], [1, 2], "https://api.example.test/v1?key=secret", "https://u:p@h/x", "https://h/x"]
    counts = {*a.INPUT_TOKEN_KEYS, *a.OUTPUT_TOKEN_KEYS, *a.CACHE_READ_KEYS, *a.CACHE_WRITE_KEYS, *a.REASONING_KEYS,
              *a.HTTP_STATUS_KEYS, a.LLMOBSERVE_USAGE_CACHE_WRITE_1H}
    texts = [v for v in values if isinstance(v, str) and "://" not in v]

    def typical(key: str) -> object:
        return rng.choice([0, 1, 42, 1500, 200, 429, "12"]) if key in counts else rng.choice(texts)

    out = []
    for r in range(count):
        spans = []
        for i in range(64):
            attrs = [kv(key, rng.choice(values) if rng.random() < 0.1 else typical(key))
                     for key in rng.sample(keys, rng.randint(2, 12))]
            start = now + rng.randint(0, 10**12)
            spans.append(tp.Span(trace_id=rng.randbytes(16), span_id=rng.randbytes(8),
                                 parent_span_id=rng.choice([b"", rng.randbytes(8)]), name=f"span {i}",
                                 kind=rng.randint(0, 5), start_time_unix_nano=start,
                                 end_time_unix_nano=start + rng.randint(0, 10**10), attributes=attrs,
                                 status=tp.Status(code=rng.randint(0, 2), message=rng.choice(["", "boom"]))))
        resource = rp.Resource(attributes=[kv("service.name", rng.choice(["svc", "", True])),
                                           kv(rng.choice(a.CUSTOMER_KEYS), rng.choice(["acme", ""]))])
        out.append(ExportTraceServiceRequest(resource_spans=[tp.ResourceSpans(resource=resource, scope_spans=[
            tp.ScopeSpans(scope=cp.InstrumentationScope(name=f"scope{r}"), spans=spans)])]).SerializeToString())
    return out


class Probe:
    def __init__(self, tmp: str, store: Store) -> None:
        self.tmp = Path(tmp)
        self.client = store.client  # chDB opens one data dir per process
        (self.tmp / "otlp.proto").write_text(SCHEMA)
        self.settings = {**SETTINGS, "format_schema": f"{self.tmp / 'otlp.proto'}:{ENVELOPE}"}
        self.client.command(STAGE_DDL.format(name="stage"))
        self.limits = Limits()

    def write(self, bodies: list[bytes]) -> Path:
        path = self.tmp / "batch.bin"
        path.write_bytes(b"".join(envelope("t1", i, body) for i, body in enumerate(bodies)))
        return path

    def decode_only(self, bodies: list[bytes]) -> float:
        """Seconds for ClickHouse to read every span and attribute of the bodies, doing nothing else."""
        path = self.write(bodies)
        started = time.perf_counter()
        self.client.query(f"SELECT count(), sum(length(s.attributes)) FROM file('{path}', 'Protobuf', '{STRUCTURE}') "
                          "ARRAY JOIN body.resource_spans AS rs ARRAY JOIN rs.scope_spans AS ss ARRAY JOIN ss.spans AS s",
                          settings=self.settings)
        return time.perf_counter() - started

    def stage(self, bodies: list[bytes], now_ns: int) -> tuple[float, float]:
        """Insert the bodies through the SQL stage: (seconds in all, seconds of analysis)."""
        path = self.write(bodies)
        sql = stage_select(f"file('{path}', 'Protobuf', '{STRUCTURE}')", self.limits, now_ns)
        self.client.command("TRUNCATE TABLE stage")
        started = time.perf_counter()
        self.client.command(f"INSERT INTO stage {sql}", settings=self.settings)
        total = time.perf_counter() - started
        started = time.perf_counter()
        self.client.query(f"EXPLAIN QUERY TREE {sql}", settings=self.settings)
        return total, time.perf_counter() - started

    def compare(self, bodies: list[bytes]) -> tuple[int, int, dict[str, int]]:
        """(spans, spans left to Python, differing spans per column) against the Python decoder."""
        now = time.time_ns()
        self.stage(bodies, now)
        columns = ", ".join(c for c in COMPARED)
        got = {(row[0], row[1], row[2], row[3]): row[4:] for row in self.client.query(
            f"SELECT request_id, rs_i, ss_i, s_i, {columns} FROM stage WHERE NOT rare AND reason = ''").result_rows}
        refused = {(row[0], row[1], row[2], row[3]) for row in self.client.query(
            "SELECT request_id, rs_i, ss_i, s_i FROM stage WHERE NOT rare AND reason != ''").result_rows}
        rare = self.client.query("SELECT count() FROM stage WHERE rare").result_rows[0][0]
        total = self.client.query("SELECT count() FROM stage").result_rows[0][0]
        pricer, wrong = Pricer(), {c: 0 for c in COMPARED}
        index = [SPAN_COLUMNS.index(c) for c in COMPARED]
        keep = _decode.inherit_labels, _decode.price_innermost
        _decode.inherit_labels = _decode.price_innermost = lambda rows: rows  # per span, before cross-span rules
        try:
            for request_id, body in enumerate(bodies):
                request = ExportTraceServiceRequest.FromString(body)
                decoded = _decode.decode_request(request, "t1", pricer, now_ns=now)
                by_span = {row[2]: row for row in decoded.rows}
                for rid, rs_i, ss_i, s_i in refused:
                    span = request.resource_spans[rs_i - 1].scope_spans[ss_i - 1].spans[s_i - 1]
                    if rid == request_id and span.span_id.hex() in by_span:
                        wrong["refused"] = wrong.get("refused", 0) + 1
                for (rid, rs_i, ss_i, s_i), values in got.items():
                    if rid != request_id:
                        continue
                    span = request.resource_spans[rs_i - 1].scope_spans[ss_i - 1].spans[s_i - 1]
                    row = by_span.get(span.span_id.hex())
                    if row is None:  # Python refused a span the SQL accepted
                        wrong["accepted"] = wrong.get("accepted", 0) + 1
                        continue
                    for name, i, value in zip(COMPARED, index, values):
                        expected = row[i]
                        if name.endswith("attributes"):
                            expected, value = sorted(expected), sorted(value.items())
                        if expected != value:
                            wrong[name] += 1
        finally:
            _decode.inherit_labels, _decode.price_innermost = keep
        return total, rare, {k: v for k, v in wrong.items() if v}  # refused/accepted: verdicts differ


def storage_cpu_per_span(store: Store, spans: int = 204_800) -> float:
    """CPU seconds per span that storage alone costs: inserting already decoded and priced spans in
    group commits of 4,096 (8 exporters x 512), then the background merges they cause, until quiet.
    Counts every thread of this process (chDB runs in it)."""
    bodies = build_requests(spans, 512, 9)
    pricer, tables = Pricer(), []
    for i in range(0, len(bodies), 8):
        tables.append(spans_table([row for body, _ in bodies[i:i + 8] for row in _decode.decode_request(
            ExportTraceServiceRequest.FromString(body), "t1", pricer).rows]))

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    started = cpu()
    for table in tables:
        store.client.insert_arrow("spans", table)
    while store.client.query("SELECT count() FROM system.merges WHERE table = 'spans'").result_rows[0][0]:
        time.sleep(0.5)
    return (cpu() - started) / spans


def floor(store: Store, rows: list[tuple], rounds: int = 3) -> float:
    """Seconds to insert already decoded and priced rows as Arrow into ``spans`` (best of rounds)."""
    table = spans_table(rows)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        store.client.insert_arrow("spans", table)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="4096,16384,65536", help="spans per insert")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sql-probe-") as tmp:
        store = Store.open(StoreConfig(Path(tmp) / "store"))
        probe = Probe(tmp, store)
        for label, bodies in (("load generator", [b for b, _ in build_requests(4096, 512, 3)]),
                              ("every convention, odd values", mixed_requests(32))):
            total, rare, wrong = probe.compare(bodies)
            print(f"oracle, {label}: {total} spans, {rare} left to Python, differing columns: {wrong or 'none'}")
        pricer = Pricer()
        print(f"\n{'spans/insert':>12} {'decode only spans/s':>19} {'analysis ms':>11} {'SQL stage ms':>12} "
              f"{'SQL spans/s':>11} {'Arrow insert ms':>15} {'Python decode spans/s':>21}")
        for size in (int(s) for s in args.sizes.split(",")):
            bodies = [b for b, _ in build_requests(size, 512, 1)]
            decode = size / probe.decode_only(bodies)
            total, analysis = probe.stage(bodies, time.time_ns())
            started = time.perf_counter()
            rows = [row for body in bodies for row in _decode.decode_request(
                ExportTraceServiceRequest.FromString(body), "t1", pricer).rows]
            python = size / (time.perf_counter() - started)
            print(f"{size:>12} {decode:>19,.0f} {analysis * 1000:>11.0f} {total * 1000:>12.0f} {size / total:>11,.0f} "
                  f"{floor(store, rows) * 1000:>15.0f} {python:>21,.0f}")
        per_span = storage_cpu_per_span(store)
        cores = os.cpu_count() or 1
        print(f"\nstorage alone (Arrow inserts of 4,096 decoded spans, then their merges): {per_span * 1e6:.1f} µs of CPU "
              f"per span, so at most {cores / per_span:,.0f} spans/s on this machine's {cores} cores with nothing else running")
        store.close()


if __name__ == "__main__":
    main()
