"""Decoding in worker processes gives exactly what in-process decoding gives."""

from __future__ import annotations

import pytest

from llmobserve.otlp_receiver import BadPayload, TenantRules
from llmobserve.otlp_receiver._workers import DecodePool, decode_to_table
from llmobserve.pricing import Pricer
from tests.otlp_helpers import chat_attrs, request, span


@pytest.fixture(scope="module")
def pool():  # type: ignore[no-untyped-def]
    started = DecodePool(2)
    started.warm_up()
    yield started
    started.close()


def test_worker_table_equals_in_process_table(pool) -> None:  # type: ignore[no-untyped-def]
    body = request(
        span(attrs=chat_attrs("openai", "gpt-4o", 1000, 500, **{"gen_ai.usage.cache_read.input_tokens": 200})),
        span(
            attrs=chat_attrs(
                "anthropic",
                "claude-3-5-sonnet-20241022",
                3000,
                10,
                **{"gen_ai.usage.cache_creation.input_tokens": 1000},
            )
        ),
        span(trace_id=b"short"),
    ).SerializeToString()
    remote = pool.decode(body, TenantRules("tenant-x"))
    local = decode_to_table(body, TenantRules("tenant-x"), Pricer())
    assert (remote.accepted, remote.rejected) == (local.accepted, local.rejected) == (2, 1)
    assert remote.error_message == local.error_message
    # ingest_time/version are stamped at decode time; everything else must match exactly
    columns = [c for c in local.table.column_names if c not in ("ingest_time", "version")]
    assert remote.table.select(columns).equals(local.table.select(columns))


def test_garbage_from_a_worker_is_bad_payload(pool) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadPayload, match="ExportTraceServiceRequest"):
        pool.decode(b"\xff\xff\xff garbage", TenantRules("t"))
