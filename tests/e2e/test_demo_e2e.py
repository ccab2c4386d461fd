"""`llmobserve demo`, the command README's first steps run: its spans land priced and attributed,
every agent run on its conversation (cost per session), app code outside agents untracked."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import LiveServer, run_cli
from tests.otlp_helpers import breakdown


def test_demo_lands_priced_with_agents_customers_and_sessions(server: LiveServer) -> None:
    key = server.create_key("demo")
    done = run_cli("demo", "--endpoint", server.grpc_target, "--api-key", key)
    assert done.returncode == 0 and "sent 196 spans (40 agent runs)" in done.stdout, done.stdout + done.stderr
    by_model = breakdown(server.http_url, key, "model")
    total = sum((cost for cost, _ in by_model.values()), Decimal(0))
    calls = sum(n for _, n in by_model.values())
    assert total > 0 and "unknown" not in by_model
    for dimension in ("agent", "customer", "session"):
        rows = breakdown(server.http_url, key, dimension)
        assert sum((c for c, _ in rows.values()), Decimal(0)) == total and sum(n for _, n in rows.values()) == calls
    sessions = breakdown(server.http_url, key, "session")
    agents = breakdown(server.http_url, key, "agent")
    assert all(name.startswith("conv_") for name in sessions if name != "untracked") and len(sessions) > 5
    assert sessions["untracked"] == agents["untracked"]  # only app code outside agents has no conversation
