"""The spans table's columns as Arrow, and the one write path into it.

Writers hand over one plain tuple per span in ``SPAN_COLUMNS`` order (the cheapest thing to
build in Python); the batcher concatenates many requests and this module transposes them into
one Arrow table for one insert (Arrow is the fastest insert path into chDB, ~3x row lists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = [
    "FINAL_SETTINGS",
    "SPAN_SCHEMA",
    "SPAN_COLUMNS",
    "SpanRow",
    "spans_table",
    "insert_spans",
    "select_span_rows",
]

# A span's identity includes its start hour, and partitions are months of start_time, so copies of
# one span always share a partition: FINAL need not merge across partitions (much cheaper).
FINAL_SETTINGS = "SETTINGS do_not_merge_across_partitions_select_final = 1"

_MONEY = pa.decimal128(18, 12)
_NS = pa.timestamp("ns", tz="UTC")
_ATTRS = pa.map_(pa.string(), pa.string())

SPAN_SCHEMA = pa.schema(
    [
        ("tenant", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("parent_span_id", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("service", pa.string()),
        ("scope", pa.string()),
        ("start_time", _NS),
        ("end_time", _NS),
        ("duration_ns", pa.uint64()),
        ("status_code", pa.string()),
        ("status_message", pa.string()),
        ("operation", pa.string()),
        ("provider", pa.string()),
        ("request_model", pa.string()),
        ("response_model", pa.string()),
        ("model", pa.string()),
        ("agent", pa.string()),
        ("section_path", pa.string()),
        ("customer", pa.string()),
        ("session", pa.string()),
        ("tool", pa.string()),
        ("is_llm", pa.bool_()),
        ("input_tokens", pa.uint64()),
        ("output_tokens", pa.uint64()),
        ("cache_read_tokens", pa.uint64()),
        ("cache_write_tokens", pa.uint64()),
        ("reasoning_tokens", pa.uint64()),
        ("cost_usd", _MONEY),
        ("cost_input_usd", _MONEY),
        ("cost_output_usd", _MONEY),
        ("cost_cache_read_usd", _MONEY),
        ("cost_cache_write_usd", _MONEY),
        ("price_source", pa.string()),
        ("priced", pa.bool_()),
        ("billable", pa.bool_()),
        ("is_batch", pa.bool_()),
        ("http_status", pa.uint16()),
        ("error_type", pa.string()),
        ("span_attributes", _ATTRS),
        ("resource_attributes", _ATTRS),
        ("events", pa.string()),
        ("links", pa.string()),
        ("ingest_time", pa.timestamp("ms", tz="UTC")),
        ("version", pa.uint64()),
    ]
)
SPAN_COLUMNS: tuple[str, ...] = tuple(SPAN_SCHEMA.names)

SpanRow = tuple[Any, ...]


def spans_table(rows: list[SpanRow]) -> pa.Table:
    """Rows in SPAN_COLUMNS order → one Arrow table with the spans schema."""
    columns = list(zip(*rows)) if rows else [() for _ in SPAN_COLUMNS]
    arrays = []
    for field, values in zip(SPAN_SCHEMA, columns):
        if pa.types.is_timestamp(field.type):
            # Timestamps arrive as int ns / ms: build int64 then reinterpret, no per-value objects.
            arrays.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.Table.from_arrays(arrays, schema=SPAN_SCHEMA)


def insert_spans(client: Client, table: pa.Table) -> int:
    """Insert one batch built by ``spans_table``; returns the row count. Raises what the client raises."""
    if table.num_rows:
        client.insert_arrow("spans", table)
    return int(table.num_rows)


# Timestamps come back as ints (what spans_table takes); no aliases, which would shadow the columns in WHERE.
_AS_INT = {
    "start_time": "toUnixTimestamp64Nano(start_time)",
    "end_time": "toUnixTimestamp64Nano(end_time)",
    "ingest_time": "toUnixTimestamp64Milli(ingest_time)",
}
_SELECT = ", ".join(_AS_INT.get(c, c) for c in SPAN_COLUMNS)
_MAPS = [SPAN_COLUMNS.index("span_attributes"), SPAN_COLUMNS.index("resource_attributes")]


def select_span_rows(client: Client, where: str, parameters: dict[str, Any]) -> list[list[Any]]:
    """Stored spans (latest versions) as mutable rows in SPAN_COLUMNS order, ready to change and
    write back through ``spans_table`` with a newer version."""
    rows = client.query(
        f"SELECT {_SELECT} FROM spans FINAL WHERE {where} {FINAL_SETTINGS}", parameters=parameters
    ).result_rows
    out = []
    for row in rows:
        values = list(row)
        for i in _MAPS:
            values[i] = list(values[i].items())
        out.append(values)
    return out
