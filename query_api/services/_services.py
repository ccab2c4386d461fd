"""Everything the API's routes and the dashboard's pages act on, made once by ``serve`` (or a test)
and handed to every handler by one dependency (``deps.ServicesDep``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from llmobserve.billing import Billing
from llmobserve.caps import CapMonitor, Reservations, StatusCache, utcnow
from llmobserve.caps.notify import Notifier
from llmobserve.control import Authenticator, ControlStore
from llmobserve.pricing import Pricer, TenantPriceCache
from llmobserve.storage import Maintainer, Store

from .people import Accounts
from .prices import rules_for
from .ratelimit import RateLimiter
from .sessions import SessionStore

__all__ = ["Services"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    store: Store
    """Spans and rollups (ClickHouse)."""
    control: ControlStore
    """Keys, caps, alerts, prices, settings, sessions (SQL)."""
    authenticator: Authenticator
    prices: TenantPriceCache
    """Each tenant's custom prices; shared with the receiver, so a changed price applies to ingest at once."""
    pricer: Pricer
    notifier: Notifier
    cap_statuses: StatusCache
    """Cap status shared by every poller of a tenant."""
    caps_clock: Callable[[], datetime]
    """Aware UTC now, for cap periods (tests move it)."""
    sessions: SessionStore
    """The dashboard's signed-in sessions."""
    public_url: str = "http://127.0.0.1:4318"
    default_attribution: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {"customer": (), "session": ()})
    """What the receiver reads for ``customer`` and ``session`` when a tenant set no list of its own."""
    webhooks_allow_private: bool = True
    caps_monitor: CapMonitor | None = None
    """This process's cap monitor; None where another process runs it."""
    reservations: Reservations
    """The strict-mode ledger (in the control store: shared by every API process)."""
    maintainer: Maintainer | None = None
    """The rollup refresher, for ``/healthz``; None where another process runs it."""
    accounts: Accounts = field(default_factory=Accounts)
    """How people sign in: the sign-up policy, key sign-in, the OpenID Connect providers."""
    test_sends: RateLimiter = field(default_factory=lambda: RateLimiter(10))
    """Test notifications per tenant per minute: each makes the server call the cap's receivers."""
    billing: Billing | None = None
    """Stripe billing; None: off (self-hosted, unlimited)."""
    promo_attempts: RateLimiter = field(default_factory=lambda: RateLimiter(10))
    """Promo code attempts per workspace per minute: codes are short enough to guess."""

    @classmethod
    def build(
        cls,
        store: Store,
        control: ControlStore,
        authenticator: Authenticator | None = None,
        *,
        prices: TenantPriceCache | None = None,
        pricer: Pricer | None = None,
        notifier: Notifier | None = None,
        caps_clock: Callable[[], datetime] = utcnow,
        sessions: SessionStore | None = None,
        default_attribution: Mapping[str, tuple[str, ...]] | None = None,
        public_url: str = "http://127.0.0.1:4318",
        webhooks_allow_private: bool = True,
        caps_monitor: CapMonitor | None = None,
        reservations: Reservations | None = None,
        maintainer: Maintainer | None = None,
        accounts: Accounts | None = None,
        billing: Billing | None = None,
    ) -> Services:
        """The services over ``store``, with defaults for every part not given."""
        return cls(
            store=store,
            control=control,
            authenticator=authenticator or Authenticator(control.lookup_key, generation=control.key_generation),
            prices=prices or TenantPriceCache(lambda tenant: rules_for(control, tenant)),
            pricer=pricer or Pricer(),
            notifier=notifier or Notifier(None),
            cap_statuses=StatusCache(clock=lambda: caps_clock().timestamp()),
            caps_clock=caps_clock,
            sessions=sessions or SessionStore(control),
            public_url=public_url,
            default_attribution={"customer": (), "session": (), **(default_attribution or {})},
            webhooks_allow_private=webhooks_allow_private,
            caps_monitor=caps_monitor,
            reservations=reservations or Reservations(store, control, clock=caps_clock),
            maintainer=maintainer,
            accounts=accounts or Accounts(),
            billing=billing,
        )

    def caps_changed(self, tenant: str) -> None:
        """Tell the monitor and the reservation ledger of this process to read the tenant's caps again."""
        for part in (self.caps_monitor, self.reservations):
            if part is not None:
                part.caps_changed(tenant)
