"""``llmobserve pricing import|reprice``: on the store directly, or through the running server."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from llmobserve.control import ControlStore
from llmobserve.query_api import parse_iso_time
from llmobserve.storage import StorageError, StorageLockedError, Store, StoreConfig

from ._local import post_to_running_server

__all__ = ["import_prices", "reprice_cli"]


def _through_server(data_dir: Path, path: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    done = post_to_running_server(data_dir, path, payload)
    return None if done is None else done[1]


def _parse_time(name: str, raw: str) -> datetime:
    try:
        return parse_iso_time(raw)
    except ValueError:
        raise SystemExit(f"error: --{name} must be an ISO 8601 time such as 2026-11-01, got {raw!r}") from None


def import_prices(path: str, tenant: str, config: StoreConfig, control_url: str) -> int:
    from llmobserve.query_api import parse_litellm

    try:
        text = Path(path).read_text()
        parsed = parse_litellm(text, Path(path).name)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        store = Store.open(config)
    except StorageLockedError:
        done = _through_server(
            config.data_dir,
            "/api/v1/_local/prices/litellm",
            {"tenant": tenant, "text": text, "source": Path(path).name},
        )
        if done is None:
            return 1
        imported, skipped = done["imported"], done["skipped"]
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    else:
        # No server holds the data dir, so none caches these prices: written straight to the control store.
        store.close()
        control = ControlStore.open(control_url)
        try:
            control.ensure_tenant(tenant)
            for price in parsed.prices:
                control.put_price(tenant, price)
        finally:
            control.close()
        imported, skipped = len(parsed.prices), len(parsed.skipped)
    print(
        f"imported {imported} prices for tenant {tenant!r} (skipped {skipped} entries "
        "without token prices); run `llmobserve pricing reprice` to apply them to stored spans"
    )
    return 0


def reprice_cli(tenant: str, start: str, end: str, config: StoreConfig, control_url: str) -> int:
    from llmobserve.pricing import Pricer, TenantPriceCache
    from llmobserve.query_api import reprice, rules_for

    frm, to = _parse_time("from", start), _parse_time("to", end)
    if frm >= to:
        print("error: --from must be before --to", file=sys.stderr)
        return 2
    try:
        store = Store.open(config)
    except StorageLockedError:
        done = _through_server(
            config.data_dir, "/api/v1/_local/reprice", {"tenant": tenant, "from": frm.isoformat(), "to": to.isoformat()}
        )
        if done is None:
            return 1
        print(f"repriced {done['spans']} spans: ${done['cost_before_usd']} -> ${done['cost_after_usd']}")
        return 0
    control = ControlStore.open(control_url)
    try:
        prices = TenantPriceCache(lambda t: rules_for(control, t))
        result = reprice(store, tenant, frm, to, Pricer(), prices.for_tenant(tenant))
    finally:
        store.close()
        control.close()
    print(f"repriced {result.spans} spans: ${float(result.cost_before)} -> ${float(result.cost_after)}")
    return 0
