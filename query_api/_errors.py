"""Every error leaves the API as JSON ``{"error": <short code>, "detail": <what and how to fix>}``."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["install_error_handlers", "ERROR_CODES"]

log = logging.getLogger("llmobserve.api")

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


def _body(status: int, detail: object) -> dict[str, object]:
    return {"error": ERROR_CODES.get(status, "error"), "detail": detail}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _page(request):
            return request.app.state.page_error(request, exc)  # type: ignore[no-any-return]
        return JSONResponse(_body(exc.status_code, exc.detail), exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse(_body(422, problems), 422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if _page(request):
            return request.app.state.page_error(request, exc)  # type: ignore[no-any-return]
        return JSONResponse(_body(500, "internal error; see the server log"), 500)


def _page(request: Request) -> bool:
    """A dashboard page (not the API, not OTLP): its errors are pages too."""
    path = request.url.path
    return hasattr(request.app.state, "page_error") and not path.startswith(("/api/", "/v1/", "/healthz", "/docs",
                                                                                   "/openapi"))
