"""Issue 10, item 6 (row limits), for the time series: a tenant with many customers gets a bounded
answer whose series and summed rest still add up, bucket by bucket, to the ungrouped totals."""

from __future__ import annotations

from decimal import Decimal

from tests.conftest import LiveServer
from tests.hostile.helpers import export_grpc
from tests.otlp_helpers import chat_attrs, request, span

CUSTOMERS = 130


def test_timeseries_keeps_the_costliest_series_and_sums_the_rest(server: LiveServer) -> None:
    key = server.create_key("many-customers")
    spans = [
        span(attrs={**chat_attrs("openai", "gpt-4o", 100 * (i + 1), 10), "llmobserve.customer.id": f"c{i:03d}"})
        for i in range(CUSTOMERS)
    ]
    assert export_grpc(server.grpc_target, key, request(*spans).SerializeToString()).code == "OK"
    grouped = server.get("/api/v1/costs/timeseries", key, group_by="customer", interval="hour").json()
    total = server.get("/api/v1/costs/timeseries", key, interval="hour").json()
    assert grouped["limit"] == 50 and grouped["truncated"] is True and grouped["rest_groups"] == CUSTOMERS - 50
    assert [s["key"] for s in grouped["series"]] == [f"c{i:03d}" for i in range(CUSTOMERS - 1, CUSTOMERS - 51, -1)]
    for at in range(len(total["buckets"])):
        parts = [s["cost_usd"][at] for s in grouped["series"]] + [grouped["rest"]["cost_usd"][at]]
        assert sum(map(Decimal, map(str, parts))).quantize(Decimal("1e-9")) == Decimal(
            str(total["series"][0]["cost_usd"][at])
        ).quantize(Decimal("1e-9"))
        calls = sum(s["calls"][at] for s in grouped["series"]) + grouped["rest"]["calls"][at]
        assert calls == total["series"][0]["calls"][at]
    whole = server.get("/api/v1/costs/timeseries", key, group_by="customer", interval="hour", limit=1000).json()
    assert len(whole["series"]) == CUSTOMERS and whole["truncated"] is False and whole["rest"] is None
    assert server.get("/api/v1/costs/timeseries", key, group_by="customer", limit=1001).status_code in (400, 422)
