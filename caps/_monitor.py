"""The cap monitor: fires each threshold crossing once, within seconds of the write that crossed it.

Running spend is kept in memory per (cap, subject) and grows with every durable span write the
receiver in this process makes (``Store.on_spans_written``); a threshold it reaches fires at once.
Every ``recompute_s`` the spend of every watched tenant is read exactly from storage and replaces
the running totals, which corrects what memory cannot see: spans written by other processes,
re-pricing, a customer inherited later, and the rare span counted twice (an exporter re-sending a
batch whose acknowledgement it lost, or a write racing the recompute's read). Confirming each
crossing with an exact read instead was measured: during heavy ingest the current hour's rollups
are always dirty, so each read scans the raw spans of the period, and ingest fell to 0.46x.

Exactly once, by the control store: an alert's id is derived from (cap, subject, period, limit,
threshold) and is the alerts table's primary key; its row is claimed before anyone is notified, and
only the process whose insert wrote it notifies. One process monitors at a time, the holder of the
``cap-monitor`` lease; every ``serve`` runs a monitor that waits for the lease, so when the holder
dies another takes over within the lease's ttl, reads every tenant exactly and delivers the alerts
whose notifications had not finished (see docs/caps.md).

What a tenant can make it send is budgeted: an ``each_customer`` cap sends one digest per threshold
per pass, listing the customers that crossed it (whoever holds an ingest key chooses customer ids:
10,000 invented customers are one message, not 10,000), a cap sends at most ``alerts_per_period``
messages per period (the alerts are still recorded, marked not sent), e-mail goes only to
recipients who confirmed their address, and the notifier bounds the rest (``Notifier``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from setproctitle import setthreadtitle

from llmobserve.control import ControlStore, StoredAlert, StoredCap
from llmobserve.storage import Store, written_spend, written_tenants

from ._periods import period_window
from ._status import evaluate, utcnow
from .notify import AlertMessage, Delivery, Notifier

__all__ = ["CapMonitor", "alert_message", "send_alerts"]

log = logging.getLogger("llmobserve.alerts")

_MAX_QUEUED_WRITES = 1000  # tables waiting for the monitor thread; beyond, it recomputes exactly instead
_VALUED = ("provider", "model", "agent", "customer", "service")
_PASS_GAP_S = 0.5
_LEASE = "cap-monitor"
_CAPS_POLL_S = 1.0  # how soon a cap changed through another process is watched
_DIGEST_NAMES = 20  # customers named in an each_customer digest; the others are counted


def alert_id(tenant: str, cap: StoredCap, subject: str, period_start: datetime, threshold: Decimal) -> str:
    key = "|".join(
        (
            tenant,
            cap.cap_id,
            subject,
            period_start.isoformat(),
            str(cap.limit_usd.normalize()),
            str(threshold.normalize()),
        )
    )
    return "alert_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def alert_message(
    tenant: str, alert: StoredAlert, cap: StoredCap, public_url: str, customers: list[str] | None = None
) -> AlertMessage:
    """``customers``: an each_customer digest's customers (all of them: the message names the first)."""
    named = tuple(sorted(customers or ())[:_DIGEST_NAMES])
    return AlertMessage(
        alert.alert_id,
        tenant,
        cap.cap_id,
        cap.name,
        cap.scope,
        alert.subject,
        alert.threshold.normalize(),
        alert.spend_usd.normalize(),
        alert.limit_usd.normalize(),
        cap.period,
        cap.time_zone,
        alert.period_start,
        alert.resets_at,
        alert.fired_at,
        f"{public_url.rstrip('/')}/caps/{cap.cap_id}/edit",
        cap.enforcement,
        alert.test,
        named,
        len(customers or ()) - len(named),
    )


class CapMonitor:
    def __init__(
        self,
        store: Store,
        control: ControlStore,
        notifier: Notifier,
        *,
        public_url: str,
        recompute_s: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        alerts_per_period: int = 20,
        lease_ttl_s: float = 15.0,
        holder: str | None = None,
    ) -> None:
        """One process monitors at a time: the holder of the ``cap-monitor`` lease, renewed every
        ``lease_ttl_s``/3; when it dies another takes over within ``lease_ttl_s``. ``holder`` names this
        monitor in the lease (default: host, pid and a random part); a process that alone may open its
        data dir passes one of its own, so that after a crash it takes its lease back at once."""
        self.store = store
        self.control = control
        self.notifier = notifier
        self.public_url = public_url.rstrip("/")
        self.recompute_s = recompute_s
        self.clock = clock
        self._caps: dict[str, list[StoredCap]] = {}
        self._index: dict[str, dict[tuple[str, str], list[StoredCap]]] = {}  # tenant -> (scope, value) -> caps
        # (tenant, cap id, subject) -> (start of the period it is for, spend)
        self._running: dict[tuple[str, str, str], tuple[datetime, Decimal]] = {}
        self._next: dict[tuple[str, str, str], Decimal | None] = {}  # -> the next unfired threshold's amount
        self._fired: dict[str, set[str]] = {}
        self._writes: deque[Any] = deque()
        self._dirty: set[str] = set()  # tenants whose caps changed: reload and check exactly
        self._overflow = False
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.alerts_per_period = alerts_per_period
        self._sent: dict[tuple[str, str, datetime], int] = {}  # (tenant, cap, period start) -> messages
        self.recomputes = 0
        self.last_recompute_s = 0.0
        self.lease_ttl_s = lease_ttl_s
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.leading = False
        self._caps_seen: int | None = None  # the control store's caps counter at the last poll

    # -- inputs ---------------------------------------------------------------------------
    def note_write(self, table: Any) -> None:
        """After a durable span write, on the writer's thread: only hand the table on."""
        with self._cond:
            if len(self._writes) >= _MAX_QUEUED_WRITES:
                self._overflow = True
            else:
                self._writes.append(table)
            self._cond.notify()

    def caps_changed(self, tenant: str) -> None:
        with self._cond:
            self._dirty.add(tenant)
            self._cond.notify()

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self.store.on_spans_written(self.note_write)
        self._thread = threading.Thread(target=self._run, name="llmobserve-caps", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        setthreadtitle("llmo-caps")  # names it in top -H and /proc
        next_full = last_pass = next_lease = next_poll = 0.0
        while True:
            if time.monotonic() >= next_lease:
                next_lease = time.monotonic() + self.lease_ttl_s / 3
                if self._lead():
                    next_full = 0.0  # read every watched tenant exactly, fire what was missed meanwhile
                    self._caps_seen = None
                    try:
                        self._resume_deliveries()
                    except Exception:
                        log.exception("cap monitor: could not resume undelivered alerts")
            if self.leading and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + _CAPS_POLL_S
                self._poll_caps()
            # A process that does not lead only wakes to try for the lease.
            wake = min(next_full, next_lease, next_poll) if self.leading else next_lease
            with self._cond:
                while not (
                    self._stop
                    or (self.leading and (self._writes or self._dirty or self._overflow))
                    or time.monotonic() >= wake
                ):
                    self._cond.wait(max(0.0, wake - time.monotonic()))
                # Writes are taken in batches at most every _PASS_GAP_S: larger batches repeat fewer
                # label values, which is what the running totals cost (measured with bench/caps.py).
                while not self._stop and (wait := last_pass + _PASS_GAP_S - time.monotonic()) > 0:
                    self._cond.wait(wait)
                last_pass = time.monotonic()
                if self._stop:
                    if self.leading:
                        self._release()
                    return
                writes, self._writes = list(self._writes), deque()
                dirty, self._dirty = self._dirty, set()
                full = self._overflow or time.monotonic() >= next_full
                self._overflow = False
            if not self.leading:
                continue  # another process monitors: what was written here it reads from storage
            try:
                if full:
                    next_full = time.monotonic() + self.recompute_s
                    self.recompute()
                else:
                    for tenant in dirty:
                        self._caps.pop(tenant, None)
                        self._index.pop(tenant, None)
                    self._grown(writes)
                    for tenant in dirty:
                        self._exact(tenant)
            except Exception:  # storage down, a bug: log, keep watching
                log.exception("cap monitor: check failed; retrying at the next write or recompute")
                next_full = min(next_full, time.monotonic() + 5.0)

    def _poll_caps(self) -> None:
        """Caps changed through any process (this one's changes also arrive by ``caps_changed``)."""
        try:
            version, changed = self.control.caps_changed_since(self._caps_seen)
        except Exception:
            log.exception("cap monitor: could not ask which caps changed")
            return
        if changed:
            with self._cond:
                self._dirty.update(changed)
        self._caps_seen = version

    def _lead(self) -> bool:
        """Take or renew the monitor's lease; True when this process has just taken it."""
        try:
            held = self.control.take_lease(_LEASE, self.holder, datetime.now(UTC), timedelta(seconds=self.lease_ttl_s))
        except Exception:
            log.exception("cap monitor: the lease could not be renewed; standing down until it can")
            held = False
        was, self.leading = self.leading, held
        if held and not was:
            log.info("cap monitor: this process (%s) monitors the caps", self.holder)
        elif was and not held:
            log.warning("cap monitor: lost the lease to another process; standing down")
            self._caps, self._index, self._running, self._next = {}, {}, {}, {}
        return held and not was

    def _release(self) -> None:
        try:
            self.control.release_lease(_LEASE, self.holder)
        except Exception:
            log.exception("cap monitor: could not release the lease (another process takes it when it expires)")

    # -- the work -------------------------------------------------------------------------
    def recompute(self) -> None:
        """Read every watched tenant's spend exactly and fire what it crossed."""
        started = time.perf_counter()
        tenants = self.control.tenants_with_caps()
        self._caps, self._index = {}, {}
        self._running, self._next = {}, {}
        self._fired = self.control.fired_alert_ids(self._oldest_period_start(tenants))
        for tenant in tenants:
            self._exact(tenant)
        self.recomputes += 1
        self.last_recompute_s = time.perf_counter() - started

    def _oldest_period_start(self, tenants: list[str]) -> datetime:
        now = self.clock()
        starts = [period_window(c.period, c.time_zone, now)[0] for t in tenants for c in self._tenant_caps(t)]
        return min(starts, default=now)

    def _tenant_caps(self, tenant: str) -> list[StoredCap]:
        caps = self._caps.get(tenant)
        if caps is None:
            caps = self._caps[tenant] = [c for c in self.control.list_caps(tenant) if c.enabled]
            index: dict[tuple[str, str], list[StoredCap]] = {}
            for cap in caps:  # global and each_customer apply to every call: keyed by scope alone
                index.setdefault((cap.scope, cap.value if cap.scope in _VALUED else ""), []).append(cap)
            self._index[tenant] = index
        return caps

    def _watched(self, tenant: str) -> bool:
        return bool(self._caps.get(tenant)) or (tenant not in self._caps and bool(self._tenant_caps(tenant)))

    def _grown(self, writes: list[Any]) -> None:
        """Add written spend to the running totals and fire the thresholds they reach."""
        tenants = [t for t in written_tenants(writes) if self._watched(t)] if writes else []
        if not tenants:
            return
        now = self.clock()
        windows: dict[tuple[str, str], tuple[datetime, datetime | None]] = {}
        for tenant, spend in written_spend(writes, tenants).items():
            index = self._index[tenant]
            added = [(cap, "", sum(spend["provider"].values(), Decimal(0))) for cap in index.get(("global", ""), ())]
            for customer, cost in spend["customer"].items():
                if customer:
                    added += [(cap, customer, cost) for cap in index.get(("each_customer", ""), ())]
            for scope in _VALUED:
                for value, cost in spend[scope].items():
                    added += [(cap, value, cost) for cap in index.get((scope, value), ())]
            crossings: list[tuple[StoredAlert, StoredCap]] = []
            for cap, subject, cost in added:
                window = windows.get((cap.period, cap.time_zone))
                if window is None:
                    window = windows[(cap.period, cap.time_zone)] = period_window(cap.period, cap.time_zone, now)
                key = (tenant, cap.cap_id, subject)
                period_start, running = self._running.get(key, (window[0], Decimal(0)))
                if period_start != window[0]:  # the period rolled over since this total began
                    running = Decimal(0)
                    self._next.pop(key, None)
                running += cost
                self._running[key] = (window[0], running)
                # A subject not read exactly yet (a new customer) waits for the lowest threshold.
                next_amount = self._next.get(key, cap.thresholds[0] * cap.limit_usd)
                if next_amount is not None and running >= next_amount:
                    crossings += self._crossed(tenant, cap, subject, running, window, now)
            self._record(tenant, crossings)

    def _exact(self, tenant: str, cap_ids: set[str] | None = None) -> None:
        caps = [c for c in self._tenant_caps(tenant) if cap_ids is None or c.cap_id in cap_ids]
        if not caps:
            return
        now = self.clock()
        crossings: list[tuple[StoredAlert, StoredCap]] = []
        for status in evaluate(self.store, tenant, caps, self.clock):
            for subject, spend in status.subjects().items():
                self._running[(tenant, status.cap.cap_id, subject)] = (status.period_start, spend)
                crossings += self._crossed(
                    tenant, status.cap, subject, spend, (status.period_start, status.resets_at), now
                )
        self._record(tenant, crossings)

    def _crossed(
        self,
        tenant: str,
        cap: StoredCap,
        subject: str,
        spend: Decimal,
        window: tuple[datetime, datetime | None],
        now: datetime,
    ) -> list[tuple[StoredAlert, StoredCap]]:
        """Alerts for the thresholds ``spend`` reached and no alert has fired for yet (all of them:
        a jump past two thresholds fires both); remembers the next threshold to watch for."""
        fired = self._fired.setdefault(tenant, set())
        key = (tenant, cap.cap_id, subject)
        self._next[key] = None
        found = []
        for threshold in cap.thresholds:  # sorted ascending
            ident = alert_id(tenant, cap, subject, window[0], threshold)
            if ident in fired:
                continue
            if spend < threshold * cap.limit_usd:
                self._next[key] = threshold * cap.limit_usd
                break
            # Nobody to tell: recorded as delivered at once (one write, not two).
            quiet = not cap.recipients and not cap.webhooks
            found.append(
                (
                    StoredAlert(
                        ident,
                        cap.cap_id,
                        cap.name,
                        cap.scope,
                        subject,
                        threshold,
                        spend,
                        cap.limit_usd,
                        cap.period,
                        window[0],
                        window[1],
                        now,
                        delivered=quiet,
                    ),
                    cap,
                )
            )
        return found

    def _record(self, tenant: str, crossings: list[tuple[StoredAlert, StoredCap]]) -> None:
        if not crossings:
            return
        # Durable before anyone hears, and only what no other process wrote first: never twice.
        claimed = {a.alert_id for a in self.control.claim_alerts(tenant, [alert for alert, _ in crossings])}
        fired = self._fired.setdefault(tenant, set())
        fired.update(alert.alert_id for alert, _ in crossings)  # claimed here or by another process
        crossings = [(alert, cap) for alert, cap in crossings if alert.alert_id in claimed]
        for alert, cap in crossings:
            log.info(
                "tenant %r: cap %s (%s) crossed %s%% at $%s",
                tenant,
                cap.cap_id,
                alert.subject or cap.scope,
                alert.threshold * 100,
                alert.spend_usd,
            )
        self._notify(tenant, [(a, c) for a, c in crossings if not a.delivered])

    def _notify(self, tenant: str, alerts: list[tuple[StoredAlert, StoredCap]]) -> None:
        """One message per alert, but one per (cap, threshold) for each_customer caps: a digest."""
        groups: dict[tuple[str, Decimal, bool] | str, list[tuple[StoredAlert, StoredCap]]] = {}
        for alert, cap in alerts:
            key = (cap.cap_id, alert.threshold, alert.test) if cap.scope == "each_customer" else alert.alert_id
            groups.setdefault(key, []).append((alert, cap))
        for group in groups.values():
            self._deliver(tenant, [a for a, _ in group], group[0][1])

    def _deliver(self, tenant: str, alerts: list[StoredAlert], cap: StoredCap) -> None:
        lead = min(alerts, key=lambda a: a.subject)
        budget = (tenant, cap.cap_id, lead.period_start)
        sent = self._sent.get(budget, 0)
        if sent >= self.alerts_per_period:
            why = f"not sent: this cap sent its {self.alerts_per_period} alerts for this period"
            self._delivered(tenant, alerts, [Delivery("budget", "", False, 0, None, why, datetime.now(UTC))])
            return
        self._sent[budget] = sent + 1
        if len(self._sent) > 100_000:  # budgets of periods that ended go first (oldest start)
            for key in sorted(self._sent, key=lambda k: k[2])[: len(self._sent) // 2]:
                del self._sent[key]
        send_alerts(self.control, self.notifier, self.public_url, tenant, alerts, cap)

    def _delivered(self, tenant: str, alerts: list[StoredAlert], deliveries: list[Delivery]) -> None:
        _record_deliveries(self.control, tenant, alerts, deliveries)

    def _resume_deliveries(self) -> None:
        """Alerts written but not yet delivered when the last process stopped."""
        for tenant in self.control.tenants_with_caps():
            caps = {c.cap_id: c for c in self.control.list_caps(tenant)}
            alerts = self.control.list_alerts(tenant, undelivered_only=True)
            self._notify(tenant, [(a, caps[a.cap_id]) for a in alerts if a.cap_id in caps])


def send_alerts(
    control: ControlStore, notifier: Notifier, public_url: str, tenant: str, alerts: list[StoredAlert], cap: StoredCap
) -> None:
    """Queue one message for ``alerts`` (one alert, or an each_customer digest: one per customer);
    their deliveries are recorded on every one of them when the last channel ends."""
    lead = min(alerts, key=lambda a: a.subject)
    customers = [a.subject for a in alerts] if cap.scope == "each_customer" and not lead.test else None
    message = alert_message(tenant, lead, cap, public_url, customers)
    recipients, unconfirmed = list(cap.recipients), list[str]()
    if notifier.email_enabled:  # with e-mail off, that is what each alert's record says
        recipients, unconfirmed = confirmed_only(control, tenant, cap.recipients)
    notes = [_unconfirmed(unconfirmed)] if unconfirmed else []
    notifier.send(
        message,
        recipients,
        cap.webhooks,
        lambda deliveries: _record_deliveries(control, tenant, alerts, notes + deliveries),
        cap.webhook_secret,
    )


def _record_deliveries(
    control: ControlStore, tenant: str, alerts: list[StoredAlert], deliveries: list[Delivery]
) -> None:
    try:
        control.record_deliveries(tenant, [a.alert_id for a in alerts], [d.as_dict() for d in deliveries])
    except Exception:
        log.exception("cap monitor: recording the deliveries of %s failed", alerts[0].alert_id)


def confirmed_only(control: ControlStore, tenant: str, recipients: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(confirmed, unconfirmed) recipients: alerts are e-mailed only to addresses that confirmed."""
    if not recipients:
        return [], []
    confirmed = control.confirmed_recipients(tenant)
    kept = [r for r in recipients if r.strip().lower() in confirmed]
    return kept, [r for r in recipients if r.strip().lower() not in confirmed]


def _unconfirmed(addresses: list[str]) -> Delivery:
    why = "not sent: the address has not confirmed it wants these alerts (a link was e-mailed to it)"
    return Delivery("email", ", ".join(addresses), False, 0, None, why, datetime.now(UTC))
