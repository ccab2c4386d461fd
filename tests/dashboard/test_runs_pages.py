"""The Runs list and one run's span tree: the same runs, order, costs and tree as the API; a run of
another tenant reads exactly like an unknown run."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import httpx

from tests.dashboard.conftest import SCREENSHOTS, Dash, open_session, seeded_tenant


def _usd(value: float) -> Decimal:
    return Decimal(str(value))


def _rows(page: Any) -> list[tuple[str, Decimal]]:
    return [
        (row.get_attribute("data-trace-id"), Decimal(row.eval_on_selector(".cost .usd", "e => e.dataset.usd")))
        for row in page.query_selector_all("#runs tbody tr")
    ]


def _spans(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out, queue = [], list(nodes)
    for node in queue:
        out.append(node)
        queue.extend(node["children"])
    return out


def test_runs_list_equals_api_first_page(dash: Dash) -> None:
    for sort in ("time", "cost"):
        api = dash.api("/api/v1/traces", sort=sort)["data"]
        page = dash.open(f"/runs?sort={sort}")
        assert api, "the demo tenant has runs"
        assert _rows(page) == [(r["trace_id"], _usd(r["cost_usd"])) for r in api]
        dash.shot(f"runs-{sort}")
    costs = [c for _, c in _rows(page)]
    assert costs == sorted(costs, reverse=True)
    errored = next(r for r in api if r["errors"])
    assert page.inner_text(f"tr[data-trace-id='{errored['trace_id']}'] .tag.err").startswith(str(errored["errors"]))

    api = dash.api("/api/v1/traces", sort="cost", agent="planner")["data"]
    page = dash.open("/runs?sort=cost&agent=planner")
    assert api and _rows(page) == [(r["trace_id"], _usd(r["cost_usd"])) for r in api]


def test_runs_list_pages_follow_the_cursor(dash: Dash) -> None:
    page = dash.open("/runs?sort=cost&limit=15")
    cursor, seen = None, []
    while True:
        params = {"sort": "cost", "limit": 15, **({"cursor": cursor} if cursor else {})}
        api = dash.api("/api/v1/traces", **params)
        assert _rows(page) == [(r["trace_id"], _usd(r["cost_usd"])) for r in api["data"]]
        seen += [r["trace_id"] for r in api["data"]]
        cursor = api["next_cursor"]
        if cursor is None:
            assert page.query_selector("#next-page") is None
            break
        page.click("#next-page")
        page.wait_for_load_state("networkidle")
    assert seen == [r["trace_id"] for r in dash.api("/api/v1/traces", sort="cost", limit=500)["data"]]
    assert len(seen) > 30  # three pages or more
    dash.shot("runs-last-page")


def test_run_detail_shows_the_api_tree(dash: Dash) -> None:
    run = dash.api("/api/v1/traces", sort="cost", limit=1)["data"][0]
    tree = dash.api(f"/api/v1/traces/{run['trace_id']}")
    page = dash.open(f"/runs/{run['trace_id']}")
    root = tree["roots"][0]
    shown = page.eval_on_selector(f"#span-{root['span_id']} > summary .subtree .usd", "e => e.dataset.usd")
    assert Decimal(shown) == _usd(root["subtree_cost_usd"])
    assert Decimal(page.get_attribute("#run-total .usd", "data-usd")) == _usd(tree["total_cost_usd"])
    spans = _spans(tree["roots"])
    assert len(spans) == tree["spans"] > 1
    for span in spans:
        own = page.eval_on_selector(f"#span-{span['span_id']} > summary .own .usd", "e => e.dataset.usd")
        assert Decimal(own) == _usd(span["cost_usd"]), span["name"]
    dash.shot("run-detail")

    child = root["children"][0]["span_id"]
    assert page.is_visible(f"#span-{child}")
    page.click(f"#span-{root['span_id']} > summary")
    assert not page.is_visible(f"#span-{child}")
    dash.shot("run-detail-collapsed")
    page.click(f"#span-{root['span_id']} > summary")
    assert page.is_visible(f"#span-{child}")
    page.click(f"#span-{child} > details.attrs > summary")
    assert child in page.inner_text(f"#span-{child} > details.attrs table")
    dash.shot("run-detail-attributes")


def test_run_detail_marks_errored_spans(dash: Dash) -> None:
    run = next(r for r in dash.api("/api/v1/traces", limit=500)["data"] if r["errors"])
    failed = [s for s in _spans(dash.api(f"/api/v1/traces/{run['trace_id']}")["roots"]) if s["status"] == "error"]
    page = dash.open(f"/runs/{run['trace_id']}")
    assert {e.get_attribute("data-span-id") for e in page.query_selector_all("details.span.failed")} == {
        s["span_id"] for s in failed
    }
    span = failed[0]
    assert page.is_visible(f"#span-{span['span_id']} > summary .tag.err")
    if span["status_message"]:
        assert span["status_message"] in page.inner_text(f"#span-{span['span_id']} > .status-message")
    dash.shot("run-detail-error")


def test_run_of_another_tenant_reads_as_unknown(dash: Dash) -> None:
    other_admin, _ = seeded_tenant(dash.server, "dash-other")
    theirs = httpx.get(
        f"{dash.url}/api/v1/traces", headers={"authorization": f"Bearer {other_admin}"}, timeout=30
    ).json()["data"][0]["trace_id"]
    answers = []
    for trace_id in (theirs, secrets.token_hex(16), "not-a-trace-id"):
        response = dash.page.goto(f"{dash.url}/runs/{trace_id}")
        answers.append((response.status, dash.page.content().replace(trace_id, "<id>")))
    assert answers[0][0] == 404
    assert answers[0] == answers[1] == answers[2]
    dash.shot("run-not-found")


def test_runs_empty_state(dash: Dash, browser: Any) -> None:
    key = dash.server.create_key("dash-runs-empty", "admin")
    page = open_session(browser, dash.url, key)
    try:
        page.goto(f"{dash.url}/runs")
        assert page.query_selector("#runs") is None
        assert "No runs match" in page.inner_text("p.empty")
        assert page.query_selector("#next-page") is None
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "runs-empty.png"), full_page=True)
    finally:
        page.context.close()
