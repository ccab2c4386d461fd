"""``BillingRecords``: what billing keeps in the control store (``ControlStore.billing``), each
method one transaction. Stripe is the truth about subscriptions; these rows are its last answer."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from ._billing_schema import BILLING_ACCOUNTS, PROMO_CODES, PROMO_REDEMPTIONS, STRIPE_EVENTS, USAGE_DAYS
from ._convert import utc, utc_or_none
from ._records import hash_secret
from ._schema import WORKSPACES
from ._upsert import _dialect, insert_new, upsert

if TYPE_CHECKING:
    from ._store import ControlStore

__all__ = ["Account", "BillingRecords", "PromoCode", "PromoRefused", "Subscription", "add_months", "promo_hash"]

_T = TypeVar("_T")


def promo_hash(code: str) -> str:
    """Codes are typed by people: compared without case or surrounding spaces."""
    return hash_secret(code.strip().upper())


@dataclass(frozen=True, slots=True)
class Subscription:
    """A Stripe subscription as retrieved at ``synced_at``."""

    id: str
    customer_id: str
    status: str
    price_id: str | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    synced_at: datetime


@dataclass(frozen=True, slots=True)
class Account:
    workspace: str
    customer_id: str | None = None
    subscription_id: str | None = None
    status: str | None = None
    price_id: str | None = None
    current_period_end: datetime | None = None
    cancel_at_period_end: bool = False
    past_due_since: datetime | None = None
    synced_at: datetime | None = None
    promo_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class PromoCode:
    code_hash: str
    hint: str
    months: int
    max_redemptions: int
    redemptions: int
    expires_at: datetime | None
    disabled_at: datetime | None
    stripe_promotion_code: str | None
    created_at: datetime

    def status(self, now: datetime) -> str:
        if self.disabled_at is not None:
            return "disabled"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        if self.redemptions >= self.max_redemptions:
            return "exhausted"
        return "active"


class PromoRefused(Exception):
    """A redemption refused; ``kind``: unknown | expired | exhausted | disabled | redeemed."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def _account(row: Any) -> Account:
    return Account(
        workspace=row.workspace,
        customer_id=row.customer_id,
        subscription_id=row.subscription_id,
        status=row.status,
        price_id=row.price_id,
        current_period_end=utc_or_none(row.current_period_end),
        cancel_at_period_end=bool(row.cancel_at_period_end),
        past_due_since=utc_or_none(row.past_due_since),
        synced_at=utc_or_none(row.synced_at),
        promo_until=utc_or_none(row.promo_until),
    )


def _promo(row: Any) -> PromoCode:
    return PromoCode(
        code_hash=row.code_hash,
        hint=row.hint,
        months=row.months,
        max_redemptions=row.max_redemptions,
        redemptions=row.redemptions,
        expires_at=utc_or_none(row.expires_at),
        disabled_at=utc_or_none(row.disabled_at),
        stripe_promotion_code=row.stripe_promotion_code,
        created_at=utc(row.created_at),
    )


def add_months(start: datetime, months: int) -> datetime:
    """The same day ``months`` calendar months on (the month's last day when it has fewer days)."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    for day in (start.day, 30, 29, 28):
        try:
            return start.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _locked_account(conn: Connection, workspace: str) -> Any:
    query = select(BILLING_ACCOUNTS).where(BILLING_ACCOUNTS.c.workspace == workspace)
    if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already holds the write lock
        query = query.with_for_update()
    return conn.execute(query).first()


class BillingRecords:
    def __init__(self, store: ControlStore) -> None:
        self._store = store

    def _read(self, work: Callable[[Connection], _T]) -> _T:
        with self._store._read() as conn:  # noqa: SLF001 - one facade split in several files
            return work(conn)

    def _do(self, work: Callable[[Connection], _T]) -> _T:
        return self._store._do(work)  # noqa: SLF001

    # accounts
    def account(self, workspace: str) -> Account:
        row = self._read(
            lambda c: c.execute(select(BILLING_ACCOUNTS).where(BILLING_ACCOUNTS.c.workspace == workspace)).first()
        )
        return _account(row) if row is not None else Account(workspace)

    def accounts(self, workspaces: list[str]) -> dict[str, Account]:
        rows = self._read(
            lambda c: c.execute(select(BILLING_ACCOUNTS).where(BILLING_ACCOUNTS.c.workspace.in_(workspaces))).all()
        )
        return {row.workspace: _account(row) for row in rows}

    def find_workspace(self, reference: str | None, subscription_id: str | None, customer_id: str | None) -> str | None:
        """The workspace an event is about: by our reference (the workspace id), else by its
        subscription, else by its customer."""

        def work(conn: Connection) -> str | None:
            if reference and conn.execute(select(WORKSPACES.c.id).where(WORKSPACES.c.id == reference)).first():
                return reference
            for column, value in (
                (BILLING_ACCOUNTS.c.subscription_id, subscription_id),
                (BILLING_ACCOUNTS.c.customer_id, customer_id),
            ):
                if value:
                    found = conn.execute(select(BILLING_ACCOUNTS.c.workspace).where(column == value)).first()
                    if found is not None:
                        return str(found[0])
            return None

        return self._read(work)

    def set_customer(self, workspace: str, customer_id: str) -> str:
        """Keep ``customer_id`` as the workspace's Stripe customer unless it has one; the one kept."""

        def work(conn: Connection) -> str:
            values = {"workspace": workspace, "customer_id": customer_id, "updated_at": datetime.now(UTC)}
            # Racing first inserts on PostgreSQL wait for the winner, then replace nothing.
            upsert(conn, BILLING_ACCOUNTS, values, ["workspace"], only_if=BILLING_ACCOUNTS.c.customer_id.is_(None))
            query = select(BILLING_ACCOUNTS.c.customer_id).where(BILLING_ACCOUNTS.c.workspace == workspace)
            return str(conn.execute(query).scalar_one())

        return self._do(work)

    def seen_event(self, event_id: str) -> bool:
        return (
            self._read(lambda c: c.execute(select(STRIPE_EVENTS.c.id).where(STRIPE_EVENTS.c.id == event_id)).first())
            is not None
        )

    def apply_event(
        self,
        event_id: str,
        event_type: str,
        created: datetime,
        workspace: str | None,
        subscription: Subscription | None,
        outcome: str,
    ) -> bool:
        """Record the event and write ``subscription`` to the workspace, both or neither; False when
        the event was applied before (nothing is written again). A subscription retrieved before
        the one stored is not written."""

        def work(conn: Connection) -> bool:
            row = {
                "id": event_id,
                "type": event_type,
                "workspace": workspace,
                "created": created,
                "received_at": datetime.now(UTC),
                "outcome": outcome,
            }
            if not insert_new(conn, STRIPE_EVENTS, [row], returning="id"):
                return False
            if workspace is not None and subscription is not None:
                _write_subscription(conn, workspace, subscription)
            return True

        return self._do(work)

    def write_subscription(self, workspace: str, subscription: Subscription) -> None:
        """Write a subscription read outside any event (the person back from Checkout before the webhook)."""
        self._do(lambda conn: _write_subscription(conn, workspace, subscription))

    def events(self, workspace: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = select(STRIPE_EVENTS).order_by(STRIPE_EVENTS.c.received_at.desc()).limit(limit)
        if workspace is not None:
            query = query.where(STRIPE_EVENTS.c.workspace == workspace)
        return [dict(row._mapping) for row in self._read(lambda c: c.execute(query).all())]

    # usage
    def add_usage(self, counts: Mapping[tuple[str, date], tuple[int, int]]) -> None:
        """Add (accepted, refused) spans per (workspace, day)."""
        if not counts:
            return
        rows = [
            {"workspace": workspace, "day": day, "accepted": accepted, "refused": refused}
            for (workspace, day), (accepted, refused) in sorted(counts.items())
        ]

        def work(conn: Connection) -> None:
            statement = _dialect(conn).insert(USAGE_DAYS)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["workspace", "day"],
                    set_={
                        "accepted": USAGE_DAYS.c.accepted + statement.excluded.accepted,
                        "refused": USAGE_DAYS.c.refused + statement.excluded.refused,
                    },
                ),
                rows,
            )

        self._do(work)

    def usage(self, workspace: str, start: date, end: date) -> tuple[int, int]:
        """(accepted, refused) spans from ``start`` to ``end`` (inclusive)."""
        query = select(
            func.coalesce(func.sum(USAGE_DAYS.c.accepted), 0), func.coalesce(func.sum(USAGE_DAYS.c.refused), 0)
        ).where(USAGE_DAYS.c.workspace == workspace, USAGE_DAYS.c.day >= start, USAGE_DAYS.c.day <= end)
        accepted, refused = self._read(lambda c: c.execute(query).one())
        return int(accepted), int(refused)

    def usage_days(self, workspace: str, start: date, end: date) -> list[tuple[date, int, int]]:
        query = (
            select(USAGE_DAYS.c.day, USAGE_DAYS.c.accepted, USAGE_DAYS.c.refused)
            .where(USAGE_DAYS.c.workspace == workspace, USAGE_DAYS.c.day >= start, USAGE_DAYS.c.day <= end)
            .order_by(USAGE_DAYS.c.day)
        )
        return [(row.day, int(row.accepted), int(row.refused)) for row in self._read(lambda c: c.execute(query).all())]

    # promo codes
    def create_promo(
        self,
        code: str,
        months: int,
        max_redemptions: int,
        expires_at: datetime | None,
        stripe_promotion_code: str | None = None,
    ) -> bool:
        """False when the code exists already."""
        row = {
            "code_hash": promo_hash(code),
            "hint": code.strip().upper()[:2] + "…",
            "months": months,
            "max_redemptions": max_redemptions,
            "redemptions": 0,
            "expires_at": expires_at,
            "disabled_at": None,
            "stripe_promotion_code": stripe_promotion_code,
            "created_at": datetime.now(UTC),
        }
        return bool(self._do(lambda c: insert_new(c, PROMO_CODES, [row], returning="code_hash")))

    def promos(self) -> list[PromoCode]:
        rows = self._read(lambda c: c.execute(select(PROMO_CODES).order_by(PROMO_CODES.c.created_at)).all())
        return [_promo(row) for row in rows]

    def promo(self, code: str) -> PromoCode | None:
        query = select(PROMO_CODES).where(PROMO_CODES.c.code_hash == promo_hash(code))
        row = self._read(lambda c: c.execute(query).first())
        return _promo(row) if row is not None else None

    def disable_promo(self, code: str) -> bool:
        statement = (
            update(PROMO_CODES)
            .where(PROMO_CODES.c.code_hash == promo_hash(code), PROMO_CODES.c.disabled_at.is_(None))
            .values(disabled_at=datetime.now(UTC))
        )
        return bool(self._do(lambda c: c.execute(statement).rowcount))

    def redeem(self, code: str, workspace: str, now: datetime | None = None) -> PromoCode:
        """Take one redemption of ``code`` for ``workspace``; for a code not bound to a Stripe
        promotion code, extend the workspace's ``promo_until`` by its months. Raises PromoRefused."""
        now = now or datetime.now(UTC)
        code_hash = promo_hash(code)

        def work(conn: Connection) -> PromoCode:
            row = conn.execute(select(PROMO_CODES).where(PROMO_CODES.c.code_hash == code_hash)).first()
            if row is None:
                raise PromoRefused("unknown")
            promo = _promo(row)
            if conn.execute(
                select(PROMO_REDEMPTIONS.c.code_hash).where(
                    PROMO_REDEMPTIONS.c.code_hash == code_hash, PROMO_REDEMPTIONS.c.workspace == workspace
                )
            ).first():
                raise PromoRefused("redeemed")
            if promo.status(now) != "active":
                raise PromoRefused(promo.status(now))
            # The predicate makes the last redemption go to one of two racing transactions on PostgreSQL
            # too (the loser's UPDATE re-reads the row after the winner commits and matches nothing).
            taken = conn.execute(
                update(PROMO_CODES)
                .where(PROMO_CODES.c.code_hash == code_hash, PROMO_CODES.c.redemptions < PROMO_CODES.c.max_redemptions)
                .values(redemptions=PROMO_CODES.c.redemptions + 1)
            ).rowcount
            if not taken:
                raise PromoRefused("exhausted")
            conn.execute(PROMO_REDEMPTIONS.insert().values(code_hash=code_hash, workspace=workspace, redeemed_at=now))
            if promo.stripe_promotion_code is None:
                account = _locked_account(conn, workspace)
                until = utc_or_none(account.promo_until) if account is not None else None
                start = until if until is not None and until > now else now
                upsert(
                    conn,
                    BILLING_ACCOUNTS,
                    {"workspace": workspace, "promo_until": add_months(start, promo.months), "updated_at": now},
                    ["workspace"],
                )
            return promo

        try:
            return self._do(work)
        except IntegrityError:  # the same workspace redeemed it in a racing transaction
            raise PromoRefused("redeemed") from None


def _write_subscription(conn: Connection, workspace: str, sub: Subscription) -> None:
    row = _locked_account(conn, workspace)
    if row is not None and row.synced_at is not None and utc(row.synced_at) > sub.synced_at:
        return
    past_due_since = None
    if sub.status == "past_due":
        before = utc_or_none(row.past_due_since) if row is not None else None
        past_due_since = before if before is not None and row.status == "past_due" else sub.synced_at
    values = {
        "workspace": workspace,
        "customer_id": sub.customer_id,
        "subscription_id": sub.id,
        "status": sub.status,
        "price_id": sub.price_id,
        "current_period_end": sub.current_period_end,
        "cancel_at_period_end": sub.cancel_at_period_end,
        "past_due_since": past_due_since,
        "synced_at": sub.synced_at,
        "updated_at": datetime.now(UTC),
    }
    if row is not None and row.subscription_id and row.subscription_id != sub.id and sub.status in _ENDED:
        return  # an older subscription ending never replaces the one the workspace has now
    upsert(conn, BILLING_ACCOUNTS, values, ["workspace"])


_ENDED = frozenset({"canceled", "incomplete_expired"})
