"""The web dashboard at ``/``: server-rendered pages (Jinja2) over the storage reads the API uses,
a vendored chart library (uPlot 1.6.32, MIT, ``static/uPlot.LICENSE``; fetched once from npm, no CDN,
no Node at install or run time), sign-in with an API key into a server-side session."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmobserve.query_api.deps import get_services
from llmobserve.query_api.services import ServiceError

from . import (
    _accounts,
    _billing,
    _caps,
    _confirm,
    _costs,
    _dimensions,
    _members,
    _oidc_signin,
    _onboarding,
    _overview,
    _runs,
    _settings,
    _signin,
)
from ._web import SignInRequired, page, render, to_sign_in

__all__ = ["PAGES", "install_dashboard", "page_failed"]

log = logging.getLogger("llmobserve.dashboard")
PAGES = [
    _signin.router,
    _oidc_signin.router,
    _accounts.router,
    _members.router,
    _billing.router,
    _onboarding.router,
    _confirm.router,
    _overview.router,
    _runs.router,
    _caps.router,
    _settings.router,
    _costs.router,
    _dimensions.router,
]


def install_dashboard(app: FastAPI) -> None:
    """Mount the pages on an app made with ``create_app(..., page_error=page_failed)``."""
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for router in PAGES:
        app.include_router(router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return to_sign_in(request)


def page_failed(request: Request, exc: Exception) -> Response:
    """A page that failed: the error state, with the navigation, never a bare JSON 500."""
    try:
        p = page(request, get_services(request))
    except SignInRequired:
        return to_sign_in(request)
    except Exception:  # the session check itself failed (storage down): still a page
        p = None
    if isinstance(exc, StarletteHTTPException):
        status, heading, message = exc.status_code, _HEADINGS.get(exc.status_code, "Error"), str(exc.detail)
    elif isinstance(exc, ServiceError):
        status, heading, message = exc.status, _HEADINGS.get(exc.status, "Error"), str(exc.detail)
    else:
        status, heading = 503, "This page could not be loaded"
        message = "Storage did not answer or the query failed. Nothing was changed; try again in a moment."
    return render(
        request,
        "error.html",
        status_code=status,
        title=heading,
        tenant=p.tenant if p else "",
        csrf=p.session.csrf if p else "",
        nav=p is not None,
        heading=heading,
        message=message,
    )


_HEADINGS = {403: "Not allowed", 404: "Not found", 405: "Not allowed", 422: "Invalid input"}
