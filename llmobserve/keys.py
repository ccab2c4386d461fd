"""``llmobserve keys create``: straight into the control store, whether or not a server runs (SQLite
in WAL mode and PostgreSQL both take a second writer)."""

from __future__ import annotations

import sys

from llmobserve.control import DEFAULT_SCOPES, ControlConfigError, ControlStore, InvalidTenantError

__all__ = ["create_key_cli"]


def create_key_cli(tenant: str, scopes: list[str] | None, name: str, control_url: str) -> int:
    chosen = sorted(set(scopes or DEFAULT_SCOPES))
    try:
        control = ControlStore.open(control_url)
    except (ControlConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        key, key_id = control.create_key(tenant, tuple(chosen), name)
    except (InvalidTenantError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        control.close()
    print(
        f"created key {key_id} for tenant {tenant!r} with scopes {', '.join(chosen)}; it is shown once:",
        file=sys.stderr,
    )
    print(key)
    return 0
