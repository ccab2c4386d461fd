"""`llmobserve pricing import|reprice|update`, with and without a running server."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from llmobserve.storage import Store, StoreConfig
from tests.conftest import LiveServer, run_cli
from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, request, span

FILE = str(Path(__file__).resolve().parents[1] / "data" / "litellm_custom_prices.json")
GPT4O = chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})
SONNET = chat_attrs(
    "anthropic",
    "claude-3-5-sonnet-20241022",
    5000,
    800,
    **{"gen_ai.usage.cache_read.input_tokens": 1000, "gen_ai.usage.cache_creation.input_tokens": 2000},
)


def test_import_litellm_prices_and_reprice_through_a_running_server(server) -> None:  # type: ignore[no-untyped-def]
    key = server.create_key("litellm-co")
    grpc_export(server.grpc_target, key, request(span(attrs=GPT4O), span(attrs=SONNET)).SerializeToString())
    before = breakdown(server.http_url, key, "model")
    assert before["gpt-4o"] == (Decimal("0.00725"), 1)

    done = run_cli("pricing", "import", FILE, "--tenant", "litellm-co", "--data-dir", str(server.data_dir))
    assert done.returncode == 0, done.stderr
    assert "imported 2 prices" in done.stdout and "skipped 1" in done.stdout
    assert breakdown(server.http_url, key, "model") == before  # stored costs move only when repriced

    done = run_cli(
        "pricing",
        "reprice",
        "--tenant",
        "litellm-co",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--data-dir",
        str(server.data_dir),
    )
    assert done.returncode == 0, done.stderr
    assert "repriced 2 spans" in done.stdout
    after = breakdown(server.http_url, key, "model")
    # gpt-4o: 800 x $1 + 200 x $0.10 + 500 x $4; sonnet: 2000 x $2 + 1000 x $0.20 + 2000 x $2.50 + 800 x $10
    assert after == {"gpt-4o": (Decimal("0.00282"), 1), "claude-3-5-sonnet-20241022": (Decimal("0.0172"), 1)}


def test_import_and_reprice_without_a_server(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = str(tmp_path / "data")
    key = run_cli("keys", "create", "--tenant", "offline-prices", "--data-dir", data).stdout.strip().splitlines()[-1]
    assert run_cli("pricing", "import", FILE, "--tenant", "offline-prices", "--data-dir", data).returncode == 0
    live = LiveServer(tmp_path / "data").start()
    try:
        grpc_export(live.grpc_target, key, request(span(attrs=GPT4O)).SerializeToString())
        assert breakdown(live.http_url, key, "model") == {"gpt-4o": (Decimal("0.00282"), 1)}  # imported price applies
    finally:
        live.stop()
    done = run_cli(
        "pricing",
        "reprice",
        "--tenant",
        "offline-prices",
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--data-dir",
        data,
    )
    assert done.returncode == 0 and "repriced 1 spans" in done.stdout, done.stderr
    store = Store.open(StoreConfig(Path(data)))
    try:
        assert store.span_count("offline-prices") == 1
    finally:
        store.close()


def test_pricing_cli_errors_and_update() -> None:
    bad = run_cli("pricing", "import", "/nonexistent.json", "--tenant", "x")
    assert bad.returncode == 2 and "error" in bad.stderr
    wrong = run_cli("pricing", "reprice", "--tenant", "x", "--from", "yesterday", "--to", "2026-01-01")
    assert wrong.returncode != 0 and "ISO 8601" in wrong.stderr
    update = run_cli("pricing", "update")
    assert update.returncode == 0 and "genai-prices" in update.stdout and "reprice" in update.stdout
