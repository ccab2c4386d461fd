"""Every error leaves the API as JSON ``{"error": <short code>, "detail": <what and how to fix>}``;
a dashboard page's error is a page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from llmobserve.control import ControlUnavailable

from .services import Invalid, RateLimited, ServiceError

__all__ = ["ERROR_CODES", "PageError", "install_error_handlers"]

log = logging.getLogger("llmobserve.api")

PageError = Callable[[Request, Exception], Response]
"""Renders a failed page: given the request and the error (an HTTP or service error, or any other)."""

ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_parameters",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
_NOT_PAGES = ("/api/", "/v1/", "/healthz", "/docs", "/openapi")


def _body(status: int, detail: object) -> dict[str, object]:
    return {"error": ERROR_CODES.get(status, "error"), "detail": detail}


def _problems(errors: Any) -> list[dict[str, object]]:
    return [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors
    ]


def install_error_handlers(app: FastAPI, page_error: PageError | None = None) -> None:
    def is_page(request: Request) -> bool:
        """A dashboard page (not the API, not OTLP): its errors are pages too."""
        return page_error is not None and not request.url.path.startswith(_NOT_PAGES)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if page_error is not None and is_page(request):
            return page_error(request, exc)
        return JSONResponse(_body(exc.status_code, exc.detail), exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        if page_error is not None and is_page(request):
            return page_error(request, exc)
        detail = _problems(exc.problems) if isinstance(exc, Invalid) else exc.detail
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else None
        return JSONResponse(_body(exc.status, detail), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_body(422, _problems(exc.errors())), 422)

    @app.exception_handler(ControlUnavailable)
    async def control_down(request: Request, exc: ControlUnavailable) -> Response:
        log.warning("%s", exc)  # the cause is for the operator's log, not for the client
        if page_error is not None and is_page(request):
            return page_error(request, exc)
        detail = "the control store (keys, caps, settings) is unavailable; retry later"
        return JSONResponse(_body(503, detail), 503, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if page_error is not None and is_page(request):
            return page_error(request, exc)
        return JSONResponse(_body(500, "internal error; see the server log"), 500)
