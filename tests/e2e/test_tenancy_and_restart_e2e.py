"""Tenant isolation, durability across restarts, and `keys create` with and without a server."""

from __future__ import annotations

from decimal import Decimal

import httpx

from llmobserve.storage import Store, StoreConfig
from tests.conftest import LiveServer, run_cli
from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, http_export, request, span


def test_each_key_sees_only_its_own_tenant(server) -> None:  # type: ignore[no-untyped-def]
    key_a = server.create_key("iso-tenant-a")
    key_b = server.create_key("iso-tenant-b")
    grpc_export(
        server.grpc_target,
        key_a,
        request(
            span(attrs=chat_attrs("openai", "gpt-4o", 1000, 0, **{"llmobserve.customer.id": "a-customer"}))
        ).SerializeToString(),
    )
    http_export(
        server.http_url,
        key_b,
        request(
            span(
                attrs=chat_attrs(
                    "anthropic", "claude-3-5-haiku-20241022", 1000, 0, **{"llmobserve.customer.id": "b-customer"}
                )
            )
        ).SerializeToString(),
    )
    for group_by in ("provider", "model", "agent", "customer", "day"):
        a_rows = breakdown(server.http_url, key_a, group_by)
        b_rows = breakdown(server.http_url, key_b, group_by)
        assert sum(n for _, n in a_rows.values()) == 1 and sum(n for _, n in b_rows.values()) == 1
    assert breakdown(server.http_url, key_a, "customer") == {"a-customer": (Decimal("0.0025"), 1)}
    assert breakdown(server.http_url, key_b, "customer") == {"b-customer": (Decimal("0.0008"), 1)}
    # No parameter, header or path can name the other tenant.
    for params in ({"tenant": "iso-tenant-b"}, {"tenant_id": "iso-tenant-b"}, {"customer": "b-customer"}):
        response = httpx.get(
            f"{server.http_url}/api/v1/costs/breakdown",
            timeout=30,
            params={"group_by": "customer", **params},
            headers={"authorization": f"Bearer {key_a}", "x-tenant": "iso-tenant-b"},
        )
        assert "b-customer" not in response.text and "claude" not in response.text


def test_data_survives_restart_and_unknown_model_is_stored_unpriced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    live = LiveServer(tmp_path / "data").start()
    try:
        admin = live.admin_key
        assert admin is not None
        key = live.create_key("durable")
        grpc_export(
            live.grpc_target,
            key,
            request(
                span(attrs=chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})),
                span(attrs=chat_attrs("openai", "brand-new-model-nobody-prices", 5000, 5000)),
            ).SerializeToString(),
        )
        before = breakdown(live.http_url, key, "model")
    finally:
        output = live.stop()
    assert "stopped" in output
    assert before == {"gpt-4o": (Decimal("0.00725"), 1), "brand-new-model-nobody-prices": (Decimal(0), 1)}

    store = Store.open(StoreConfig(tmp_path / "data"))
    try:
        rows = store.client.query(
            "SELECT model, priced, billable, cost_usd, price_source FROM spans FINAL WHERE tenant = 'durable' ORDER BY model"
        ).result_rows
    finally:
        store.close()
    assert rows[0][:4] == ("brand-new-model-nobody-prices", False, True, Decimal(0))
    assert rows[1][:4] == ("gpt-4o", True, True, Decimal("0.00725"))
    assert rows[1][4].startswith("genai-prices")

    again = LiveServer(tmp_path / "data").start()
    try:
        assert again.admin_key is None  # the first-start key is printed once, not on every start
        assert breakdown(again.http_url, key, "model") == before
        assert again.get("/healthz", None).status_code == 200
    finally:
        again.stop()


def test_keys_create_without_a_server_then_served(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = str(tmp_path / "data")
    done = run_cli("keys", "create", "--tenant", "offline-co", "--scope", "ingest", "--data-dir", data)
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("llmo_") and len(done.stdout.strip().splitlines()) == 1
    bad = run_cli("keys", "create", "--tenant", "bad tenant!", "--data-dir", data)
    assert bad.returncode == 2 and "tenant name" in bad.stderr
    live = LiveServer(tmp_path / "data").start()
    try:
        assert live.admin_key is None  # the store already had a tenant
        response = grpc_export(
            live.grpc_target, key, request(span(attrs=chat_attrs("openai", "gpt-4o", 10, 10))).SerializeToString()
        )
        assert response.partial_success.rejected_spans == 0
        assert live.get("/api/v1/costs/breakdown", key, group_by="model").status_code == 403  # ingest-only key
        via_server = live.create_key("offline-co", "read")
        assert breakdown(live.http_url, via_server, "model") == {"gpt-4o": (Decimal("0.000125"), 1)}
    finally:
        live.stop()


def test_second_server_on_same_data_dir_fails_clearly(server) -> None:  # type: ignore[no-untyped-def]
    done = run_cli("serve", "--data-dir", str(server.data_dir), "--grpc-port", "0", "--http-port", "0", timeout=60)
    assert done.returncode == 1
    assert "already serving" in done.stderr and server.http_url in done.stderr
