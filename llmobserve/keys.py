"""``llmobserve keys create``: directly on the store, or through the server that holds it."""

from __future__ import annotations

import sys
from pathlib import Path

from llmobserve.storage import DEFAULT_SCOPES, InvalidTenantError, StorageError, StorageLockedError, Store, StoreConfig

from ._local import post_to_running_server

__all__ = ["create_key_cli"]


def _through_server(data_dir: Path, tenant: str, scopes: list[str], name: str) -> int:
    done = post_to_running_server(
        data_dir, "/api/v1/_local/keys", {"tenant": tenant, "scopes": scopes, "name": name}, timeout=30
    )
    if done is None:
        return 1
    running, body = done
    print(
        f"created key {body['key_id']} for tenant {tenant!r} with scopes {', '.join(body['scopes'])} "
        f"(via the running server, pid {running.pid}); it is shown once:",
        file=sys.stderr,
    )
    print(body["key"])
    return 0


def create_key_cli(tenant: str, scopes: list[str] | None, name: str, config: StoreConfig) -> int:
    chosen = sorted(set(scopes or DEFAULT_SCOPES))
    try:
        store = Store.open(config)
    except StorageLockedError:
        return _through_server(config.data_dir, tenant, chosen, name)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        key, key_id = store.create_key(tenant, tuple(chosen), name)
    except (InvalidTenantError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(
        f"created key {key_id} for tenant {tenant!r} with scopes {', '.join(chosen)}; it is shown once:",
        file=sys.stderr,
    )
    print(key)
    return 0
