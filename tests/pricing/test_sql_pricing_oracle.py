"""The oracle (issue 14): 50,000 random spans priced by ``Pricer.price`` in Python and by ClickHouse
from price rows (``pricing.resolve_rows`` + ``storage``'s SQL ``charge``) must agree on every cost
part, source and flag. Every catalogue model, cache reads and writes (1 h too), reasoning, long
contexts across tier starts, batch and service tiers, price history edges to the nanosecond,
off-peak windows, custom prices (exact and regex, taking effect mid-range), client-supplied costs,
failed and usage-less calls, and conventions mixed so subsets exceed their totals."""

from __future__ import annotations

import calendar
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices.data import providers
from genai_prices.types import ModelPrice, StartDateConstraint, TimeOfDateConstraint

from llmobserve.pricing import MINUTE_NS, CustomPrice, PriceKey, Pricer, compile_custom, resolve_rows
from llmobserve.semconv._record import GenAIRecord
from llmobserve.storage import Store, StoreConfig
from llmobserve.storage._sql_cost import PRICE_ROWS_DDL, insert_price_rows, priced_select

SPANS = 50_000
_START = calendar.timegm(date(2023, 6, 1).timetuple()) * 10**9
_END = calendar.timegm(date(2026, 12, 1).timetuple()) * 10**9
_SPAN_COLUMNS = """id UInt32, provider String, response_model String, request_model String, is_batch Bool,
    service_tier String, start_ns Int64, is_llm Bool, has_usage Bool, failed Bool, http_status UInt16,
    input_tokens UInt64, output_tokens UInt64, cache_read_tokens UInt64, cache_write_tokens UInt64,
    cache_write_1h_tokens UInt64, reasoning_tokens UInt64, client_cost Nullable(String)"""
_KEY = ("provider", "response_model", "request_model", "is_batch", "service_tier")


def _edges() -> list[tuple[str, str, int]]:
    """(provider, model, instant) of every price change the catalogue schedules."""
    found = []
    for provider in providers:
        for model in provider.models:
            if isinstance(model.prices, ModelPrice):
                continue
            for conditional in model.prices:
                c = conditional.constraint
                if isinstance(c, StartDateConstraint):
                    found.append((provider.id, model.id, calendar.timegm(c.start_date.timetuple()) * 10**9))
                elif isinstance(c, TimeOfDateConstraint):
                    for moment in (c.start_time, c.end_time):
                        when = datetime.combine(date(2025, 3, 4), moment.replace(tzinfo=moment.tzinfo or UTC))
                        found.append((provider.id, model.id, int(when.timestamp()) * 10**9))
    return found


CUSTOM_FROM = calendar.timegm(date(2025, 6, 15).timetuple()) * 10**9 + 30 * 10**9  # mid-minute, on purpose
CUSTOM = compile_custom([
    CustomPrice("p_exact", "openai", "gpt-4o", False, CUSTOM_FROM, Decimal("1.25"), Decimal("7.5"),
                cache_read=Decimal("0.3")),
    CustomPrice("p_regex", "", r"acme-.*", True, 0, Decimal("0.123456789"), Decimal("3"), reasoning=Decimal("9")),
    CustomPrice("p_later", "", r"acme-big", True, CUSTOM_FROM, Decimal("2"), Decimal("4"), cache_write=Decimal("2.5")),
])


def _records(rng: random.Random) -> list[tuple[GenAIRecord, int, str]]:
    models = [(p.id, m.id) for p in providers for m in p.models]
    edges = _edges()
    spans = []
    for _ in range(SPANS):
        roll = rng.random()
        if roll < 0.08 and edges:
            provider, model, at = rng.choice(edges)
            at += rng.choice((-1, 0, 1, 29 * 10**9, -(10**9), MINUTE_NS, 86_400 * 10**9 * rng.randint(0, 400)))
        else:
            provider, model = rng.choice(models)
            at = rng.randrange(_START, _END)
        if roll > 0.97:
            provider, model = rng.choice(("", "acme", "openai")), rng.choice(("acme-small", "acme-big", "nope-1"))
        elif roll > 0.94:
            provider, model = "openai", "gpt-4o"
            at = CUSTOM_FROM + rng.choice((-1, 0, 1, -(10**9), rng.randrange(-10**17, 10**17)))
        request, response = model, rng.choice((model, model, "", model.upper(), f"{model}-2099-01-01"))
        if rng.random() < 0.1:
            provider = ""  # found by the model's name alone
        inp = rng.choice((0, rng.randrange(1, 5000), rng.randrange(100_000, 300_000), 128_000, 128_001, 200_000, 200_001))
        read = rng.choice((0, 0, rng.randrange(0, inp + 1), inp + 7))
        write = rng.choice((0, 0, rng.randrange(0, max(1, inp - read + 1))))
        write_1h = rng.choice((0, 0, rng.randrange(0, write + 1), write + 3))
        out = rng.randrange(0, 20_000)
        reasoning = rng.choice((0, rng.randrange(0, out + 1), out + 11))
        status = rng.choice((200,) * 30 + (429, 500, 503, 400))
        has_usage = rng.random() > 0.03
        client = rng.choice((None,) * 8 + ("0.0123", "1e-13", "-1", "0.00000000000050", "12345678901234567"))
        record = GenAIRecord(operation="chat", provider=provider, request_model=request, response_model=response,
                             input_tokens=inp, output_tokens=out, cache_read_tokens=read, cache_write_tokens=write,
                             cache_write_1h_tokens=write_1h, reasoning_tokens=reasoning, has_usage=has_usage,
                             client_cost=Decimal(client) if client is not None else None,
                             is_batch=rng.random() < 0.1, service_tier=rng.choice(("", "", "", "flex", "priority")),
                             http_status=status, is_llm=rng.random() > 0.01)
        spans.append((record, at, client))
    return spans


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store.open(StoreConfig(Path(tmp_path_factory.mktemp("oracle")) / "data"))
    yield opened
    opened.close()


def test_sql_pricing_equals_pricer_on_50000_random_spans(store: Store) -> None:
    rng = random.Random(14)
    pricer = Pricer()
    spans = _records(rng)
    client = store.client
    client.command(f"CREATE TABLE oracle_spans ({_SPAN_COLUMNS}) ENGINE = Memory")
    client.command(PRICE_ROWS_DDL.format(name="oracle_prices"))
    client.insert("oracle_spans", [
        [i, r.provider, r.response_model, r.request_model, r.is_batch, r.service_tier, at, r.is_llm, r.has_usage,
         failed, r.http_status, r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens,
         r.cache_write_1h_tokens, r.reasoning_tokens, text]
        for i, ((r, at, text), failed) in enumerate(zip(spans, (rng.random() < 0.05 for _ in spans)))])
    failed_flags = {row[0]: row[1] for row in client.query("SELECT id, failed FROM oracle_spans").result_rows}

    # The first pass: each distinct key and minute once; then the instants of minutes a price changes in.
    keys = ", ".join(_KEY)
    minutes = [PriceKey(*row[:5], row[5]) for row in client.query(
        f"SELECT DISTINCT {keys}, intDiv(start_ns, {MINUTE_NS}) * {MINUTE_NS} FROM oracle_spans").result_rows]
    rows = resolve_rows(pricer, CUSTOM, minutes)
    insert_price_rows(client, "oracle_prices", rows)
    split = [r for r in rows if r.split]
    assert split, "the spans were meant to cross price changes inside minutes"
    instants = [PriceKey(*row[:5], row[5], exact=True) for row in client.query(
        f"SELECT DISTINCT {keys}, s.start_ns FROM oracle_spans AS s INNER JOIN (SELECT {keys}, at_ns FROM oracle_prices "
        f"WHERE split) AS p USING ({keys}) WHERE intDiv(s.start_ns, {MINUTE_NS}) * {MINUTE_NS} = p.at_ns").result_rows]
    insert_price_rows(client, "oracle_prices", resolve_rows(pricer, CUSTOM, instants))
    assert len(minutes) + len(instants) < SPANS  # resolved per key and minute, not per span

    sql = priced_select("oracle_spans", "oracle_prices", "s.id AS id")
    got = {row[0]: row[2:] for row in client.query(sql).result_rows}
    assert len(got) == SPANS
    wrong = []
    for i, (record, at, _) in enumerate(spans):
        cost = pricer.price(record, at, failed_flags[i], CUSTOM)
        expected = (cost.total, cost.input, cost.output, cost.cache_read, cost.cache_write, cost.source, cost.priced,
                    cost.billable)
        if tuple(got[i]) != expected:
            wrong.append((i, record, at, expected, got[i]))
    assert not wrong, f"{len(wrong)} of {SPANS} differ; first: {wrong[:3]}"
    sources = {g[5] for g in got.values()}
    assert {"custom:p_exact", "custom:p_regex", "custom:p_later", "client", "failed", "no-usage", ""} <= sources



