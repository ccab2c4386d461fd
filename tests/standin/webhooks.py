"""A local webhook receiver: records every request and answers 200, or fails, hangs or redirects on demand.

::

    with WebhookReceiver() as hooks:
        hooks.fail_next(500, times=2, path="/slack")
        notifier.deliver(message, [], [hooks.url_for("/slack")])
        assert hooks.received[-1].json["type"] == "spending_cap.threshold_crossed"

Modes queue up: one set with ``path=`` applies to requests for that path only and is used before one set
for every path (``path=None``). ``hang_next`` delays an answer (so clients time out), then the queued
failure or redirect, if any, is answered.

Standard library only: ``ThreadingHTTPServer`` on 127.0.0.1, HTTP/1.1 keep-alive. ``HttpStandIn`` is also
the base of the SendGrid stand-in (``sendgrid_api.py``).
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tests.standin._http import CLIENT_GONE, StandIn, StandInHandler

__all__ = ["HttpStandIn", "Received", "Reply", "WebhookReceiver"]


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-cased names
    body: bytes
    json: Any  # None when the body is not JSON
    monotonic: float  # time.monotonic() once the body was read
    wall: datetime  # aware UTC, same moment


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Queued:
    path: str | None  # None: any path
    left: int
    value: Any  # a Reply, or the seconds to hang


class HttpStandIn(StandIn):
    """Request parsing and the ``hang_next`` / queued-reply knobs; subclasses answer."""

    thread_name = "standin-http"

    def __init__(self) -> None:
        super().__init__()
        self._hangs: list[_Queued] = []
        self._replies: list[_Queued] = []

    # ------------------------------------------------------------------ knobs

    def hang_next(self, seconds: float, times: int = 1, *, path: str | None = None) -> None:
        """Hold the next ``times`` answers (for ``path``, or any) ``seconds`` long, cut short by ``close``."""
        with self._lock:
            self._hangs.append(_Queued(path, times, seconds))

    def _queue_reply(self, reply: Reply, times: int, path: str | None) -> None:
        with self._lock:
            self._replies.append(_Queued(path, times, reply))

    def _clear_queues(self) -> None:
        self._hangs.clear()
        self._replies.clear()

    # ------------------------------------------------------------------ for subclasses

    def _record(self, request: Received) -> None:
        """Called (under the lock) for every request, before any hang."""

    def _answer(self, request: Received) -> Reply:
        raise NotImplementedError

    def _handler_class(self) -> type[StandInHandler]:
        return _Handler

    # ------------------------------------------------------------------ used by the handler threads

    def _handle(self, request: Received) -> Reply | None:
        """The reply, or None when the stand-in closed while hanging (the connection is then dropped)."""
        with self._lock:
            self._record(request)
            hang = _take(self._hangs, request.path)
            reply = _take(self._replies, request.path)
        if hang and self._closing.wait(hang):
            return None
        return reply if reply is not None else self._answer(request)


def _take(queue: list[_Queued], path: str) -> Any:
    """Use up one of the first queued item for exactly ``path``, else of the first for any path."""
    for wanted in (path, None):
        for index, item in enumerate(queue):
            if item.path == wanted:
                item.left -= 1
                if item.left <= 0:
                    del queue[index]
                return item.value
    return None


class WebhookReceiver(HttpStandIn):
    """Context manager running the receiver on ``127.0.0.1:<free port>``; every path answers 200 ``ok``."""

    thread_name = "standin-webhooks"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []

    def url_for(self, path: str) -> str:
        return self.url + (path if path.startswith("/") else "/" + path)

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        path: str | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``times`` requests (for ``path``, or any) with ``status`` and a short text body."""
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        text = body if body is not None else f"stand-in webhook failure {status}"
        self._queue_reply(Reply(status, text.encode(), headers), times, path)

    def redirect_next(self, location: str, times: int = 1, *, path: str | None = None, status: int = 302) -> None:
        """Answer the next ``times`` requests (for ``path``, or any) with a redirect to ``location``."""
        self._queue_reply(Reply(status, b"", {"Location": location}), times, path)

    def reset(self) -> None:
        """Forget received requests and queued modes."""
        with self._lock:
            self.received.clear()
            self._clear_queues()

    def _record(self, request: Received) -> None:
        self.received.append(request)

    def _answer(self, request: Received) -> Reply:
        return Reply(200, b"ok", {"Content-Type": "text/plain; charset=utf-8"})


class _Handler(StandInHandler):
    def _serve(self) -> None:
        standin = self.server.owner
        try:
            raw = self._read_body()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            request = Received(
                method=self.command,
                path=urlsplit(self.path).path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=raw,
                json=parsed,
                monotonic=time.monotonic(),
                wall=datetime.now(UTC),
            )
            reply = standin._handle(request)
            if reply is None:
                self.close_connection = True
                return
            self.send_response(reply.status)
            for name, value in {**reply.headers, "Content-Length": str(len(reply.body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except CLIENT_GONE:
            self.close_connection = True
        except Exception:
            standin._record_error(traceback.format_exc())
            self.close_connection = True
