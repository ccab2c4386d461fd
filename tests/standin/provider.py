"""A local stand-in LLM provider: real-shaped OpenAI / Anthropic / Gemini / Cohere (and OpenAI-compatible) HTTP APIs.

Point the official SDKs (or plain httpx) at ``StandInProvider().url`` plus a provider prefix::

    with StandInProvider() as p:
        p.usage = Usage(input=120, output=30, cache_read=100)
        openai.OpenAI(base_url=f"{p.url}/openai/v1", api_key="test", max_retries=0)
        anthropic.Anthropic(base_url=f"{p.url}/anthropic", api_key="test", max_retries=0)
        httpx.post(f"{p.url}/gemini/v1beta/models/gemini-2.5-flash:generateContent", json=...)

Routes (POST; matched on the path's end, so any prefix works, the first segment selects host quirks):

- ``.../chat/completions``  OpenAI Chat Completions (``/openai/v1``, ``/groq/openai/v1``, ``/mistral/v1``, ...)
- ``.../responses``         OpenAI Responses API
- ``.../embeddings``        OpenAI Embeddings (float or base64)
- ``.../v1/messages``       Anthropic Messages (``.../v1/messages/count_tokens`` too)
- ``.../models/{model}:generateContent`` and ``:streamGenerateContent`` (``?alt=sse`` or a JSON array)  Gemini
- ``.../v2/chat``           Cohere v2 chat
- OpenAI Files + Batches (``POST .../files``, ``GET .../files/{id}[/content]``, ``POST .../batches``,
  ``GET .../batches/{id}``) and Anthropic Message Batches (``POST .../v1/messages/batches``,
  ``GET .../v1/messages/batches/{id}[/results]``); ``batch_failures`` fails chosen requests (see ``_batches``)
- anything else: 404 with the provider's JSON error shape.

Standard library only: ``ThreadingHTTPServer`` on 127.0.0.1, HTTP/1.1 keep-alive, ``Content-Length`` JSON
(gzip on request), SSE streamed with ``Transfer-Encoding: chunked`` (or connection-close framing).
"""

from __future__ import annotations

import gzip as gzip_codec
import json
import math
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from tests.standin import _anthropic, _cohere, _common, _gemini, _openai
from tests.standin._batches import BatchStore
from tests.standin._common import Answer, JsonAnswer, Request, StreamAnswer, Turn, Usage, dumps, new_id
from tests.standin._http import CLIENT_GONE, StandIn, StandInHandler

__all__ = ["StandInProvider", "Usage"]

DEFAULT_TEXT = "Hello from the stand-in provider."

Handler = Callable[[Request, Turn], Answer]
ErrorShape = Callable[[int, str], dict[str, Any]]


@dataclass(frozen=True)
class _Route:
    name: str  # e.g. "openai.chat", logged with each request
    handler: Handler
    model: str | None  # the requested model
    json_body: bool = True  # a POST without a JSON body is a 400 (file uploads are multipart)


_GEMINI_PATH = re.compile(r"/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")
_OPENAI_SUFFIXES: tuple[tuple[str, str, Handler], ...] = (
    ("/chat/completions", "openai.chat", _openai.chat_completions),
    ("/responses", "openai.responses", _openai.responses),
    ("/embeddings", "openai.embeddings", _openai.embeddings),
)


def _resolve(method: str, path: str, body: dict[str, Any]) -> _Route | None:
    if method != "POST":
        return None
    model = body.get("model") if isinstance(body.get("model"), str) else None
    if match := _GEMINI_PATH.search(path):
        if match["method"] == "generateContent":
            return _Route("gemini.generate_content", _gemini.generate_content, match["model"])
        return _Route("gemini.stream_generate_content", _gemini.stream_generate_content, match["model"])
    if path.endswith("/v1/messages"):
        return _Route("anthropic.messages", _anthropic.messages, model)
    if path.endswith("/v1/messages/count_tokens"):
        return _Route("anthropic.count_tokens", _anthropic.count_tokens, model)
    if path.endswith("/v2/chat"):
        return _Route("cohere.chat", _cohere.chat, model)
    for suffix, name, handler in _OPENAI_SUFFIXES:
        if path.endswith(suffix):
            return _Route(name, handler, model)
    return None


def _error_shape(path: str) -> ErrorShape:
    """The error JSON shape of whichever provider the path belongs to (OpenAI's by default)."""
    if path.endswith(("/v1/messages", "/v1/messages/count_tokens")) or path.startswith("/anthropic/"):
        return _anthropic.error_body
    if _GEMINI_PATH.search(path) or path.startswith("/gemini/"):
        return _gemini.error_body
    if path.endswith("/v2/chat") or path.startswith("/cohere/"):
        return _cohere.error_body
    return _openai.error_body


@dataclass(frozen=True)
class _Failure:
    status: int
    message: str
    retry_after: float | None


class StandInProvider(StandIn):
    """Context manager running the stand-in on ``127.0.0.1:<free port>``; set the knobs before each call."""

    thread_name = "standin-provider"

    def __init__(
        self,
        *,
        usage: Usage | None = None,
        text: str = DEFAULT_TEXT,
        response_model: str | None = None,
        gzip: bool = False,
        sse_framing: Literal["chunked", "close"] = "chunked",
        stream_delay: float = 0.0,
    ) -> None:
        super().__init__()
        _common.DETERMINISTIC["on"] = False
        self.usage: Usage = usage if usage is not None else Usage()
        self.text: str = text  # assistant text; streamed word by word
        self.response_model: str | None = response_model  # None: echo the requested model
        self.gzip: bool = gzip  # gzip non-streaming bodies when the client accepts gzip
        self.sse_framing: Literal["chunked", "close"] = sse_framing
        self.stream_delay: float = stream_delay  # seconds between streamed events
        self.batch_failures: dict[str, int | str] = {}  # custom_id -> HTTP status or error code, at batch creation
        self._batches = BatchStore(lambda: dict(self.batch_failures), lambda: self.response_model)
        self.requests: list[dict[str, Any]] = []  # method, path, query, headers, json, route, connection
        self._failures: list[_Failure] = []
        self._hang: float = 0.0

    # ------------------------------------------------------------------ knobs

    @property
    def deterministic(self) -> bool:
        """Fixed ids and timestamps in bodies, so repeated calls answer identical bytes."""
        return bool(_common.DETERMINISTIC["on"])

    @deterministic.setter
    def deterministic(self, on: bool) -> None:
        _common.DETERMINISTIC["on"] = on

    def fail_next(
        self, status: int, times: int = 1, *, message: str | None = None, retry_after: float | None = None
    ) -> None:
        """Answer the next ``times`` routed calls with HTTP ``status`` and the provider's error JSON.

        429/503/529 carry ``retry-after-ms`` (default 10 ms, so SDK retries stay fast) and ``retry-after``.
        """
        if retry_after is None and status in (429, 503, 529):
            retry_after = 0.01
        failure = _Failure(status, message or f"Stand-in provider error {status}", retry_after)
        with self._lock:
            self._failures.extend([failure] * times)

    def hang_next(self, seconds: float) -> None:
        """Delay the next request's answer by ``seconds`` (cut short when the provider closes)."""
        with self._lock:
            self._hang = seconds

    def reset(self) -> None:
        """Forget logged requests and pending failures/hangs (the knobs stay as they are)."""
        with self._lock:
            self.requests.clear()
            self._failures.clear()
            self._hang = 0.0

    def _handler_class(self) -> type[StandInHandler]:
        return _Handler

    # ------------------------------------------------------------------ used by the handler threads

    def _answer(self, request: Request) -> Answer:
        route = _resolve(request.method, request.path, request.body)
        if route is None and (batch := self._batches.route(request.method, request.path)):
            route = _Route(batch[0], batch[1], None, json_body=False)
        with self._lock:
            self.requests.append(request.as_log(route.name if route else "unknown"))
            hang, self._hang = self._hang, 0.0
            failure = self._failures.pop(0) if route is not None and self._failures else None
        if hang > 0:
            self._closing.wait(hang)
        errors = _error_shape(request.path)
        if route is None:
            return JsonAnswer(errors(404, f"Unknown route: {request.method} {request.path}"), status=404)
        if failure is not None:
            headers: dict[str, str] = {}
            if failure.retry_after is not None:
                headers["retry-after-ms"] = str(round(failure.retry_after * 1000))
                headers["retry-after"] = str(max(1, math.ceil(failure.retry_after)))
            return JsonAnswer(errors(failure.status, failure.message), status=failure.status, headers=headers)
        if request.json is None and request.method == "POST" and route.json_body:
            return JsonAnswer(errors(400, "We could not parse the JSON body of your request."), status=400)
        turn = Turn(
            model=self.response_model or route.model or "stand-in-model",
            text=self.text,
            usage=replace(self.usage),
        )
        return route.handler(request, turn)


class _Handler(StandInHandler):
    _headers_sent: bool = False

    def _serve(self) -> None:
        provider = self.server.owner
        self._headers_sent = False
        try:
            raw = self._read_body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            split = urlsplit(self.path)
            request = Request(
                method=self.command,
                path=split.path,
                query=dict(parse_qsl(split.query, keep_blank_values=True)),
                headers={name.lower(): value for name, value in self.headers.items()},
                json=body,
                connection=int(self.client_address[1]),
                raw=raw,
            )
            answer = provider._answer(request)
            if isinstance(answer, StreamAnswer):
                self._send_stream(answer)
            else:
                self._send_json(answer, request)
        except CLIENT_GONE:
            self.close_connection = True
        except Exception:
            provider._record_error(traceback.format_exc())
            self.close_connection = True
            if not self._headers_sent:
                try:
                    self._send_json(JsonAnswer(_openai.error_body(500, "stand-in provider bug"), status=500), None)
                except OSError:
                    pass

    # ------------------------------------------------------------------ response

    def _start(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        request_id = new_id("req_", 12)
        for name, value in {"x-request-id": request_id, "request-id": request_id, **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self._headers_sent = True

    def _send_json(self, answer: JsonAnswer, request: Request | None) -> None:
        data = answer.body if isinstance(answer.body, bytes) else dumps(answer.body).encode()
        headers = {"Content-Type": "application/json", **answer.headers}
        accepts = request.headers.get("accept-encoding", "") if request is not None else ""
        if self.server.owner.gzip and "gzip" in [c.split(";")[0].strip().lower() for c in accepts.split(",")]:
            data = gzip_codec.compress(data)
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(data))
        self._start(answer.status, headers)
        self.wfile.write(data)

    def _send_stream(self, answer: StreamAnswer) -> None:
        provider = self.server.owner
        chunked = provider.sse_framing == "chunked"
        headers = {"Content-Type": answer.content_type, "Cache-Control": "no-cache", **answer.headers}
        if chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Connection"] = "close"  # the body ends when the connection does
            self.close_connection = True
        self._start(200, headers)
        for index, event in enumerate(answer.events):
            if index and provider.stream_delay > 0 and provider._closing.wait(provider.stream_delay):
                self.close_connection = True
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event) if chunked else event)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")
