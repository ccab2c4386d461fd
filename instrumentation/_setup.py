"""``observe()``: wire OpenTelemetry to an llmobserve receiver and start capturing LLM calls.

Every setting resolves as explicit argument > environment variable > default. Nothing is
patched before ``observe()`` runs; calling it again returns the running setup.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlparse

from opentelemetry import trace

__all__ = [
    "observe",
    "shutdown",
    "Observation",
    "ENV_API_KEY",
    "ENV_API_URL",
    "ENV_ENDPOINT",
    "NoApiKeyError",
    "export_target",
    "span_exporter",
]

log = logging.getLogger("llmobserve")

ENV_API_KEY = "LLMOBSERVE_API_KEY"
ENV_ENDPOINT = "LLMOBSERVE_ENDPOINT"
ENV_API_URL = "LLMOBSERVE_API_URL"
_DEFAULT_HOST = "127.0.0.1"
_DEFAULT_PORTS = {"grpc": 4317, "http": 4318}
_EXPORT_TIMEOUT_S = 5  # the exporter's own deadline: a dead receiver never holds a batch longer
_EXIT_FLUSH_MS = 3_000
# Each span is a cost record: OTel's default queue (2,048) dropped spans at ~5,000 calls/s in a
# burst (measured); 16,384 spans of ~3 KB hold a burst for ~50 MB at most.
_EXPORT_QUEUE_SPANS = 16_384
_DRAIN_TIMEOUT_MS = 10_000  # a batch results download waits at most this long per 2,048 result spans
_IDLE_BODY_S = 1.0  # flush() finishes (as abandoned) only response bodies that have not moved for this long

Protocol = Literal["grpc", "http"]


@dataclass
class Observation:
    """The running setup: what ``observe()`` configured, and handles to flush or stop it."""

    endpoint: str
    protocol: str
    provider: Any
    exporter: Any
    processor: Any
    labels: Any
    instrumentors: list[Any]
    owns_provider: bool
    api_url: str = ""
    """The HTTP API the spending-cap guard talks to."""
    _capture: Any = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def _caps_guard(self) -> Any:
        """The spending-cap guard in use (``_caps_guard.CapsGuard``); tests may swap in their own."""
        return self._capture.guard if self._capture is not None else None

    @_caps_guard.setter
    def _caps_guard(self, guard: Any) -> None:
        self._capture.guard = guard

    def flush(self, timeout_millis: int = 10_000) -> bool:
        """Finish open streams' spans, send pending cap settlements, and export everything pending.

        A response body that is still moving (another thread's call in flight) is left to end on its
        own: finishing it now would cut its usage off."""
        return self._flush(timeout_millis, _IDLE_BODY_S)

    def _flush(self, timeout_millis: int, idle_for: float = 0.0) -> bool:
        from ._observer import open_observers, wait_concluded

        for observer in open_observers(idle_for):
            observer.finish(abandoned=True)
        wait_concluded(timeout_millis / 1000)
        guard = self._caps_guard
        if guard is not None:
            guard.flush(timeout_millis / 1000)
        return bool(self.processor.force_flush(timeout_millis))


_state: Observation | None = None
_lock = threading.Lock()


def _exporter_endpoint(endpoint: str | None, protocol: str) -> str:
    raw = (endpoint or os.environ.get(ENV_ENDPOINT) or "").strip()
    if not raw:
        raw = f"{_DEFAULT_HOST}:{_DEFAULT_PORTS[protocol]}"
    if "://" not in raw:
        raw = "http://" + raw
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"endpoint must be host:port or an http(s) URL, got {endpoint!r}")
    port = parsed.port or _DEFAULT_PORTS[protocol]
    base = f"{parsed.scheme}://{parsed.hostname}:{port}"
    if protocol == "grpc":
        return base
    path = parsed.path.rstrip("/")
    return base + (path if path.endswith("/v1/traces") else path + "/v1/traces")


def _api_base(api_url: str | None, endpoint: str | None, protocol: str) -> str:
    """The HTTP API's base URL: ``api_url`` > ``$LLMOBSERVE_API_URL`` > the exporter endpoint's host, on
    the endpoint's own port for OTLP/HTTP (one port serves both) or on 4318 for gRPC."""
    raw = (api_url or os.environ.get(ENV_API_URL) or "").strip()
    if raw:
        parsed = urlparse(raw if "://" in raw else "http://" + raw)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"api_url must be an http(s) URL or host:port, got {raw!r}")
        path = parsed.path.rstrip("/")
        path = path[: -len("/api/v1")] if path.endswith("/api/v1") else path
        return f"{parsed.scheme}://{parsed.netloc}{path}"
    parsed = urlparse(_exporter_endpoint(endpoint, protocol))
    port = parsed.port if protocol == "http" else _DEFAULT_PORTS["http"]
    return f"{parsed.scheme}://{parsed.hostname}:{port}"


class NoApiKeyError(ValueError):
    """Neither an ``api_key`` argument nor ``LLMOBSERVE_API_KEY``."""


def export_target(api_key: str | None, endpoint: str | None, protocol: str) -> tuple[str, str]:
    """``(exporter endpoint, key)`` as ``observe()`` resolves them: argument > environment > default.

    Shared with ``llmobserve demo`` so both read the same variables the same way.
    """
    if protocol not in ("grpc", "http"):
        raise ValueError(f"protocol must be 'grpc' or 'http', got {protocol!r}")
    key = api_key or os.environ.get(ENV_API_KEY)
    if not key:
        raise NoApiKeyError(
            f"no API key: pass observe(api_key=...) or set {ENV_API_KEY} "
            "(create one with `llmobserve keys create --tenant NAME`)"
        )
    return _exporter_endpoint(endpoint, protocol), key


def span_exporter(protocol: str, endpoint: str, api_key: str) -> Any:
    """The stock OTLP exporter for ``protocol``, authenticated with ``api_key``."""
    headers = {"authorization": f"Bearer {api_key}"}
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(
            endpoint=endpoint, headers=headers, insecure=endpoint.startswith("http://"), timeout=_EXPORT_TIMEOUT_S
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=endpoint, headers=headers, timeout=_EXPORT_TIMEOUT_S)


def _tracer_provider(service_name: str | None) -> tuple[Any, bool]:
    """The app's SDK TracerProvider if it has one (we attach), else a new global one."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current, False
    name = service_name or os.environ.get("OTEL_SERVICE_NAME") or "unknown_service"
    provider = TracerProvider(resource=Resource.create({"service.name": name}), shutdown_on_exit=False)
    trace.set_tracer_provider(provider)
    return provider, True


def observe(
    api_key: str | None = None,
    endpoint: str | None = None,
    service_name: str | None = None,
    protocol: Protocol = "grpc",
    capture_content: bool = False,
    provider_urls: dict[str, str] | None = None,
    trace_all_http: bool = False,
    api_url: str | None = None,
    strict_caps: bool = False,
    propagate_threads: bool = True,
) -> Observation:
    """Send this app's spans to llmobserve and turn every LLM HTTP call into a priced GenAI span.

    Parameters:
        api_key: an ingest key; default ``$LLMOBSERVE_API_KEY``.
        endpoint: ``host:port`` or a URL; default ``$LLMOBSERVE_ENDPOINT``, else 127.0.0.1:4317 (gRPC)
            or http://127.0.0.1:4318 (HTTP).
        service_name: ``service.name`` when we create the TracerProvider (an existing one is kept).
        protocol: ``"grpc"`` or ``"http"`` (OTLP/HTTP protobuf).
        capture_content: also record prompts and completions (off by default: they may hold personal data).
        provider_urls: extra OpenAI-compatible (or other) base URLs, e.g. ``{"http://vllm:8000/v1": "openai"}``.
        trace_all_http: also export the app's httpx calls that are not LLM calls (off by default: they
            are not costs, and are the app's own business); their spans are still created, as the
            app's other exporters may want them.
        api_url: the llmobserve HTTP API (spending caps); default ``$LLMOBSERVE_API_URL``, else the
            endpoint's host: its own port with ``protocol="http"``, port 4318 with gRPC.
        strict_caps: reserve each capped call's worst-case cost at the server before sending it, and
            settle it with the real usage after: caps hold exactly across processes, at the price of
            one round trip per call that a ``hard_block`` cap applies to.
        propagate_threads: run work handed to ``threading.Thread``, ``ThreadPoolExecutor`` (``submit``,
            ``map``) and ``loop.run_in_executor`` in the context it was handed over in, so its spans keep
            their parent, agent, section and customer; ``False`` leaves threads as Python starts them.
            Processes cannot be followed; ``llmobserve.labels()`` carries the labels where context does not.

    Spending caps with ``enforcement="hard_block"``: a call whose provider, model, agent, customer or
    service falls under an exhausted cap raises ``llmobserve.SpendingCapExceeded`` before its request
    leaves the process (no retry, nothing sent; it is also an ``openai.OpenAIError`` /
    ``anthropic.AnthropicError`` when those SDKs are loaded, so they pass it through unchanged). The caps are
    polled in the background every 2 s and checked locally, with no round trip on the call; between
    polls this process adds its own calls' costs. The guard fails open: if the API cannot be reached
    (or answers an error), the last known caps are kept, a warning is logged at most once a minute,
    and once they are over 60 s old calls go through unchecked. In strict mode an unreachable or
    failing reservation lets the call go too (warned likewise); only an explicit refusal (HTTP 409)
    raises.

    Credentials never leave the app: URL attributes (``url.full``, ``http.url``, ``url.query``, ...)
    of every span have userinfo and credential-like query values (``key``, ``access_token``,
    ``sig``, ``*_token``, ...) replaced by ``REDACTED`` (``llmobserve.semconv.redact_url``).
    """
    global _state
    with _lock:
        if _state is not None:
            if provider_urls or trace_all_http or api_url or strict_caps or not propagate_threads:
                log.warning(
                    "llmobserve: observe() already ran; provider_urls, trace_all_http, api_url, "
                    "strict_caps and propagate_threads of later calls are ignored"
                )
            return _state
        target, key = export_target(api_key, endpoint, protocol)
        api_base = _api_base(api_url, endpoint, protocol)

        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        from ._caps_api import CapsApi
        from ._caps_guard import CapsGuard
        from ._capture import Capture
        from ._exporter import QuietExporter
        from ._pairing import PairingProcessor
        from ._processor import LabelProcessor
        from ._providers import ProviderMatcher

        provider, owns = _tracer_provider(service_name)
        labels = LabelProcessor()
        provider.add_span_processor(labels)
        exporter = QuietExporter(span_exporter(protocol, target, key), target)
        llm_calls: set[int] | None = None if trace_all_http else set()
        processor = PairingProcessor(
            BatchSpanProcessor(exporter, schedule_delay_millis=1_000, max_queue_size=_EXPORT_QUEUE_SPANS),
            llm_calls=llm_calls,
        )
        provider.add_span_processor(processor)

        def drain() -> None:  # never wait on a receiver that is down: its spans are dropped anyway
            if not exporter.unreachable:
                processor.drain(_DRAIN_TIMEOUT_MS)

        service = str(provider.resource.attributes.get("service.name") or "")
        guard = CapsGuard(CapsApi(api_base, key), service=service, strict=strict_caps).start()
        if propagate_threads:
            from ._threads import propagate

            propagate()
        capture = Capture(
            ProviderMatcher(provider_urls),
            capture_content,
            labels.is_foreign_llm_child,
            llm_calls,
            provider.get_tracer("llmobserve"),
            drain,
            guard,
        )
        instrumentors = _instrument_http_clients(provider, capture)
        _state = Observation(
            target, protocol, provider, exporter, processor, labels, instrumentors, owns, api_base, capture
        )
        atexit.register(_at_exit, _state)
        return _state


def _skip_unused_header_normalization(otel_httpx: Any) -> None:
    """The httpx instrumentation normalises every request and response header on every call,
    only to pick the ones OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_* name; with none named that
    is ~45 µs per call thrown away (measured with bench/sdk_overhead.py). Skip it in that case."""
    from opentelemetry.util.http import (
        OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST,
        OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE,
    )

    original = getattr(otel_httpx, "_normalize_headers", None)
    if original is None or getattr(original, "__llmobserve__", False):
        return
    if os.environ.get(OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST) or os.environ.get(
        OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_RESPONSE
    ):
        return

    def no_headers_captured(headers: Any, module: Any) -> dict[str, list[str]]:
        return {}

    no_headers_captured.__llmobserve__ = True  # type: ignore[attr-defined]  # a marker on the function: ours, not the stock one
    otel_httpx._normalize_headers = no_headers_captured


def _instrument_http_clients(provider: Any, capture: Any) -> list[Any]:
    """httpx, and httpx2 where installed (the openai and anthropic SDKs moved to httpx2)."""
    from opentelemetry.instrumentation import httpx as otel_httpx

    _skip_unused_header_normalization(otel_httpx)
    instrumentors = []
    for name in ("HTTPXClientInstrumentor", "HTTPX2ClientInstrumentor"):
        cls = getattr(otel_httpx, name, None)
        if cls is None or cls._module is None:  # that client library is not installed
            continue
        instrumentor = cls()
        if instrumentor.is_instrumented_by_opentelemetry:
            log.warning(
                "llmobserve: %s was already instrumented; re-instrumenting it with LLM capture", cls._module_name
            )
            instrumentor.uninstrument()
        instrumentor.instrument(
            tracer_provider=provider,
            request_hook=capture.request_hook,
            response_hook=capture.response_hook,
            async_request_hook=capture.async_request_hook,
            async_response_hook=capture.async_response_hook,
        )
        instrumentors.append(instrumentor)
    return instrumentors


def _at_exit(state: Observation) -> None:
    if state._stopped:
        return
    try:
        if state.exporter.unreachable:  # receiver down: never hold exit
            from ._observer import open_observers

            for observer in open_observers():
                observer.finish(abandoned=True)
        else:
            state._flush(_EXIT_FLUSH_MS)
    except Exception:
        log.debug("llmobserve: flush at exit failed", exc_info=True)


def shutdown() -> None:
    """Flush, stop capturing and detach (mainly for tests); ``observe()`` may run again after."""
    global _state
    with _lock:
        state, _state = _state, None
    if state is None:
        return
    try:
        state._flush(_EXIT_FLUSH_MS)
    finally:
        state._stopped = True
        for instrumentor in state.instrumentors:
            instrumentor.uninstrument()
        if state._caps_guard is not None:
            state._caps_guard.stop()
        state.processor.shutdown()
        state.labels.shutdown()
        from ._threads import stop_propagating

        stop_propagating()
        # The provider stays: OTel allows one global provider per process, so a later observe()
        # attaches to it again.
