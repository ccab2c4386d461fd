"""The FastAPI application: routers, error handlers and shared state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from llmobserve.pricing import Pricer, TenantPriceCache
from llmobserve.storage import Authenticator, Store

from ._cap_monitor import CapMonitor
from ._cap_status import utcnow
from ._custom_prices import rules_for
from ._notifiers import Notifier
from ._reservations import Reservations
from ._status_cache import StatusCache

from ._errors import install_error_handlers
from .dashboard import install_dashboard
from .models import ErrorBody
from .routes import alerts, caps, costs, export, health, keys, pricing, settings, traces
from .routes import reservations as reservation_routes

__all__ = ["create_app"]

_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 422)
}


def create_app(store: Store, authenticator: Authenticator, include_api: bool = True,
               prices: TenantPriceCache | None = None, pricer: Pricer | None = None,
               default_attribution: dict[str, tuple[str, ...]] | None = None, *,
               notifier: Notifier | None = None, caps_monitor: CapMonitor | None = None,
               reservations: Reservations | None = None, caps_clock: Callable[[], datetime] = utcnow,
               public_url: str = "http://127.0.0.1:4318", webhooks_allow_private: bool = True) -> FastAPI:
    """The app with health and, unless ``include_api`` is False (receiver-only), the API routers.
    ``prices`` is shared with the receiver so a changed custom price applies to ingest at once;
    ``default_attribution`` is what the receiver reads for ``customer`` and ``session`` when a tenant
    set no list of its own. ``caps_monitor`` and ``reservations`` are the process's cap monitor and
    strict-mode ledger (None where another process runs them); ``caps_clock`` is their clock."""
    app = FastAPI(
        title="llmobserve",
        summary="LLM cost observability on OpenTelemetry",
        version="0.1.0",
        docs_url="/docs",
        responses=_ERROR_RESPONSES,
    )
    app.state.store = store
    app.state.authenticator = authenticator
    app.state.prices = prices or TenantPriceCache(lambda tenant: rules_for(store, tenant))
    app.state.pricer = pricer or Pricer()
    app.state.default_attribution = {"customer": (), "session": (), **(default_attribution or {})}
    app.state.notifier = notifier or Notifier(None)
    app.state.caps_monitor = caps_monitor
    app.state.reservations = reservations
    app.state.caps_clock = caps_clock
    app.state.cap_statuses = StatusCache(clock=lambda: caps_clock().timestamp())
    if include_api:
        store.on_spans_written(app.state.cap_statuses.note_write)
    app.state.public_url = public_url
    app.state.webhooks_allow_private = webhooks_allow_private
    install_error_handlers(app)
    app.include_router(health.router)
    if include_api:
        app.include_router(costs.router)
        app.include_router(pricing.router)
        app.include_router(keys.router)
        app.include_router(traces.router)
        app.include_router(export.router)
        app.include_router(settings.router)
        app.include_router(reservation_routes.router)  # before caps: /caps/reservations is not a cap id
        app.include_router(caps.router)
        app.include_router(alerts.router)
        install_dashboard(app)
    return app
