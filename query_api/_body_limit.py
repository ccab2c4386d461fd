"""Request bodies are bounded before anyone reads them.

FastAPI parses a JSON body before the route's auth dependency runs, so without this anyone, key or
not, could make the shared process buffer and parse any amount (measured: one 60 MB body took the
process from 490 MB to 2.17 GB and stalled ``/healthz`` for 3.3 s). A pure ASGI middleware, so the
check happens on the raw stream: a body sent without a bearer token to the API is refused unread,
a declared length over the limit is refused unread, and a stream that runs past it is cut off.
OTLP ``/v1/traces`` is left to its own route, which authenticates first and allows more. The
dashboard's forms (outside ``/api/``) carry a session cookie instead of a bearer token; they are
held to a small limit and their routes check the session and its CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyLimit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

API_BODY_BYTES = 1024 * 1024
OPERATOR_BODY_BYTES = 16 * 1024 * 1024  # LiteLLM price files through the running server (~1.5 MB today)
STRIPE_WEBHOOK = "/api/v1/billing/webhook"
FORM_BODY_BYTES = 64 * 1024  # the dashboard's forms: signed in by cookie, not bearer; their routes check it
_WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class _TooLarge(BaseException):  # not Exception: FastAPI turns those into "error parsing the body"
    pass


async def _refuse(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: App, api_bytes: int = API_BODY_BYTES, operator_bytes: int = OPERATOR_BODY_BYTES) -> None:
        self.app = app
        self.api_bytes = api_bytes
        self.operator_bytes = operator_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY or path == "/v1/traces":
            await self.app(scope, receive, send)
            return
        operator = path.startswith("/api/v1/_local/")
        form = not path.startswith("/api/")
        limit = self.operator_bytes if operator else FORM_BODY_BYTES if form else self.api_bytes
        headers = dict(scope.get("headers") or [])
        # A dashboard session's change carries its CSRF token (checked with the cookie in ``deps``).
        signed = headers.get(b"authorization", b"").lower().startswith(b"bearer ") or b"x-csrf-token" in headers
        # Stripe signs its webhooks instead: the route checks the signature over the raw body, and
        # answers a missing one 400 as Stripe expects.
        signed = signed or path == STRIPE_WEBHOOK
        if not operator and not form and not signed:
            await _refuse(
                send, 401, "missing API key: send 'Authorization: Bearer <key>'", [(b"www-authenticate", b"Bearer")]
            )
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, f"request body over {limit} bytes")
            return
        await self._bounded(scope, receive, send, limit)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, 413, f"request body over {limit} bytes")
