"""The FastAPI application: routers, error handlers and the services every handler acts on."""

from __future__ import annotations

from fastapi import FastAPI

from ._errors import PageError, install_error_handlers
from .routes import alerts, billing, caps, costs, export, health, keys, people, pricing, settings, traces
from .routes import reservations as reservation_routes
from .schemas import ErrorBody
from .services import Services

__all__ = ["create_app"]

_ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 422)
}


def create_app(services: Services, *, include_api: bool = True, page_error: PageError | None = None) -> FastAPI:
    """The app with health and, unless ``include_api`` is False (receiver-only), the API routers.
    ``page_error`` renders a failed dashboard page (errors outside the API, OTLP and docs paths)."""
    app = FastAPI(
        title="llmobserve",
        summary="LLM cost observability on OpenTelemetry",
        version="0.1.0",
        docs_url="/docs",
        responses=_ERROR_RESPONSES,
    )
    app.state.services = services  # read only by deps.get_services
    if include_api:
        services.store.on_spans_written(services.cap_statuses.note_write)
    install_error_handlers(app, page_error)
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
        app.include_router(billing.router)
        app.include_router(people.router)
    return app
