"""Issue 11: cost per conversation. A session comes from any convention apps already use (on the span,
its resource, or an ancestor exported later), and is a dimension of breakdowns, filters, runs and
exports; a tenant may name its own session attribute."""

from __future__ import annotations

import os
import time
from decimal import Decimal

import httpx

from tests.conftest import LiveServer
from tests.otlp_helpers import breakdown, chat_attrs, grpc_export, request, span
from tests.prices import as_json_number, cost

ONE = as_json_number(cost("gpt-4o", 100, 10))
TWO = as_json_number(2 * cost("gpt-4o", 100, 10))


def _send(server: LiveServer, key: str, *spans, **resource: str) -> None:  # type: ignore[no-untyped-def]
    message = request(*spans)
    for name, value in resource.items():
        message.resource_spans[0].resource.attributes.add(key=name).value.string_value = value
    grpc_export(server.grpc_target, key, message.SerializeToString())


def _llm(**attrs: str):  # type: ignore[no-untyped-def]
    return span(attrs={**chat_attrs("openai", "gpt-4o", 100, 10), **attrs})


def _eventually(check, timeout: float = 20):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout  # attribution runs in the server's background pass (every second)
    while not check() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert check()


def test_every_session_spelling_lands_on_its_session(server: LiveServer) -> None:
    key = server.create_key("sessions-spellings")
    _send(server, key, _llm(**{"gen_ai.conversation.id": "conv-1"}), _llm(**{"session.id": "conv-1"}))
    _send(server, key, _llm(**{"langfuse.session.id": "lf-1"}), _llm(**{"ai.telemetry.metadata.sessionId": "ai-1"}))
    _send(server, key, _llm(**{"llmobserve.session.id": "ours", "session.id": "theirs"}))  # ours first
    _send(server, key, _llm(), **{"session.id": "from-resource"})
    _send(server, key, _llm())
    assert breakdown(server.http_url, key, "session") == {
        "conv-1": (TWO, 2),
        "lf-1": (ONE, 1),
        "ai-1": (ONE, 1),
        "ours": (ONE, 1),
        "from-resource": (ONE, 1),
        "untracked": (ONE, 1),
    }
    assert breakdown(server.http_url, key, "model", session="conv-1") == {"gpt-4o": (TWO, 2)}
    assert breakdown(server.http_url, key, "session", session="untracked") == {"untracked": (ONE, 1)}
    series = server.get("/api/v1/costs/timeseries", key, interval="day", group_by="session", session="lf-1").json()
    assert [s["key"] for s in series["series"]] == ["lf-1"]


def test_customer_and_session_come_from_an_ancestor_exported_after_the_llm_span(server: LiveServer) -> None:
    """Pydantic AI's shape: the chat span names its agent itself; the app sets user.id / session.id on
    the span around the run, which ends (and is exported) last."""
    key = server.create_key("sessions-ancestor")
    trace, root = os.urandom(16), os.urandom(8)
    _send(
        server,
        key,
        span(
            attrs={**chat_attrs("openai", "gpt-4o", 100, 10), "gen_ai.agent.name": "support_bot"},
            trace_id=trace,
            parent=root,
        ),
    )
    assert breakdown(server.http_url, key, "customer") == {"untracked": (ONE, 1)}
    _send(server, key, span("handle request", {"user.id": "u1", "session.id": "s1"}, trace_id=trace, span_id=root))
    _eventually(lambda: breakdown(server.http_url, key, "session") == {"s1": (ONE, 1)})
    assert breakdown(server.http_url, key, "customer") == {"u1": (ONE, 1)}
    assert breakdown(server.http_url, key, "agent") == {"support_bot": (ONE, 1)}

    runs = server.get("/api/v1/traces", key, session="s1").json()["data"]
    assert [r["trace_id"] for r in runs] == [trace.hex()]
    assert server.get("/api/v1/traces", key, session="other").json()["data"] == []
    tree = server.get(f"/api/v1/traces/{trace.hex()}", key).json()
    assert tree["roots"][0]["children"][0]["session"] == "s1"
    exported = server.get(
        "/api/v1/export/traces", key, format="json", **{"from": "2024-01-01", "to": "2100-01-01"}
    ).json()
    assert {(row["name"], row["session"]) for row in exported} == {("chat gpt-4o", "s1"), ("handle request", "s1")}


def test_a_tenant_names_its_own_session_attribute(server: LiveServer) -> None:
    ours, other = server.create_key("sessions-own", "admin"), server.create_key("sessions-other", "admin")
    url = f"{server.http_url}/api/v1/settings/attribution"
    default = httpx.get(url, headers={"authorization": f"Bearer {ours}"}, timeout=30).json()
    assert default["session_is_default"] is True and default["session"] == default["default_session"]
    assert default["session"][:3] == ["llmobserve.session.id", "gen_ai.conversation.id", "session.id"]

    put = httpx.put(url, json={"session": ["app.thread_id"]}, headers={"authorization": f"Bearer {ours}"}, timeout=30)
    assert put.status_code == 200, put.text
    assert put.json()["session"] == ["app.thread_id"] and put.json()["customer_is_default"] is True  # left as it was
    for key in (ours, other):
        _send(server, key, _llm(**{"app.thread_id": "th-9", "session.id": "s-9"}))
    assert breakdown(server.http_url, ours, "session") == {"th-9": (ONE, 1)}
    assert breakdown(server.http_url, other, "session") == {"s-9": (ONE, 1)}  # unaffected

    for bad in ({"sesion": ["x"]}, {"session": ["a", "a"]}, {"session": "x"}):
        answer = httpx.put(url, json=bad, headers={"authorization": f"Bearer {ours}"}, timeout=30)
        assert answer.status_code == 422, (bad, answer.text)


def test_session_rollups_answer_like_the_raw_spans(server: LiveServer) -> None:
    key = server.create_key("sessions-rollups")
    for i in range(3):
        _send(server, key, _llm(**{"session.id": f"s{i % 2}", "user.id": "u"}))
    before = breakdown(server.http_url, key, "session")
    _eventually(
        lambda: server.get("/api/v1/costs/breakdown", key, group_by="session").json().get("rollups_pending", 0) == 0
    )
    assert breakdown(server.http_url, key, "session") == before == {"s0": (TWO, 2), "s1": (ONE, 1)}
    assert breakdown(server.http_url, key, "session", customer="u") == before  # the all-dimension daily rollup
    assert sum(Decimal(str(c)) for c, _ in before.values()) == Decimal(str(ONE)) * 3
