"""Costs, Models, Agents and Customers in a browser: every figure shown equals what the API answers."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.dashboard.conftest import Dash, open_session

_ROWS = """els => els.map(tr => ({
    key: tr.dataset.key,
    usd: tr.querySelector('td:nth-child(2) [data-usd]').dataset.usd,
    calls: Number(tr.querySelector('td:nth-child(3) [data-num]').dataset.num),
    failed: Number(tr.querySelector('td:nth-child(6) [data-num]').dataset.num)}))"""


def _table(page: Any, scope: str) -> tuple[list[dict[str, Any]], Decimal, int]:
    """The rows (key, exact cost, calls, failed calls) and the total row's cost and calls."""
    rows = page.eval_on_selector_all(f"{scope} tbody tr[data-key]", _ROWS)
    cost = page.get_attribute(f"{scope} #total-row td:nth-child(2) [data-usd]", "data-usd")
    calls = page.get_attribute(f"{scope} #total-row td:nth-child(3) [data-num]", "data-num")
    return rows, Decimal(cost), int(calls)


def _window(page: Any) -> dict[str, str]:
    """The exact [from, to) the page read: its download link carries them."""
    query = parse_qs(urlsplit(page.get_attribute("#export-csv", "href")).query)
    return {"from": query["from"][0], "to": query["to"][0]}


def _assert_same(rows: list[dict[str, Any]], cost: Decimal, calls: int, api: dict[str, Any]) -> None:
    assert api["rows"], "the demo tenant has spend: an empty answer tests nothing"
    assert [r["key"] for r in rows] == [r["key"] for r in api["rows"]]
    for shown, answered in zip(rows, api["rows"]):
        assert Decimal(shown["usd"]) == Decimal(str(answered["cost_usd"])), shown["key"]
        assert (shown["calls"], shown["failed"]) == (answered["calls"], answered["failed_calls"]), shown["key"]
    assert cost == Decimal(str(api["total_cost_usd"]))
    assert calls == sum(r["calls"] for r in api["rows"])


def test_costs_page_equals_the_api_breakdown(dash: Dash) -> None:
    page = dash.open("/costs?group_by=model")
    page.wait_for_selector("#costs-chart .uplot")  # the chart drew
    window = _window(page)
    rows, cost, calls = _table(page, "#costs-breakdown")
    _assert_same(rows, cost, calls, dash.api("/api/v1/costs/breakdown", group_by="model", **window))
    assert page.locator("#rest-row").count() == 0  # 9 models: nothing left out
    dash.shot("costs")


def test_costs_filter_narrows_to_the_api_filtered_answer(dash: Dash) -> None:
    page = dash.open("/costs?group_by=agent&range=24h&provider=openai")
    page.wait_for_selector("#costs-chart .uplot")
    assert page.locator("[data-filter=provider]").inner_text().startswith("provider = openai")
    window = _window(page)
    rows, cost, calls = _table(page, "#costs-breakdown")
    filtered = dash.api("/api/v1/costs/breakdown", group_by="agent", provider="openai", **window)
    _assert_same(rows, cost, calls, filtered)
    assert cost < Decimal(str(dash.api("/api/v1/costs/breakdown", group_by="agent", **window)["total_cost_usd"]))
    dash.shot("costs-filtered-24h")

    page = dash.open("/costs?group_by=model&model=no-such-model")
    assert "No LLM spend matches these filters" in page.locator("#costs-breakdown .empty").inner_text()
    dash.shot("costs-filter-no-match")


def test_costs_download_equals_the_api_export(dash: Dash) -> None:
    page = dash.open("/costs?group_by=customer")
    window = _window(page)
    with page.expect_download() as download:
        page.click("#export-csv")
    with open(download.value.path(), newline="") as downloaded:
        shown = list(csv.reader(downloaded))
    api = httpx.get(
        f"{dash.url}/api/v1/export/costs",
        params={"format": "csv", "group_by": "customer", **window},
        headers={"authorization": f"Bearer {dash.admin}"},
        timeout=30,
    )
    assert api.status_code == 200
    assert len(shown) > 1 and shown == list(csv.reader(io.StringIO(api.text)))

    as_json = page.request.get(dash.url + page.get_attribute("#export-json", "href"))  # the session cookie rides along
    assert as_json.status == 200
    # the same rows; JSON keeps counts as numbers where CSV has text (and money as exact strings in both)
    assert [{k: str(v) for k, v in r.items()} for r in json.loads(as_json.text())] == [
        dict(zip(shown[0], r)) for r in shown[1:]
    ]


def test_costs_bad_from_shows_an_error_banner(dash: Dash) -> None:
    response = dash.page.goto(dash.url + "/costs?group_by=model&from=2025-02-30")
    assert response.status == 400
    banner = dash.page.locator("#query-error")
    assert "'from' must be an ISO 8601 time" in banner.inner_text()
    assert dash.page.input_value("input[name=from]") == "2025-02-30"  # shown back, to correct
    assert dash.page.locator("#costs-table").count() == 0
    dash.shot("costs-bad-from")


@pytest.mark.parametrize("path, dim", [("/models", "model"), ("/agents", "agent"), ("/customers", "customer")])
def test_dimension_page_equals_the_api_breakdown(dash: Dash, path: str, dim: str) -> None:
    page = dash.open(path)
    rows, cost, calls = _table(page, "#dimension-table")
    # the page reads its last 30 days up to the moment it loaded; the demo's spans are all minutes old
    _assert_same(rows, cost, calls, dash.api("/api/v1/costs/breakdown", group_by=dim))
    assert page.locator("#dimension-table tbody svg.spark polyline").count() == len(rows)  # every row spent today
    dash.shot(path.strip("/"))


def test_model_row_opens_costs_filtered_to_it(dash: Dash) -> None:
    page = dash.open("/models")
    first = page.locator("#dimension-table tbody tr[data-key]").first
    model = first.get_attribute("data-key")
    first.locator("a").click()
    page.wait_for_load_state("networkidle")
    query = parse_qs(urlsplit(page.url).query)
    assert urlsplit(page.url).path == "/costs" and query == {"group_by": ["model"], "model": [model]}
    rows, cost, calls = _table(page, "#costs-breakdown")
    _assert_same(rows, cost, calls, dash.api("/api/v1/costs/breakdown", group_by="model", model=model, **_window(page)))
    assert [r["key"] for r in rows] == [model]


def test_pages_of_a_tenant_without_spend_show_the_empty_state(dash: Dash, browser: Any) -> None:
    key = dash.server.create_key("costs-pages-empty", "admin")
    page = open_session(browser, dash.url, key)
    try:
        empty = Dash(dash.server, "costs-pages-empty", key, key, page)
        empty.open("/costs")
        assert "No LLM spend in this range." in page.locator("#costs-breakdown .empty").inner_text()
        empty.shot("costs-empty")
        for path, dim in (("/models", "model"), ("/agents", "agent"), ("/customers", "customer")):
            empty.open(path)
            assert page.locator("#dimension-table .empty").inner_text() == f"No LLM spend by {dim} in this range."
        empty.shot("customers-empty")
    finally:
        page.context.close()
