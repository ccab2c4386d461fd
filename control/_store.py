"""``ControlStore``: the control plane's one facade. Each method is one transaction; the ones that
read, decide and write take the write lock first (``BEGIN IMMEDIATE`` on SQLite)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from cachetools import TTLCache
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from . import _caps, _copies, _keys, _lease, _prices, _recipients, _sessions
from ._billing import BillingRecords
from ._engine import WRITE, open_engine
from ._ledger import LedgerTx
from ._legacy import COPIERS
from ._migrate import current_revision, migrate
from ._people import People
from ._records import DEFAULT_SCOPES, KeyInfo, Principal, Recipient, StoredAlert, StoredCap, StoredPrice
from ._sessions import SessionRow

__all__ = ["ATTRIBUTION", "DETECT_DUPLICATES", "ControlStore", "ControlUnavailable"]

ATTRIBUTION = {"customer": "attribution.customer", "session": "attribution.session"}
"""The attribution lists a workspace may set: API name -> setting name."""
DETECT_DUPLICATES = "duplicates.detect"
"""Whether one call reported in two traces is charged once (the default) or as reported."""
_T = TypeVar("_T")


class ControlUnavailable(Exception):
    """The control store cannot be reached or is locked past its timeout: retry later (HTTP 503)."""


class ControlStore:
    def __init__(self, engine: Engine, settings_ttl: float = 5.0) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**WRITE)
        # Ingest reads settings per request: cached ``settings_ttl`` s here, dropped at once when
        # this process writes one; other processes see a change within the ttl.
        self._settings: TTLCache[tuple[str, str], Any] = TTLCache(10_000, settings_ttl, timer=time.monotonic)
        self._settings_lock = threading.Lock()  # a TTLCache is not thread-safe
        self.people = People(self)
        """Users, sign-ins, memberships, invitations, links and the audit log."""
        self.billing = BillingRecords(self)
        """Subscriptions as Stripe last said, Stripe events applied, promo codes, usage per day."""

    @classmethod
    def open(cls, url: str) -> ControlStore:
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def describe(self) -> str:
        """Where the store is, without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise ControlUnavailable(f"the control store does not answer: {exc.orig}") from exc

    def _do(self, work: Callable[[Connection], _T]) -> _T:
        """``work`` in one write transaction."""
        try:
            with self._writer.begin() as conn:
                return work(conn)
        except OperationalError as exc:
            raise ControlUnavailable(f"the control store does not answer: {exc.orig}") from exc

    def _for(self, workspace: str, work: Callable[[Connection], _T]) -> _T:
        """``work`` in one write transaction that first makes the workspace if it is new (its rows
        reference it; a workspace is otherwise made with its first key)."""

        def both(conn: Connection) -> _T:
            _keys.ensure_workspace(conn, workspace)
            return work(conn)

        return self._do(both)

    def revision(self) -> str | None:
        with self._read() as conn:
            return current_revision(conn)

    # workspaces and keys
    def ensure_tenant(self, tenant: str) -> bool:
        return self._do(lambda c: _keys.ensure_workspace(c, tenant))

    def tenant_count(self) -> int:
        with self._read() as conn:
            return _keys.workspace_count(conn)

    def create_key(
        self, tenant: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, name: str = "", created_by: str | None = None
    ) -> tuple[str, str]:
        return self._do(lambda c: _keys.create_key(c, tenant, scopes, name, created_by))

    def lookup_key(self, key: str) -> Principal | None:
        with self._read() as conn:
            return _keys.lookup_key(conn, key)

    def key_owner(self, key_id: str) -> Principal | None:
        with self._read() as conn:
            return _keys.key_owner_by_id(conn, key_id)

    def list_keys(self, tenant: str) -> list[KeyInfo]:
        with self._read() as conn:
            return _keys.list_keys(conn, tenant)

    def revoke_key(self, tenant: str, key_id: str) -> bool:
        """Revoke the key and end its dashboard sessions, in every process."""

        def revoke(conn: Connection) -> bool:
            found = _keys.revoke_key(conn, tenant, key_id)
            if found:
                _sessions.delete_key_sessions(conn, key_id)
            return found

        return self._do(revoke)

    def key_generation(self) -> int:
        """Grows with every revocation: a process polls it to know its key cache is stale."""
        with self._read() as conn:
            return _keys.key_generation(conn)

    # custom prices and settings
    def put_price(self, tenant: str, price: StoredPrice) -> None:
        self._for(tenant, lambda c: _prices.put_price(c, tenant, price))

    def list_prices(self, tenant: str) -> list[StoredPrice]:
        with self._read() as conn:
            return _prices.list_prices(conn, tenant)

    def delete_price(self, tenant: str, price_id: str) -> bool:
        return self._do(lambda c: _prices.delete_price(c, tenant, price_id))

    def setting(self, tenant: str, name: str) -> Any:
        with self._settings_lock:
            if (tenant, name) in self._settings:
                return self._settings[(tenant, name)]
        with self._read() as conn:
            value = _prices.get_setting(conn, tenant, name)
        with self._settings_lock:
            self._settings[(tenant, name)] = value
        return value

    def put_setting(self, tenant: str, name: str, value: Any) -> None:
        self._for(tenant, lambda c: _prices.put_setting(c, tenant, name, value))
        with self._settings_lock:
            self._settings.pop((tenant, name), None)

    def attribution_attributes(self, tenant: str) -> dict[str, tuple[str, ...] | None]:
        """For ``customer`` and ``session``: the workspace's ordered attribute names, or None for the
        default (``semconv``'s)."""
        return {
            kind: tuple(names) if (names := self.setting(tenant, setting)) else None
            for kind, setting in ATTRIBUTION.items()
        }

    def set_attribution_attributes(self, tenant: str, kind: str, names: list[str] | None) -> None:
        """Set one list (``customer`` or ``session``); None or empty restores the default."""
        self.put_setting(tenant, ATTRIBUTION[kind], names or None)

    def detects_duplicates(self, tenant: str) -> bool:
        """Whether one call reported in two traces is charged once for this workspace (the default)."""
        return self.setting(tenant, DETECT_DUPLICATES) is not False

    def set_detects_duplicates(self, tenant: str, detect: bool) -> None:
        self.put_setting(tenant, DETECT_DUPLICATES, None if detect else False)

    # caps and alerts
    def put_cap(self, tenant: str, cap: StoredCap) -> StoredCap:
        return self._for(tenant, lambda c: _caps.put_cap(c, tenant, cap))

    def list_caps(self, tenant: str, cap_id: str | None = None) -> list[StoredCap]:
        with self._read() as conn:
            return _caps.list_caps(conn, tenant, cap_id)

    def delete_cap(self, tenant: str, cap_id: str) -> bool:
        return self._do(lambda c: _caps.delete_cap(c, tenant, cap_id))

    def caps_changed_since(self, version: int | None) -> tuple[int, list[str]]:
        """(the caps' change counter now, the workspaces whose caps changed after ``version``): one
        indexed query, so every process's monitor can ask each second."""
        with self._read() as conn:
            return _caps.caps_changed_since(conn, version)

    def tenants_with_caps(self) -> list[str]:
        with self._read() as conn:
            return _caps.workspaces_with_caps(conn)

    def claim_alerts(self, tenant: str, alerts: list[StoredAlert]) -> list[StoredAlert]:
        """Write the alerts no process wrote yet; returns them (the only ones to notify about)."""
        return self._for(tenant, lambda c: _caps.claim_alerts(c, tenant, alerts))

    def put_alert(self, tenant: str, alert: StoredAlert) -> None:
        """Write a new alert (a test notification's: its id is random)."""
        self.claim_alerts(tenant, [alert])

    def record_deliveries(self, tenant: str, alert_ids: list[str], deliveries: list[dict[str, object]]) -> None:
        """The alerts are delivered, with this outcome (one for all: they were one message)."""
        self._do(lambda c: _caps.record_deliveries(c, tenant, alert_ids, deliveries))

    def list_alerts(
        self, tenant: str, cap_id: str | None = None, limit: int = 100, undelivered_only: bool = False
    ) -> list[StoredAlert]:
        with self._read() as conn:
            return _caps.list_alerts(conn, tenant, cap_id, limit, undelivered_only)

    def fired_alert_ids(self, since: datetime) -> dict[str, set[str]]:
        with self._read() as conn:
            return _caps.fired_alert_ids(conn, since)

    # e-mail recipients' confirmations
    def confirmed_recipients(self, tenant: str) -> frozenset[str]:
        """The workspace's addresses that confirmed they want its alerts, lower-cased."""
        with self._read() as conn:
            return _recipients.confirmed_recipients(conn, tenant)

    def recipients(self, tenant: str) -> dict[str, Recipient]:
        with self._read() as conn:
            return _recipients.recipients(conn, tenant)

    def confirmation_mails_since(self, tenant: str, since: datetime) -> int:
        with self._read() as conn:
            return _recipients.confirmation_mails_since(conn, tenant, since)

    def recipient_by_token(self, token_hash: str) -> Recipient | None:
        with self._read() as conn:
            return _recipients.recipient_by_token(conn, token_hash)

    def put_recipient(self, recipient: Recipient) -> None:
        self._for(recipient.tenant, lambda c: _recipients.put_recipient(c, recipient))

    # dashboard sessions
    def create_session(self, row: SessionRow, per_key: int, per_workspace: int) -> None:
        self._do(lambda c: _sessions.create_session(c, row, per_key, per_workspace))

    def session(self, id_hash: str) -> SessionRow | None:
        with self._read() as conn:
            return _sessions.get_session(conn, id_hash)

    def touch_session(self, id_hash: str, seen_at: datetime) -> None:
        self._do(lambda c: _sessions.touch_session(c, id_hash, seen_at))

    def switch_session(self, id_hash: str, workspace: str) -> None:
        self._do(lambda c: _sessions.switch_workspace(c, id_hash, workspace))

    def delete_session(self, id_hash: str) -> None:
        self._do(lambda c: _sessions.delete_session(c, id_hash))

    # the strict-mode ledger
    def ledger(self, tenant: str, work: Callable[[LedgerTx], _T]) -> _T:
        """``work`` on the workspace's ledger in one write transaction, the workspace locked: what
        it reads and decides holds across every API process until it commits."""

        def locked(conn: Connection) -> _T:
            tx = LedgerTx(conn, tenant)
            tx.lock_workspace()
            return work(tx)

        return self._for(tenant, locked)

    # leases
    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        return self._do(lambda c: _lease.take_lease(c, name, holder, now, ttl))

    def release_lease(self, name: str, holder: str) -> None:
        self._do(lambda c: _lease.release_lease(c, name, holder))

    # the upgrade from the previous release
    def copied(self) -> set[str]:
        """The previous release's tables already copied in."""
        with self._read() as conn:
            return _copies.copied(conn)

    def copy_legacy(self, table: str, rows: list[dict[str, Any]]) -> int | None:
        """Copy one old table's rows in, once (None: it was copied before)."""
        return self._do(lambda c: _copies.copy_once(c, table, lambda conn: COPIERS[table](conn, rows)))

    # operations
    def backup(self, target: Path) -> None:
        """A consistent copy of a SQLite store at ``target`` (SQLite's online backup: writers may go
        on meanwhile). PostgreSQL is backed up with its own tools (``pg_dump``)."""
        if self.engine.dialect.name != "sqlite":
            raise NotImplementedError(
                "the control store is on PostgreSQL: back it up with pg_dump "
                f"(e.g. pg_dump --format=custom --file=control.dump '{self.describe()}')"
            )
        source = sqlite3.connect(str(self.engine.url.database))
        try:
            copy = sqlite3.connect(str(target))
            try:
                source.backup(copy)
            finally:
                copy.close()
        finally:
            source.close()
