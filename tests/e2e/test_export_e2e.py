"""Exports: every span of the tenant in range, as CSV or JSON, with a dated file name."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

BASE = 1_772_323_200 * 10**9  # 2026-03-01T00:00Z
RANGE = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})


def test_export_traces_csv_and_json(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    spans = [span(attrs=GPT4O, start_ns=BASE + i * 10**9) for i in range(250)] + [span("plain work", start_ns=BASE)]
    grpc_export(server.grpc_target, tenant_key, request(*spans).SerializeToString())
    other = server.create_key("export-other-tenant")

    response = server.get("/api/v1/export/traces", tenant_key, format="csv", **RANGE)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="llmobserve-traces-{date.today().isoformat()}.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 251 and {r["span_id"] for r in rows} == {s.span_id.hex() for s in spans}
    assert sum(Decimal(r["cost_usd"]) for r in rows) == Decimal("1.8125")  # 250 x 0.00725, exact
    assert next(r for r in rows if r["model"] == "gpt-4o")["cost_usd"] == "0.007250000000"  # exact decimals

    as_json = server.get("/api/v1/export/traces", tenant_key, format="json", **RANGE).json()
    assert len(as_json) == 251 and all(row["start_time"].startswith("2026-03-01T00:0") for row in as_json)
    assert server.get("/api/v1/export/traces", other, format="json", **RANGE).json() == []


def test_export_costs(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    grpc_export(server.grpc_target, tenant_key, request(span(attrs=GPT4O, start_ns=BASE)).SerializeToString())
    body = server.get("/api/v1/export/costs", tenant_key, format="json", group_by="model", **RANGE)
    assert "llmobserve-costs-by-model-" in body.headers["content-disposition"]
    assert body.json() == [
        {
            "key": "gpt-4o",
            "cost_usd": "0.007250000000",
            "calls": 1,
            "input_tokens": 1000,
            "output_tokens": 500,
            "cached_tokens": 200,
            "unpriced_calls": 0,
            "failed_calls": 0,
        }
    ]
    assert server.get("/api/v1/export/costs", tenant_key, format="xml").status_code == 422
