"""Nothing silently $0: unknown models are listed by /pricing/unpriced and counted in breakdowns."""

from __future__ import annotations

from tests.conftest import run_cli
from tests.otlp_helpers import chat_attrs, grpc_export, request, span


def test_unknown_model_is_listed_and_counted_never_silently_zero(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    failed = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "http.response.status_code": 429,
    }
    grpc_export(
        server.grpc_target,
        tenant_key,
        request(
            span(attrs=chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})),
            span(attrs=chat_attrs("acme-llm", "acme-large-2", 4000, 100)),
            span(attrs=chat_attrs("acme-llm", "acme-large-2", 1000, 50)),
            span(attrs=chat_attrs("openai", "gpt-9-imaginary", 10, 10)),
            span(attrs=failed),
        ).SerializeToString(),
    )
    unpriced = server.get("/api/v1/pricing/unpriced", tenant_key).json()
    assert unpriced["unpriced_calls"] == 3
    assert [
        (m["provider"], m["model"], m["calls"], m["input_tokens"], m["output_tokens"]) for m in unpriced["models"]
    ] == [("acme-llm", "acme-large-2", 2, 5000, 150), ("openai", "gpt-9-imaginary", 1, 10, 10)]
    body = server.get("/api/v1/costs/breakdown", tenant_key, group_by="provider").json()
    assert body["unpriced_calls"] == 3
    rows = {r["key"]: r for r in body["rows"]}
    assert rows["acme-llm"]["cost_usd"] == 0 and rows["acme-llm"]["unpriced_calls"] == 2
    assert (
        rows["openai"]["calls"] == 3 and rows["openai"]["unpriced_calls"] == 1 and rows["openai"]["failed_calls"] == 1
    )
    assert rows["openai"]["cost_usd"] == 0.00725


def test_unpriced_needs_a_read_key_and_sees_only_its_tenant(server, tenant_key) -> None:  # type: ignore[no-untyped-def]
    assert server.get("/api/v1/pricing/unpriced", None).status_code == 401
    ingest_only = server.create_key("unpriced-ingest-only", "ingest")
    assert server.get("/api/v1/pricing/unpriced", ingest_only).status_code == 403
    assert server.get("/api/v1/pricing/unpriced", tenant_key).json()["models"] == []


def test_pricing_show_prints_the_resolved_price_and_its_source() -> None:
    done = run_cli("pricing", "show", "openai", "gpt-4o")
    assert done.returncode == 0, done.stderr
    assert "input 2.50 | cache read 1.25" in done.stdout and "output 10.00" in done.stdout
    assert "genai-prices" in done.stdout
    tiered = run_cli("pricing", "show", "gcp.gemini", "gemini-1.5-pro").stdout
    assert "above 128,000 input tokens: input 2.50" in tiered
    historic = run_cli("pricing", "show", "openai", "o3", "--at", "2025-06-01").stdout
    assert "input 10.00" in historic and "output 40.00" in historic
    assert "input 2.00" in run_cli("pricing", "show", "openai", "o3", "--at", "2025-07-01").stdout
    unknown = run_cli("pricing", "show", "openai", "gpt-9-imaginary")
    assert unknown.returncode == 1 and "not in the catalogue" in unknown.stdout


def test_client_supplied_cost_is_honoured_and_marked(server, tenant_key, tmp_path) -> None:  # type: ignore[no-untyped-def]
    grpc_export(
        server.grpc_target,
        tenant_key,
        request(
            span(attrs=chat_attrs("acme-llm", "acme-large-3", 1000, 100, **{"llm.cost.total": 0.0421})),
            span(attrs=chat_attrs("acme-llm", "acme-small-3", 1000, 100, **{"gen_ai.usage.cost": "0.005"})),
            span(
                attrs=chat_attrs(
                    "openai",
                    "gpt-4o",
                    1000,
                    500,
                    **{"gen_ai.usage.cache_read.input_tokens": 200, "gen_ai.usage.cost": 99.0},
                )
            ),
        ).SerializeToString(),
    )
    rows = {r["key"]: r for r in server.get("/api/v1/costs/breakdown", tenant_key, group_by="model").json()["rows"]}
    assert rows["acme-large-3"]["cost_usd"] == 0.0421 and rows["acme-large-3"]["unpriced_calls"] == 0
    assert rows["acme-small-3"]["cost_usd"] == 0.005
    # a model we can price is priced from the catalogue; the client's figure does not override it
    assert rows["gpt-4o"]["cost_usd"] == 0.00725
    assert server.get("/api/v1/pricing/unpriced", tenant_key).json()["unpriced_calls"] == 0
