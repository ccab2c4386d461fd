"""Span costs in ClickHouse: ``pricing``'s ``charge`` written as SQL over a table of price rows.

``Pricer`` stays the one definition of a price: it resolves each distinct (provider, models, batch,
service tier, minute) of a batch into a row (``pricing.resolve_rows``); this joins the rows to the
spans and does the arithmetic exactly: per-token rates as Decimal256(40), every part rounded half
to even to 12 places (Python's ``quantize``), so both ways agree to the last digit. Rows come in
two kinds: per minute, and, for a minute holding a price change (``split``), per span instant.
"""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.client import Client

__all__ = ["COST_COLUMNS", "PRICE_ROWS_DDL", "insert_price_rows", "priced_select"]

_RATES = ("r_in", "r_read", "r_write", "r_write_1h", "r_out", "r_reason", "r_fee")
_KEY = ("provider", "response_model", "request_model", "is_batch", "service_tier")
_MINUTE_NS = 60_000_000_000

PRICE_ROWS_DDL = f"""
CREATE TABLE IF NOT EXISTS {{name}} (
    provider String, response_model String, request_model String, is_batch Bool, service_tier String,
    at_ns Int64, exact Bool, split Bool, source String, has_rates Bool, thresholds Array(UInt64),
    {", ".join(f"{r} Array(Decimal256(40))" for r in _RATES)}
) ENGINE = Memory"""

COST_COLUMNS = ("cost_usd", "cost_input_usd", "cost_output_usd", "cost_cache_read_usd", "cost_cache_write_usd",
                "price_source", "priced", "billable")


def insert_price_rows(client: Client, table: str, rows: list[Any]) -> None:
    """``rows``: ``pricing.PriceRow``s."""
    data = []
    for row in rows:
        k = row.key
        per_rate = [[bracket[i] for bracket in row.brackets] for i in range(len(_RATES))]
        data.append([k.provider, k.response_model, k.request_model, k.is_batch, k.service_tier, k.at_ns, k.exact,
                     row.split, row.source, bool(row.brackets), list(row.thresholds), *per_rate])
    if data:
        client.insert(table, data, column_names=[*_KEY, "at_ns", "exact", "split", "source", "has_rates",
                                                 "thresholds", *_RATES])


def _charge(p: str) -> dict[str, str]:
    """``charge``'s parts for rows of price alias ``p``, over the span columns (tokens as Int64)."""
    write = "greatest(cache_write_tokens, cache_write_1h_tokens)"
    out = "greatest(output_tokens, reasoning_tokens)"
    raw = f"(toInt64(input_tokens) - toInt64(cache_read_tokens) - toInt64({write}))"
    uncached = f"greatest({raw}, 0)"
    inp = f"if({raw} < 0, cache_read_tokens + {write}, input_tokens)"
    idx = f"(arrayCount(t -> t < {inp}, {p}.thresholds) + 1)"

    def rate(name: str) -> str:
        return f"{p}.{name}[{idx}]"

    def money(expr: str) -> str:
        return f"roundBankers({expr}, 12)"

    zero = "toDecimal256(0, 40)"
    r_in, r_read, r_write, r_write_1h, r_out, r_reason, r_fee = (rate(r) for r in _RATES)
    read_part = money(f"cache_read_tokens * {r_read}")
    write_part = money(f"({write} - cache_write_1h_tokens) * {r_write} + cache_write_1h_tokens * {r_write_1h}")
    return {
        "input": money(f"{uncached} * {r_in} + {r_fee}"),
        "read": f"if(cache_read_tokens > 0, {read_part}, {zero})",
        "write": f"if({write} > 0, {write_part}, {zero})",
        "output": money(f"({out} - reasoning_tokens) * {r_out} + reasoning_tokens * {r_reason}"),
    }


def priced_select(spans: str, rows: str, extra_columns: str = "*") -> str:
    """``SELECT <extra_columns>, <COST_COLUMNS>`` of every span in ``spans`` (a table or subquery with
    the normalized span columns, ``start_ns`` and ``client_cost`` Nullable(String)), priced with the
    rows in table ``rows``."""
    on = " AND ".join(f"s.{c} = {{a}}.{c}" for c in _KEY)
    parts = _charge("pr")
    total = f"({parts['input']} + {parts['read']} + {parts['write']} + {parts['output']})"
    client = "toDecimal256OrNull(s.client_cost, 40)"
    client_ok = f"({client} IS NOT NULL AND {client} >= 0 AND {client} < toDecimal256('1e16', 40))"
    client_money = f"roundBankers(assumeNotNull({client}), 12)"
    failed = "(s.http_status = 429 OR s.http_status >= 500 OR (s.failed AND NOT s.has_usage))"
    state = (f"multiIf(NOT s.is_llm, 'not_llm', {failed}, 'failed', NOT s.has_usage, 'no_usage', pr.has_rates, "
             f"'priced', {client_ok}, 'client', 'unpriced')")
    zero = "toDecimal256(0, 40)"

    def part(name: str) -> str:
        return f"toDecimal128(if(state = 'priced', {parts[name]}, {zero}), 12)"

    return f"""
        SELECT {extra_columns}, {state} AS state,
            toDecimal128(multiIf(state = 'priced', {total}, state = 'client', {client_money}, {zero}), 12) AS cost_usd,
            {part('input')} AS cost_input_usd,
            {part('output')} AS cost_output_usd, {part('read')} AS cost_cache_read_usd,
            {part('write')} AS cost_cache_write_usd,
            multiIf(state = 'priced', pr.source, state = 'client', 'client', state = 'failed', 'failed',
                    state = 'no_usage', 'no-usage', '') AS price_source,
            state IN ('not_llm', 'failed', 'priced', 'client') AS priced,
            state NOT IN ('not_llm', 'failed') AS billable
        FROM (
            SELECT s.*, if(m.split, e.at_ns, m.at_ns) AS price_at, m.split AS minute_split
            FROM {spans} AS s
            LEFT JOIN {rows} AS m ON {on.format(a="m")} AND m.at_ns = intDiv(s.start_ns, {_MINUTE_NS}) * {_MINUTE_NS}
                AND NOT m.exact
            LEFT JOIN {rows} AS e ON {on.format(a="e")} AND e.at_ns = s.start_ns AND e.exact
        ) AS s
        LEFT JOIN {rows} AS pr ON {on.format(a="pr")} AND pr.at_ns = s.price_at AND pr.exact = s.minute_split
        SETTINGS join_use_nulls = 0"""

