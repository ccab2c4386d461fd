#!/usr/bin/env python3
"""The control store at scale (issue 24): 100,000 API keys and 10,000 caps, side by side on the
previous release's ClickHouse tables (embedded chDB, the queries that release ran) and on this
release's control store on SQLite and on PostgreSQL. Prints p50/p95 of

- a key lookup (an uncached key: what the receiver and API do once per key per 30 s), and
- reading one workspace's caps (what every cap status, check and reservation does before it reads
  spend from ClickHouse, which did not move), for a workspace of 100 caps among 10,000.

    python -m bench.control [--keys 100000] [--caps 10000] [--lookups 2000] [--postgres URL]

PostgreSQL: ``--postgres postgresql+psycopg://user:pass@127.0.0.1:5432/db``, an empty database
(``createdb llmo_bench``; drop it afterwards).
"""

from __future__ import annotations

import argparse
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from llmobserve.control import ControlStore, default_url, hash_secret
from llmobserve.control._schema import API_KEYS, CAPS, WORKSPACES
from llmobserve.storage import Store, StoreConfig

_TENANTS = 100


def _keys(count: int) -> list[tuple[str, str, str]]:
    """(workspace, key id, key) of ``count`` keys."""
    return [(f"ws{i % _TENANTS}", secrets.token_hex(6), "") for i in range(count)]


def _timed(step: Callable[[], Any], rounds: int) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def _cap_row(workspace: str, index: int, now: datetime) -> dict[str, Any]:
    return {
        "cap_id": f"cap_{secrets.token_hex(8)}",
        "workspace": workspace,
        "name": f"cap {index}",
        "scope": "customer",
        "value": f"customer-{index}",
        "period": "monthly",
        "time_zone": "UTC",
        "limit_usd": "10",
        "thresholds": ["0.5", "0.9", "1"],
        "enforcement": "alert",
        "recipients": [],
        "webhooks": [],
        "webhook_secret": "whsec_x",
        "enabled": True,
        "created_at": now,
        "updated_at": now,
    }


def _fill_control(control: ControlStore, keys: list[tuple[str, str, str]], caps: int) -> None:
    now = datetime.now(UTC)
    with control.engine.begin() as conn:
        conn.execute(insert(WORKSPACES), [{"id": f"ws{i}", "created_at": now} for i in range(_TENANTS)])
        for start in range(0, len(keys), 10_000):
            conn.execute(
                insert(API_KEYS),
                [
                    {"key_id": k, "workspace": w, "key_hash": hash_secret(f"llmo_{k}_x"), "scopes": ["read"],
                     "name": "", "created_at": now}
                    for w, k, _ in keys[start : start + 10_000]
                ],
            )  # fmt: skip
        conn.execute(insert(CAPS), [_cap_row(f"ws{i % _TENANTS}", i, now) for i in range(caps)])


def _fill_clickhouse(store: Store, keys: list[tuple[str, str, str]], caps: int) -> None:
    now = datetime.now(UTC)
    for start in range(0, len(keys), 20_000):
        store.client.insert(
            "api_keys",
            [
                [w, k, hash_secret(f"llmo_{k}_x"), ["read"], "", now, False, 1]
                for w, k, _ in keys[start : start + 20_000]
            ],
            column_names=["tenant", "key_id", "key_hash", "scopes", "name", "created_at", "revoked", "version"],
        )
    rows = []
    for i in range(caps):
        r = _cap_row(f"ws{i % _TENANTS}", i, now)
        rows.append([r["workspace"], r["cap_id"], r["name"], r["scope"], r["value"], r["period"], r["time_zone"],
                     r["limit_usd"], r["thresholds"], r["enforcement"], [], [], "whsec_x", True, now, now, False, 1])  # fmt: skip
    store.client.insert(
        "caps",
        rows,
        column_names=["tenant", "cap_id", "name", "scope", "value", "period", "time_zone", "limit_usd", "thresholds",
                      "enforcement", "recipients", "webhooks", "webhook_secret", "enabled", "created_at", "updated_at",
                      "deleted", "version"],
    )  # fmt: skip


def _clickhouse_lookup(store: Store, key: str) -> Any:
    """The previous release's ``lookup_key`` query."""
    return store.client.query(
        "SELECT tenant, key_id, scopes, revoked FROM api_keys FINAL WHERE key_hash = {h:String}",
        parameters={"h": hash_secret(key)},
    ).result_rows


def _clickhouse_caps(store: Store, tenant: str) -> Any:
    """The previous release's ``list_caps`` query."""
    return store.client.query(
        "SELECT cap_id, name, scope, value, period, time_zone, limit_usd, thresholds, enforcement, recipients, "
        "webhooks, webhook_secret, enabled, created_at, updated_at FROM caps FINAL "
        "WHERE tenant = {t:String} AND NOT deleted ORDER BY created_at, cap_id",
        parameters={"t": tenant},
    ).result_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--caps", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--postgres", default=None)
    args = parser.parse_args(argv)
    keys = _keys(args.keys)
    probe = random.Random(7)
    results: list[tuple[str, tuple[float, float], tuple[float, float]]] = []
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(StoreConfig(Path(tmp) / "chdb"))
        stack.callback(store.close)
        started = time.perf_counter()
        _fill_clickhouse(store, keys, args.caps)
        print(f"ClickHouse (previous release): filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        backends: list[tuple[str, str]] = [("SQLite", default_url(Path(tmp) / "sqlite"))]
        if args.postgres:
            backends.append(("PostgreSQL", args.postgres))
        else:
            print("PostgreSQL: not measured (pass --postgres URL of an empty database)", file=sys.stderr)
        results.append(
            (
                "ClickHouse (previous release)",
                _timed(lambda: _clickhouse_lookup(store, f"llmo_{probe.choice(keys)[1]}_x"), args.lookups),
                _timed(lambda: _clickhouse_caps(store, f"ws{probe.randrange(_TENANTS)}"), args.lookups // 4),
            )
        )
        for name, url in backends:
            control = ControlStore.open(url)
            stack.callback(control.close)
            started = time.perf_counter()
            _fill_control(control, keys, args.caps)
            print(f"{name}: filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
            results.append(
                (
                    name,
                    _timed(lambda c=control: c.lookup_key(f"llmo_{probe.choice(keys)[1]}_x"), args.lookups),
                    _timed(lambda c=control: c.list_caps(f"ws{probe.randrange(_TENANTS)}"), args.lookups // 4),
                )
            )
    print(f"\n{args.keys:,} keys, {args.caps:,} caps ({args.caps // _TENANTS} per workspace); milliseconds")
    print(f"{'store':32} {'key lookup p50':>15} {'p95':>8} {'caps read p50':>15} {'p95':>8}")
    for name, (k50, k95), (c50, c95) in results:
        print(f"{name:32} {k50:15.3f} {k95:8.3f} {c50:15.3f} {c95:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
