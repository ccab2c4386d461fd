"""``llmobserve keys create``: directly on the store, or through the server that holds it."""

from __future__ import annotations

import sys

import httpx

from storage import DEFAULT_SCOPES, InvalidTenantError, Store, StorageError, StorageLockedError, config_from_env

from ._local import LOCAL_TOKEN_HEADER, read_server_file

__all__ = ["create_key_cli"]


def _through_server(data_dir_label: str, tenant: str, scopes: list[str], name: str, config_dir) -> int:
    running = read_server_file(config_dir)
    if running is None:
        print(f"error: {data_dir_label} is locked by another process that is not an llmobserve server "
              "this command can reach. Stop that process and retry.", file=sys.stderr)
        return 1
    try:
        response = httpx.post(
            f"{running.http_url}/api/v1/_local/keys",
            json={"tenant": tenant, "scopes": scopes, "name": name},
            headers={LOCAL_TOKEN_HEADER: running.token},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        print(f"error: {data_dir_label} is held by llmobserve (pid {running.pid}) but {running.http_url} "
              f"did not answer ({exc}). Is it still starting? Retry, or stop it.", file=sys.stderr)
        return 1
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.headers.get("content-type", "").startswith(
            "application/json") else response.text
        print(f"error: {detail}", file=sys.stderr)
        return 1
    body = response.json()
    print(f"created key {body['key_id']} for tenant {tenant!r} with scopes {', '.join(body['scopes'])} "
          f"(via the running server, pid {running.pid}); it is shown once:", file=sys.stderr)
    print(body["key"])
    return 0


def create_key_cli(tenant: str, scopes: list[str] | None, name: str, data_dir: str | None) -> int:
    config = config_from_env(data_dir)
    chosen = sorted(set(scopes or DEFAULT_SCOPES))
    try:
        store = Store.open(config)
    except StorageLockedError:
        return _through_server(str(config.data_dir), tenant, chosen, name, config.data_dir)
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
    print(f"created key {key_id} for tenant {tenant!r} with scopes {', '.join(chosen)}; it is shown once:",
          file=sys.stderr)
    print(key)
    return 0
