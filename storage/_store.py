"""``Store``: the storage facade the receiver, the API and billing share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from clickhouse_connect.driver.client import Client

from . import _cap_spend, _costs, _duplicates, _export, _spans, _traces
from ._attribution import Attribution
from ._client import StoreConfig, connect
from ._duplicates import DuplicateFinder
from ._legacy import legacy_rows
from ._maintainer import Maintainer
from ._migrations import migrate
from ._rollups import RollupTracker
from ._spans import select_span_rows

__all__ = ["Store"]


class Store:
    """An open, migrated ClickHouse (embedded or server) with typed reads and writes."""

    def __init__(
        self, client: Client, config: StoreConfig, detects_duplicates: Callable[[str], bool] = lambda tenant: True
    ) -> None:
        """``detects_duplicates(tenant)``: whether one call reported in two traces is charged once
        for that tenant (a setting kept in the control store)."""
        self.client = client
        self.config = config
        self.detects_duplicates = detects_duplicates
        self.rollups = RollupTracker(client, config.embedded)
        # Re-attributed spans are written again: not new spend, so the cap monitor is not told; a
        # duplicate found after it was written takes its spend back.
        rewrite = lambda table: self.insert_spans(table, notify=False)  # noqa: E731
        self.attribution = Attribution(
            client,
            rewrite,
            DuplicateFinder(client, rewrite, self.withdraw_spend, lambda tenant: self.detects_duplicates(tenant)),
        )
        self._write_listeners: list[Callable[[pa.Table], None]] = []

    @classmethod
    def open(cls, config: StoreConfig, detects_duplicates: Callable[[str], bool] = lambda tenant: True) -> Store:
        client = connect(config)
        migrate(client)
        return cls(client, config, detects_duplicates)

    def close(self) -> None:
        self.client.close()

    def ping(self) -> bool:
        """Whether storage answers at all: tells an outage from a write that its content failed."""
        try:
            self.client.query("SELECT 1")
        except Exception:
            return False
        return True

    # spans
    def insert_spans(self, table: pa.Table, notify: bool = True) -> int:
        """Write spans; returns only once they, and the marks that keep rollups exact, are stored.
        ``notify``: tell the ``on_spans_written`` listeners (new spans, not rewrites of stored ones)."""
        count = _spans.insert_spans(self.client, table)
        self.rollups.note_insert(table)
        self.attribution.note_insert(table)
        for listener in self._write_listeners if notify else ():
            listener(table)
        return count

    def withdraw_spend(self, table: pa.Table) -> None:
        """Tell the ``on_spans_written`` listeners that these stored spans' cost no longer counts
        (found to be duplicates after they were written): they get the rows with the cost negated."""
        negated = table
        for name in ("cost_usd", "cost_input_usd", "cost_output_usd", "cost_cache_read_usd", "cost_cache_write_usd"):
            column = negated.schema.get_field_index(name)
            negated = negated.set_column(column, name, pc.negate(negated[name]))
        for listener in self._write_listeners:
            listener(negated)

    def on_spans_written(self, listener: Callable[[pa.Table], None]) -> None:
        """Call ``listener(table)`` after each durable span write, on the writing thread (so it
        must only hand the table on): how the cap monitor learns of new spend within seconds."""
        self._write_listeners.append(listener)

    def mark_rollups_dirty(self, tenant: str | None = None) -> None:
        """Recompute every rollup of ``tenant`` (all tenants by default), e.g. after writing spans in SQL."""
        self.rollups.mark_all(tenant)

    def maintainer(self, interval: float = 1.0) -> Maintainer:
        """The background refresher of foreign-span attribution, rollups and runs (not started)."""
        return Maintainer(self.client, self.rollups, interval, extra_tasks=[self.attribution.run_once])

    def llm_span_hours(self, tenant: str, start: datetime, end: datetime) -> list[datetime]:
        """The hours holding LLM spans that start in [start, end), in order (naive UTC)."""
        return [
            h
            for (h,) in self.client.query(
                "SELECT DISTINCT toStartOfHour(start_time) AS h FROM spans WHERE tenant = {t:String} AND is_llm "
                "AND start_time >= {s:DateTime64(9, 'UTC')} AND start_time < {e:DateTime64(9, 'UTC')} ORDER BY h",
                parameters={"t": tenant, "s": start, "e": end},
            ).result_rows
        ]

    def llm_span_slice(
        self, tenant: str, start: datetime, end: datetime, after: tuple[str, str] | None, limit: int
    ) -> list[list[Any]]:
        """Up to ``limit`` LLM spans starting in [start, end), a range within one hour, as rows for
        ``spans_table`` in (trace_id, span_id) order after ``after``. Within an hour that is the
        table's own order, so each slice reads only its granules and stops at ``limit``."""
        where = (
            "tenant = {t:String} AND is_llm AND start_time >= {s:DateTime64(9, 'UTC')} "
            "AND start_time < {e:DateTime64(9, 'UTC')}"
        )
        params: dict[str, Any] = {"t": tenant, "s": start, "e": end, "n": limit}
        if after is not None:
            where += " AND (trace_id, span_id) > ({a_trace:String}, {a_span:String})"
            params["a_trace"], params["a_span"] = after
        # select_span_rows only appends SETTINGS, so the slice's order and bound may follow the condition.
        return select_span_rows(self.client, where + " ORDER BY trace_id, span_id LIMIT {n:UInt32}", params)

    def has_spans(self, tenant: str) -> bool:
        """Whether the tenant has stored any span (cheap: stops at the first)."""
        return bool(
            self.client.query(
                "SELECT 1 FROM spans WHERE tenant = {t:String} LIMIT 1", parameters={"t": tenant}
            ).result_rows
        )

    def legacy_rows(self, table: str) -> list[dict[str, Any]]:
        """The previous release's control rows of ``table`` (see ``_legacy``), to copy them once."""
        return legacy_rows(self.client, table)

    def span_count(self, tenant: str) -> int:
        return int(
            self.client.query(
                "SELECT count() FROM spans FINAL WHERE tenant = {t:String}", parameters={"t": tenant}
            ).result_rows[0][0]
        )

    # spending caps' spend
    def cap_spend(
        self, tenant: str, windows: list[tuple[datetime, datetime]], dims: list[str]
    ) -> list[dict[str, dict[str, Decimal]]]:
        """Per window: dimension -> stored value -> cost of LLM calls starting in it."""
        return _cap_spend.windows_spend(self.client, tenant, windows, dims)

    # traces
    def trace_spans(self, tenant: str, trace_id: str) -> list[_traces.TraceSpan]:
        return _traces.trace_spans(self.client, tenant, trace_id)

    def trace_attributes(self, tenant: str, trace_id: str) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        return _traces.trace_attributes(self.client, tenant, trace_id)

    def list_runs(
        self,
        tenant: str,
        start: datetime,
        end: datetime,
        order: str,
        limit: int,
        after: tuple[object, str] | None,
        filters: dict[str, str],
    ) -> list[_traces.RunRow]:
        return _traces.list_runs(self.client, tenant, start, end, order, limit, after, filters)

    def export_spans(self, tenant: str, start: datetime, end: datetime) -> Iterator[list[Any]]:
        return _export.export_spans(self.client, tenant, start, end)

    # settings' effects
    def duplicate_days(self, tenant: str, start: datetime, end: datetime) -> list[tuple[date, str, int]]:
        """Per UTC day with any: (day, cause, reports marked as duplicates of another) for spans starting in [start, end)."""
        return _duplicates.duplicate_days(self.client, tenant, start, end)

    # costs
    def cost_timeseries(
        self,
        tenant: str,
        interval: str,
        group_by: str | None,
        start: datetime,
        end: datetime,
        filters: dict[str, str] | None = None,
        limit: int | None = None,
    ) -> list[tuple[datetime, str, Decimal, int]]:
        return _costs.cost_timeseries(self.client, tenant, interval, group_by, start, end, filters, limit)

    def timeseries_groups(
        self, tenant: str, group_by: str, start: datetime, end: datetime, filters: dict[str, str] | None = None
    ) -> int:
        return _costs.timeseries_groups(self.client, tenant, group_by, start, end, filters)

    def cost_totals(self, tenant: str, windows: list[tuple[datetime, datetime]]) -> list[tuple[Decimal, int]]:
        return _costs.cost_totals(self.client, tenant, windows)

    def cost_tops(
        self, tenant: str, dimensions: list[str], start: datetime, end: datetime, limit: int
    ) -> dict[str, list[_costs.BreakdownRow]]:
        return _costs.cost_tops(self.client, tenant, dimensions, start, end, limit)

    def unpriced_models(self, tenant: str, start: datetime, end: datetime) -> list[_costs.UnpricedModel]:
        return _costs.unpriced_models(self.client, tenant, start, end)

    def cost_breakdown(
        self, tenant: str, group_by: str, start: datetime, end: datetime, filters: dict[str, str] | None = None
    ) -> list[_costs.BreakdownRow]:
        return _costs.cost_breakdown(self.client, tenant, group_by, start, end, filters)

    def cost_breakdown_top(
        self, tenant: str, group_by: str, start: datetime, end: datetime, filters: dict[str, str] | None, limit: int
    ) -> _costs.Breakdown:
        """At most ``limit`` groups, most expensive first; the rest summed as one."""
        return _costs.cost_breakdown_top(self.client, tenant, group_by, start, end, filters, limit)
