"""GET /api/v1/costs/timeseries: every bucket present, zero where nothing was spent."""

from __future__ import annotations

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})  # $0.00725
HAIKU = chat_attrs("anthropic", "claude-3-5-haiku-20241022", 1000, 0)  # $0.0008
DAY = 86_400 * 10**9
JAN1 = 1_767_225_600 * 10**9  # 2026-01-01T00:00Z


def test_daily_and_hourly_buckets_zero_filled_and_grouped(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    grpc_export(
        server.grpc_target,
        tenant_key,
        request(
            span(attrs=GPT4O, start_ns=JAN1 + 3600 * 10**9),
            span(attrs=HAIKU, start_ns=JAN1 + 2 * 3600 * 10**9),
            span(attrs=GPT4O, start_ns=JAN1 + 2 * DAY),
        ).SerializeToString(),
    )
    body = server.get(
        "/api/v1/costs/timeseries", tenant_key, interval="day", **{"from": "2026-01-01", "to": "2026-01-04"}
    ).json()
    assert [b[:10] for b in body["buckets"]] == ["2026-01-01", "2026-01-02", "2026-01-03"]
    assert body["series"] == [{"key": "total", "cost_usd": [0.00805, 0.0, 0.00725], "calls": [2, 0, 1]}]

    grouped = server.get(
        "/api/v1/costs/timeseries",
        tenant_key,
        interval="hour",
        group_by="provider",
        **{"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T04:00:00Z"},
    ).json()
    assert len(grouped["buckets"]) == 4
    assert {s["key"]: s["cost_usd"] for s in grouped["series"]} == {
        "openai": [0.0, 0.00725, 0.0, 0.0],
        "anthropic": [0.0, 0.0, 0.0008, 0.0],
    }


def test_timeseries_limits(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    too_many = server.get(
        "/api/v1/costs/timeseries", tenant_key, interval="hour", **{"from": "2020-01-01", "to": "2026-01-01"}
    )
    assert too_many.status_code == 400 and "buckets" in too_many.json()["detail"]
    assert server.get("/api/v1/costs/timeseries", tenant_key, interval="minute").status_code == 422
    assert server.get("/api/v1/costs/timeseries", None).status_code == 401


def test_timeseries_filters_like_the_breakdown(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    grpc_export(
        server.grpc_target,
        tenant_key,
        request(
            span(attrs={**GPT4O, "llmobserve.customer.id": "c1"}, start_ns=JAN1 + 3600 * 10**9),
            span(attrs={**HAIKU, "llmobserve.customer.id": "c2"}, start_ns=JAN1 + 3600 * 10**9),
            span(attrs={**GPT4O, "llmobserve.customer.id": "c2"}, start_ns=JAN1 + DAY),
            span(attrs=GPT4O, start_ns=JAN1 + DAY),
        ).SerializeToString(),
    )
    window = {"from": "2026-01-01", "to": "2026-01-03"}
    c2 = server.get(
        "/api/v1/costs/timeseries", tenant_key, interval="day", group_by="model", customer="c2", **window
    ).json()
    assert {s["key"]: s["cost_usd"] for s in c2["series"]} == {
        "gpt-4o": [0.0, 0.00725],
        "claude-3-5-haiku-20241022": [0.0008, 0.0],
    }
    untracked = server.get(
        "/api/v1/costs/timeseries", tenant_key, interval="hour", customer="untracked", provider="openai", **window
    ).json()
    assert sum(untracked["series"][0]["calls"]) == 1 and untracked["series"][0]["cost_usd"][24] == 0.00725


def test_a_misspelt_parameter_is_an_error_not_an_unfiltered_answer(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    bad = server.get("/api/v1/costs/timeseries", tenant_key, interval="day", custmer="c1")
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad_request" and "custmer" in bad.json()["detail"]
    assert "customer" in bad.json()["detail"]  # and the names it does take
    assert server.get("/api/v1/costs/breakdown", tenant_key, group_by="model", modle="x").status_code == 400
    assert server.get("/api/v1/costs/breakdown", tenant_key, group_by="model", model="x").status_code == 200
