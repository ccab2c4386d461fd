"""GET /api/v1/costs/summary against a seeded week, with exact numbers."""

from __future__ import annotations

from tests.otlp_helpers import chat_attrs, grpc_export, request, span

HOUR = 3600 * 10**9
AS_OF = 1_772_323_200 * 10**9  # 2026-03-01T00:00Z
GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})  # $0.00725
HAIKU = chat_attrs("anthropic", "claude-3-5-haiku-20241022", 1000, 0)  # $0.0008


def test_summary_windows_changes_top_and_untracked_share(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    spans = [
        span(
            attrs={**GPT4O, "gen_ai.agent.name": "research", "llmobserve.customer.id": "c1"}, start_ns=AS_OF - 2 * HOUR
        ),
        span(
            attrs={**GPT4O, "gen_ai.agent.name": "research", "llmobserve.customer.id": "c1"}, start_ns=AS_OF - 3 * HOUR
        ),
        span(attrs={**HAIKU, "llmobserve.customer.id": "c2"}, start_ns=AS_OF - 30 * HOUR),  # previous 24 h, untracked
        span(attrs=GPT4O, start_ns=AS_OF - 10 * 24 * HOUR),  # the week before
    ]
    grpc_export(server.grpc_target, tenant_key, request(*spans).SerializeToString())
    body = server.get("/api/v1/costs/summary", tenant_key, as_of="2026-03-01T00:00:00Z").json()
    assert body["last_24h"] == {"cost_usd": 0.0145, "calls": 2}
    assert body["previous_24h"] == {"cost_usd": 0.0008, "calls": 1}
    assert round(body["change_24h_pct"], 6) == round((0.0145 - 0.0008) / 0.0008 * 100, 6)
    assert body["last_7d"] == {"cost_usd": 0.0153, "calls": 3}
    assert body["previous_7d"] == {"cost_usd": 0.00725, "calls": 1}
    assert [r["key"] for r in body["top"]["provider"]] == ["openai", "anthropic"]
    assert body["top"]["agent"][0] == {"key": "research", "cost_usd": 0.0145, "calls": 2}
    assert [r["key"] for r in body["top"]["customer"]] == ["c1", "c2"]
    assert round(body["untracked_share_pct"], 6) == round(0.0008 / 0.0153 * 100, 6)


def test_summary_of_an_empty_tenant(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    body = server.get("/api/v1/costs/summary", tenant_key).json()
    assert body["last_7d"] == {"cost_usd": 0, "calls": 0} and body["change_7d_pct"] is None
    assert body["untracked_share_pct"] == 0 and body["top"]["model"] == []
