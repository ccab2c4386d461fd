"""decode_request: validation, attribute encoding, normalization and pricing of each span."""

from __future__ import annotations

import json
from decimal import Decimal

from opentelemetry.proto.common.v1 import common_pb2 as cp
from opentelemetry.proto.trace.v1 import trace_pb2 as tp

from llmobserve.otlp_receiver import TenantRules, decode_request
from llmobserve.pricing import Pricer
from llmobserve.storage import SPAN_COLUMNS
from tests.otlp_helpers import chat_attrs, request, span

PRICER = Pricer()


def _row(decoded, i: int = 0) -> dict:  # type: ignore[no-untyped-def]
    return dict(zip(SPAN_COLUMNS, decoded.rows[i]))


def test_decode_prices_and_labels_a_chat_span() -> None:
    attrs = chat_attrs(
        "openai",
        "gpt-4o",
        1000,
        500,
        **{
            "gen_ai.usage.cache_read.input_tokens": 200,
            "llmobserve.customer.id": "c9",
            "llmobserve.section.path": "agent:research/tool:search",
            "http.response.status_code": 200,
        },
    )
    s = span(attrs=attrs, parent=b"\x02" * 8)
    row = _row(decode_request(request(s, service="svc-a"), TenantRules("t1"), PRICER))
    assert row["tenant"] == "t1" and row["service"] == "svc-a" and row["scope"] == "tests"
    assert row["trace_id"] == s.trace_id.hex() and row["parent_span_id"] == "02" * 8
    assert (row["agent"], row["tool"], row["customer"]) == ("research", "search", "c9")
    assert row["cost_usd"] == Decimal("0.00725")
    assert row["cost_input_usd"] + row["cost_cache_read_usd"] + row["cost_output_usd"] == Decimal("0.00725")
    assert row["is_llm"] and row["priced"] and row["billable"] and row["kind"] == "client"
    assert row["http_status"] == 200 and row["duration_ns"] == 1_000_000
    assert ("gen_ai.usage.input_tokens", "1000") in row["span_attributes"]
    assert ("service.name", "svc-a") in row["resource_attributes"]


def test_every_attribute_value_type_becomes_text() -> None:
    s = span()
    s.attributes.extend(
        [
            cp.KeyValue(key="b", value=cp.AnyValue(bool_value=True)),
            cp.KeyValue(key="d", value=cp.AnyValue(double_value=0.25)),
            cp.KeyValue(
                key="arr",
                value=cp.AnyValue(
                    array_value=cp.ArrayValue(values=[cp.AnyValue(int_value=1), cp.AnyValue(string_value="x")])
                ),
            ),
            cp.KeyValue(
                key="kv",
                value=cp.AnyValue(
                    kvlist_value=cp.KeyValueList(values=[cp.KeyValue(key="k", value=cp.AnyValue(int_value=2))])
                ),
            ),
            cp.KeyValue(key="raw", value=cp.AnyValue(bytes_value=b"\x01\xff")),
            cp.KeyValue(key="empty", value=cp.AnyValue()),
        ]
    )
    pairs = dict(_row(decode_request(request(s), TenantRules("t"), PRICER))["span_attributes"])
    assert pairs == {"b": "true", "d": "0.25", "arr": '[1,"x"]', "kv": '{"k":2}', "raw": "01ff", "empty": ""}


def test_events_links_and_status_are_kept() -> None:
    s = span(status_code=2)
    s.status.message = "boom"
    s.events.append(
        tp.Span.Event(
            time_unix_nano=5,
            name="exception",
            attributes=[cp.KeyValue(key="exception.type", value=cp.AnyValue(string_value="ValueError"))],
        )
    )
    s.links.append(tp.Span.Link(trace_id=b"\x03" * 16, span_id=b"\x04" * 8))
    row = _row(decode_request(request(s), TenantRules("t"), PRICER))
    assert (row["status_code"], row["status_message"]) == ("error", "boom")
    assert json.loads(row["events"]) == [
        {"time_unix_nano": 5, "name": "exception", "attributes": {"exception.type": "ValueError"}}
    ]
    assert json.loads(row["links"])[0]["trace_id"] == "03" * 16


def test_failed_call_costs_nothing_and_is_not_billable() -> None:
    s = span(
        attrs={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "http.response.status_code": 429,
            "error.type": "429",
        },
        status_code=2,
    )
    row = _row(decode_request(request(s), TenantRules("t"), PRICER))
    assert row["is_llm"] and not row["billable"] and row["cost_usd"] == 0 and row["error_type"] == "429"


def test_invalid_spans_are_counted_and_described_but_not_stored() -> None:
    bad = [span(trace_id=b"\x00" * 16), span(span_id=b"\x01" * 3), span(parent=b"\x01" * 4)] + [
        span(trace_id=b"") for _ in range(5)
    ]
    decoded = decode_request(request(span(), *bad), TenantRules("t"), PRICER)
    assert (decoded.accepted, decoded.rejected, len(decoded.rows)) == (1, 8, 1)
    message = decoded.error_message()
    assert "trace_id must be 16 non-zero bytes" in message and "span_id must be 8" in message
    assert "parent_span_id must be empty or 8 bytes" in message and message.endswith("and 3 more")


def test_missing_service_name_is_unknown_service() -> None:
    req = request(span())
    del req.resource_spans[0].resource.attributes[:]
    assert _row(decode_request(req, TenantRules("t"), PRICER))["service"] == "unknown_service"


def test_client_cost_is_used_for_models_we_cannot_price_and_marked_client() -> None:
    s = span(attrs=chat_attrs("acme-llm", "acme-large-3", 1000, 100, **{"llm.cost.total": 0.0421}))
    row = _row(decode_request(request(s), TenantRules("t"), PRICER))
    assert (row["cost_usd"], row["price_source"], row["priced"]) == (Decimal("0.0421"), "client", True)
    known = span(attrs=chat_attrs("openai", "gpt-4o", 1000, 0, **{"gen_ai.usage.cost": 5}))
    assert _row(decode_request(request(known), TenantRules("t"), PRICER))["price_source"].startswith("genai-prices")


def test_a_foreign_llm_span_takes_the_labels_of_its_agent_in_the_same_request() -> None:
    trace, agent, chain, other = b"\x07" * 16, b"\x01" * 8, b"\x02" * 8, b"\x03" * 8
    decoded = decode_request(
        request(
            span(
                "ChatOpenAI",
                {
                    "openinference.span.kind": "LLM",
                    "llm.provider": "openai",
                    "llm.model_name": "gpt-4o",
                    "llm.token_count.prompt": 10,
                    "llm.token_count.completion": 1,
                },
                trace_id=trace,
                parent=chain,
            ),
            span("chain", {"openinference.span.kind": "CHAIN"}, trace_id=trace, span_id=chain, parent=agent),
            span(
                "invoke_agent research",
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.name": "research",
                    "llmobserve.customer.id": "c1",
                },
                trace_id=trace,
                span_id=agent,
            ),
            span(
                "chat", chat_attrs("openai", "gpt-4o", 10, 1), trace_id=b"\x08" * 16, parent=other
            ),  # its agent is elsewhere
        ),
        TenantRules("t1"),
        PRICER,
    )
    llm, orphan = _row(decoded, 0), _row(decoded, 3)
    assert (llm["agent"], llm["customer"], llm["section_path"]) == ("research", "c1", "")
    assert orphan["agent"] == "" and _row(decoded, 1)["agent"] == ""  # only LLM spans are attributed


def test_a_resource_can_name_the_customer_of_its_spans() -> None:
    message = request(
        span(attrs=chat_attrs("openai", "gpt-4o", 10, 1)),
        span(attrs={**chat_attrs("openai", "gpt-4o", 10, 1), "user.id": "own"}),
    )
    message.resource_spans[0].resource.attributes.append(
        cp.KeyValue(key="enduser.id", value=cp.AnyValue(string_value="org-7"))
    )
    rows = decode_request(message, TenantRules("t"), Pricer()).rows
    assert [row[SPAN_COLUMNS.index("customer")] for row in rows] == ["org-7", "own"]
