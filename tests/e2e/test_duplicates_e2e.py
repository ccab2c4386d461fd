"""One call reported in two traces is charged once (issue 22).

The spans are recorded from real instrumentors (``tests/data/spans/crewai_events_openai.jsonl``):
CrewAI 1.15.30 traced by OpenInference's CrewAI event listener (``openinference-instrumentation-crewai``
1.1.21, ``use_event_listener=True``) and OpenInference's ``openai`` instrumentor (0.1.66) at once, two
tasks, the stand-in provider answering with model ``gpt-4o-mini-2024-07-18`` as OpenAI does. CrewAI
makes its calls on worker threads, so the client's ``ChatCompletion`` span is the root of a trace of
its own; the crew's ``gpt-4o-mini.llm_call`` span is under the agent. Same usage (1200 in, 400 of them
cached, 150 out; the crew's span has no reasoning count), the client's span inside the crew's.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
from opentelemetry.proto.common.v1 import common_pb2 as cp
from opentelemetry.proto.resource.v1 import resource_pb2 as rp
from opentelemetry.proto.trace.v1 import trace_pb2 as tp

from tests.conftest import ROOT, LiveServer
from tests.otlp_helpers import breakdown, grpc_export, kv
from tests.prices import as_json_number, cost

RECORDED = [
    json.loads(line) for line in (ROOT / "tests/data/spans/crewai_events_openai.jsonl").read_text().splitlines()
]
ONE = cost("gpt-4o-mini", 1200, 150, cache_read=400)
TWO = (as_json_number(2 * ONE), 2)
CLIENT = "openinference.instrumentation.openai"


def _shifted(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The recording moved to a minute ago (inside the receiver's retention), gaps kept."""
    offset = time.time_ns() - 60 * 10**9 - min(r["start_time_unix_nano"] for r in records)
    return [
        {
            **r,
            "start_time_unix_nano": r["start_time_unix_nano"] + offset,
            "end_time_unix_nano": r["end_time_unix_nano"] + offset,
        }
        for r in records
    ]


def _request(records: list[dict[str, Any]]) -> bytes:
    """One export, as the app's BatchSpanProcessor sends it: spans grouped by instrumentation scope."""
    scopes: dict[str, list[tp.Span]] = {}
    for r in records:
        scopes.setdefault(r["scope"], []).append(
            tp.Span(
                trace_id=bytes.fromhex(r["trace_id"]),
                span_id=bytes.fromhex(r["span_id"]),
                parent_span_id=bytes.fromhex(r["parent_id"]) if r["parent_id"] else b"",
                name=r["name"],
                kind=tp.Span.SPAN_KIND_INTERNAL,
                start_time_unix_nano=r["start_time_unix_nano"],
                end_time_unix_nano=r["end_time_unix_nano"],
                attributes=[kv(k, v) for k, v in r["attributes"].items()],
            )
        )
    resource = rp.Resource(attributes=[kv(k, v) for k, v in records[0]["resource"].items()])
    return ts.ExportTraceServiceRequest(
        resource_spans=[
            tp.ResourceSpans(
                resource=resource,
                scope_spans=[
                    tp.ScopeSpans(scope=cp.InstrumentationScope(name=name), spans=spans)
                    for name, spans in scopes.items()
                ],
            )
        ]
    ).SerializeToString()


def _api(server: LiveServer, key: str, path: str, **params: Any) -> Any:
    reply = httpx.get(
        f"{server.http_url}/api/v1{path}", params=params, headers={"authorization": f"Bearer {key}"}, timeout=30
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def _eventually(check: Callable[[], object], seconds: float = 20.0) -> None:
    """The background pass looks at reports that came in different exports within about a second."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _charged_once(server: LiveServer, key: str) -> None:
    assert breakdown(server.http_url, key, "model") == {"gpt-4o-mini": TWO}
    assert breakdown(server.http_url, key, "agent") == {"support_bot": TWO}  # the attributed report kept
    assert breakdown(server.http_url, key, "customer") == {"u1": TWO}


def _agrees_everywhere(server: LiveServer, key: str, records: list[dict[str, Any]]) -> None:
    """Runs, caps spend, exports and the duplicate count say what the breakdowns say."""
    runs = {r["trace_id"]: r for r in _api(server, key, "/traces")["data"]}
    crew = next(r["trace_id"] for r in records if r["scope"] != CLIENT)
    clients = {r["trace_id"] for r in records if r["scope"] == CLIENT}
    assert (Decimal(str(runs[crew]["cost_usd"])), runs[crew]["llm_calls"]) == TWO
    for trace in clients:  # still there, to be seen in its trace, but costs and counts nothing
        assert (runs[trace]["cost_usd"], runs[trace]["llm_calls"]) == (0, 0)
    export = httpx.get(
        f"{server.http_url}/api/v1/export/traces",
        params={"format": "json"},
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
    ).json()
    assert sum(Decimal(row["cost_usd"]) for row in export) == 2 * ONE
    marked = [row for row in export if row["trace_id"] in clients]
    assert len(marked) == 2 and all(Decimal(row["cost_usd"]) == 0 and not row["is_llm"] for row in marked)
    kept = {f"{r['trace_id']}/{r['span_id']}" for r in records if r["name"].endswith(".llm_call")}
    trees = [_api(server, key, f"/traces/{trace}") for trace in clients]
    assert {tree["roots"][0]["duplicate_of"] for tree in trees} == kept  # each names the report charged
    assert all(tree["total_cost_usd"] == 0 for tree in trees)
    admin = httpx.post(
        f"{server.http_url}/api/v1/caps",
        headers={"authorization": f"Bearer {key}"},
        timeout=30,
        json={"scope": "global", "period": "daily", "limit_usd": "100"},
    )
    assert admin.status_code == 201, admin.text
    [status] = _api(server, key, "/caps/status")["caps"]
    assert Decimal(status["spend_usd"]) == 2 * ONE
    duplicates = _api(server, key, "/settings/duplicates")
    assert duplicates["detect"] is True and duplicates["total"] == 2
    assert [d["cause"] for d in duplicates["days"]] == ["two instrumentations, context lost between them"]


@pytest.fixture
def records() -> list[dict[str, Any]]:
    return _shifted(RECORDED)


def test_both_reports_in_one_export_are_charged_once(server: LiveServer, records: list[dict[str, Any]]) -> None:
    key = server.create_key("dup-one-export", "admin")
    grpc_export(server.grpc_target, key, _request(records))
    _charged_once(server, key)
    _agrees_everywhere(server, key, records)


@pytest.mark.parametrize("client_first", [True, False], ids=["client-span-first", "crew-spans-first"])
def test_reports_in_two_exports_seconds_apart_are_charged_once(
    server: LiveServer, records: list[dict[str, Any]], client_first: bool
) -> None:
    key = server.create_key(f"dup-two-exports-{client_first}", "admin")
    client = [r for r in records if r["scope"] == CLIENT]
    crew = [r for r in records if r["scope"] != CLIENT]
    for part in (client, crew) if client_first else (crew, client):
        grpc_export(server.grpc_target, key, _request(part))
        time.sleep(2)  # the first part is stored, and looked at by a pass, before the second comes
    _eventually(lambda: _charged_once(server, key))
    _agrees_everywhere(server, key, records)
    grpc_export(server.grpc_target, key, _request(client))  # a re-sent batch changes nothing
    time.sleep(2)
    _eventually(lambda: _charged_once(server, key))


def test_the_workspace_setting_turns_detection_off(server: LiveServer, records: list[dict[str, Any]]) -> None:
    key = server.create_key("dup-off", "admin")
    put = httpx.put(
        f"{server.http_url}/api/v1/settings/duplicates",
        json={"detect": False},
        timeout=30,
        headers={"authorization": f"Bearer {key}"},
    )
    assert put.status_code == 200 and put.json()["detect"] is False, put.text
    grpc_export(server.grpc_target, key, _request(records))
    time.sleep(2)  # a background pass, had detection been on
    assert breakdown(server.http_url, key, "model") == {
        "gpt-4o-mini": TWO,
        "gpt-4o-mini-2024-07-18": TWO,
    }  # as reported: twice
    assert _api(server, key, "/settings/duplicates")["total"] == 0


def _client_call(trace: str, span: str, start: int, end: int, response_id: str | None) -> dict[str, Any]:
    """The openai instrumentor's report of one call made at the root of its own trace."""
    template = next(r for r in RECORDED if r["scope"] == CLIENT)
    attributes = dict(template["attributes"])
    if response_id is not None:
        attributes["gen_ai.response.id"] = response_id
    return {
        **template,
        "trace_id": trace,
        "span_id": span,
        "parent_id": None,
        "attributes": attributes,
        "start_time_unix_nano": start,
        "end_time_unix_nano": end,
    }


def test_two_concurrent_identical_calls_each_reported_once_stay_two_calls(server: LiveServer) -> None:
    """Same model, same usage, one inside the other in time: one instrumentation reports a call once."""
    key = server.create_key("dup-two-real-calls")
    now = time.time_ns() - 60 * 10**9
    calls = [
        _client_call("a" * 32, "1" * 16, now, now + 5 * 10**9, None),
        _client_call("b" * 32, "2" * 16, now + 10**9, now + 2 * 10**9, None),
    ]
    grpc_export(server.grpc_target, key, _request(calls[:1]))
    grpc_export(server.grpc_target, key, _request(calls[1:]))
    time.sleep(3)
    assert breakdown(server.http_url, key, "model") == {"gpt-4o-mini-2024-07-18": TWO}


def test_reports_with_different_response_ids_stay_two_calls(server: LiveServer) -> None:
    """Two instrumentations, nested in time, equal usage, but the provider answered twice."""
    key = server.create_key("dup-two-response-ids")
    now = time.time_ns() - 60 * 10**9
    client = _client_call("c" * 32, "3" * 16, now + 10**9, now + 2 * 10**9, "chatcmpl-1")
    crew = {
        **next(r for r in RECORDED if r["name"].endswith(".llm_call")),
        "trace_id": "d" * 32,
        "span_id": "4" * 16,
        "parent_id": None,
        "start_time_unix_nano": now,
        "end_time_unix_nano": now + 3 * 10**9,
    }
    crew["attributes"] = {**crew["attributes"], "gen_ai.response.id": "chatcmpl-2"}
    grpc_export(server.grpc_target, key, _request([client, crew]))
    time.sleep(3)
    assert breakdown(server.http_url, key, "model") == {
        "gpt-4o-mini": (as_json_number(ONE), 1),
        "gpt-4o-mini-2024-07-18": (as_json_number(ONE), 1),
    }
