"""One ClickHouse client factory for both deployments: embedded chDB or a ClickHouse server."""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from ._exceptions import StorageConfigError, StorageLockedError

__all__ = ["StoreConfig", "connect", "is_locked"]


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """Where the data lives: ``url`` (a ClickHouse server) wins over ``data_dir`` (embedded chDB).

    Built by the caller (``llmobserve.settings``); storage reads no environment of its own.
    """

    data_dir: Path
    url: str | None = None

    @property
    def embedded(self) -> bool:
        return self.url is None

    def describe(self) -> str:
        if self.url is None:
            return f"embedded chDB at {self.data_dir}"
        parsed = urlparse(self.url)
        return f"ClickHouse server {parsed.hostname}:{parsed.port or 8123}{parsed.path or '/default'}"


def _server_client(url: str) -> Client:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StorageConfigError(
            f"the ClickHouse URL must look like http://user:pass@host:8123/db, got {parsed.scheme}://{parsed.hostname}"
        )
    database = parsed.path.strip("/") or "default"
    return clickhouse_connect.get_client(
        host=parsed.hostname,
        port=parsed.port or (8443 if parsed.scheme == "https" else 8123),
        username=unquote(parsed.username or "default"),
        password=unquote(parsed.password or ""),
        database=database,
        secure=parsed.scheme == "https",
        # Sessions serialise queries per client; the receiver and API share one across threads.
        autogenerate_session_id=False,
    )


def connect(config: StoreConfig) -> Client:
    """Open the client. Embedded mode raises ``StorageLockedError`` if another process holds the dir."""
    if config.url is not None:
        return _server_client(config.url)
    # The data dir holds every tenant's spans and key hashes: only its owner may enter it.
    config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if config.data_dir.stat().st_uid == os.getuid():
        config.data_dir.chmod(0o700)
    if is_locked(config.data_dir):
        raise StorageLockedError(
            f"{config.data_dir} is already open (embedded chDB allows one process, and one open store, per data dir)"
        )
    return clickhouse_connect.get_client(dsn=f"chdb://{config.data_dir}")


def is_locked(data_dir: Path) -> bool:
    """Whether another process holds chDB's lock on ``data_dir``.

    chDB only answers a held lock with a generic "Error initializing EmbeddedServer", so we probe
    the same flock ClickHouse takes on ``<dir>/status`` ourselves.
    """
    status = data_dir / "status"
    if not status.exists():
        return False
    with open(status, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False
