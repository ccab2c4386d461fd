"""``llmobserve pricing import|reprice``: on the store directly, or through the running server."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from storage import Store, StorageError, StorageLockedError, config_from_env

from ._local import LOCAL_TOKEN_HEADER, read_server_file

__all__ = ["import_prices", "reprice_cli"]


def _through_server(data_dir: Path, path: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    running = read_server_file(data_dir)
    if running is None:
        print(f"error: {data_dir} is locked by a process that is not a reachable llmobserve server; stop it and retry",
              file=sys.stderr)
        return None
    try:
        response = httpx.post(f"{running.http_url}{path}", json=payload, headers={LOCAL_TOKEN_HEADER: running.token},
                              timeout=600)
    except httpx.HTTPError as exc:
        print(f"error: the server holding {data_dir} (pid {running.pid}) did not answer: {exc}", file=sys.stderr)
        return None
    if response.status_code != 200:
        print(f"error: {response.json().get('detail', response.text)}", file=sys.stderr)
        return None
    return response.json()  # type: ignore[no-any-return]


def _parse_time(name: str, raw: str) -> datetime:
    text = raw if len(raw) != 10 else raw + "T00:00:00"
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"error: --{name} must be an ISO 8601 time such as 2026-11-01, got {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def import_prices(path: str, tenant: str, data_dir: str | None) -> int:
    from query_api import parse_litellm

    try:
        parsed = parse_litellm(Path(path).read_text(), Path(path).name)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = config_from_env(data_dir)
    try:
        store = Store.open(config)
    except StorageLockedError:
        done = _through_server(config.data_dir, "/api/v1/_local/prices/litellm",
                               {"tenant": tenant, "text": Path(path).read_text(), "source": Path(path).name})
        if done is None:
            return 1
        print(f"imported {done['imported']} prices for tenant {tenant!r} (skipped {done['skipped']} entries "
              "without token prices); run `llmobserve pricing reprice` to apply them to stored spans")
        return 0
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        store.ensure_tenant(tenant)
        for price in parsed.prices:
            store.put_price(tenant, price)
    finally:
        store.close()
    print(f"imported {len(parsed.prices)} prices for tenant {tenant!r} (skipped {len(parsed.skipped)} entries "
          "without token prices); run `llmobserve pricing reprice` to apply them to stored spans")
    return 0


def reprice_cli(tenant: str, start: str, end: str, data_dir: str | None) -> int:
    from pricing import Pricer, TenantPriceCache
    from query_api import reprice, rules_for

    frm, to = _parse_time("from", start), _parse_time("to", end)
    if frm >= to:
        print("error: --from must be before --to", file=sys.stderr)
        return 2
    config = config_from_env(data_dir)
    try:
        store = Store.open(config)
    except StorageLockedError:
        done = _through_server(config.data_dir, "/api/v1/_local/reprice",
                               {"tenant": tenant, "from": frm.isoformat(), "to": to.isoformat()})
        if done is None:
            return 1
        print(f"repriced {done['spans']} spans: ${done['cost_before_usd']} -> ${done['cost_after_usd']}")
        return 0
    try:
        prices = TenantPriceCache(lambda t: rules_for(store, t))
        result = reprice(store, tenant, frm, to, Pricer(), prices.for_tenant(tenant))
    finally:
        store.close()
    print(f"repriced {result.spans} spans: ${float(result.cost_before)} -> ${float(result.cost_after)}")
    return 0
