"""The SDK's spending-cap guard: hard blocks raised before the request leaves, local addition of our
own calls, rollover, fail-open, and strict-mode reservations, through the official SDKs and the
stand-in provider, against a stand-in of the API's caps routes (``_caps_server``).

How the guard is configured: ``observe()`` runs once per process (the session's ``sdk`` fixture), so
each test swaps its own ``CapsGuard`` onto that observation (``observation._caps_guard``, the same
attribute ``observe()`` fills) and puts the session's back afterwards; only the test of
``observe(api_url=...)`` itself runs a fresh process. The guard's clock is its ``clock`` attribute (``Callable[[], datetime]``): tests hand
it a ``Clock`` they move by hand (``clock.advance(seconds)``), nothing sleeps. Its refresh interval
is an hour here, so state changes only when a test calls ``guard.refresh()`` (or a new model wakes it).
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import anthropic
import openai
import pytest

import llmobserve
from llmobserve import agent, customer
from llmobserve.control import ControlStore, default_url
from llmobserve.instrumentation._caps_api import CapsApi
from llmobserve.instrumentation._caps_guard import CapsGuard
from llmobserve.instrumentation._caps_state import Rate, max_output
from llmobserve.instrumentation._observer import wait_concluded
from llmobserve.instrumentation._reservations import InvalidReservation, ReservationUnavailable
from llmobserve.instrumentation._setup import _api_base
from tests.conftest import ROOT
from tests.instrumentation._caps_server import CapsServer, cap
from tests.instrumentation.conftest import unique
from tests.standin.provider import Usage

MESSAGES = [{"role": "user", "content": "Say hello."}]
MINI_RATES = {
    "input_per_mtok": "0.15",
    "output_per_mtok": "0.6",
    "cache_read_per_mtok": "0.075",
    "cache_write_per_mtok": "0",
}
T0 = datetime(2026, 11, 28, 23, 59, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def caps_server(sdk) -> Iterator[CapsServer]:  # type: ignore[no-untyped-def]
    with CapsServer(sdk.key) as server:
        yield server


@pytest.fixture
def use_guard(sdk, caps_server, standin) -> Iterator[Callable[..., CapsGuard]]:  # type: ignore[no-untyped-def]
    """Install a guard on the session's observation, pointed at the stand-in caps routes."""
    observation = sdk.observation
    session_guard = observation._caps_guard
    made: list[CapsGuard] = []
    standin.reset()

    def install(strict: bool = False, clock: Clock | None = None) -> CapsGuard:
        service = str(observation.provider.resource.attributes["service.name"])
        guard = CapsGuard(CapsApi(caps_server.url, sdk.key), service=service, strict=strict, interval=3600.0)
        guard.clock = clock or Clock()
        made.append(guard.start())
        observation._caps_guard = guard
        return guard

    yield install
    observation._caps_guard = session_guard
    for guard in made:
        guard.stop()


def _openai(standin, **options: Any) -> openai.OpenAI:  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=f"{standin.url}/openai/v1", api_key="test", **options)


def _chat(standin, cust: str | None, **options: Any) -> Any:  # type: ignore[no-untyped-def]
    """One chat call as customer ``cust``; default client retries on (2): a refusal must not be retried."""
    client = _openai(standin, **options.pop("client", {}))
    if cust is None:
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **options)
    with customer(cust):
        return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, **options)


def _settled(guard: CapsGuard) -> None:
    assert wait_concluded(10) and guard.flush(10)


def test_exhausted_customer_cap_raises_before_the_request_leaves(sdk, standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("acme")
    caps_server.caps = [cap("customer", cust, "0.1", "0.1012")]
    use_guard()
    with pytest.raises(llmobserve.SpendingCapExceeded) as raised:
        _chat(standin, cust)
    error = raised.value
    assert isinstance(error, openai.OpenAIError)  # why the openai SDK passes it through unretried
    assert (error.cap_id, error.scope, error.value, error.spend_usd, error.limit_usd) == (
        "cap_0123456789abcdef",
        "customer",
        cust,
        Decimal("0.1012"),
        Decimal("0.1"),
    )
    assert error.resets_at == datetime(2026, 11, 29, tzinfo=UTC)
    assert str(error) == (
        f"spending cap cap_0123456789abcdef (customer={cust}, daily) is exceeded: "
        "$0.1012 of $0.10 spent; resets 2026-11-29T00:00:00Z"
    )
    assert standin.requests == []  # nothing reached the provider, no retry either
    _chat(standin, unique("other"))  # another customer goes through
    assert [r["route"] for r in standin.requests] == ["openai.chat"]
    [span] = sdk.span_for_customer(cust, "chat ")  # the refused call stays visible, as a failed call
    assert span.attributes["error.type"] == "llmobserve.SpendingCapExceeded"
    assert span.status.status_code.name == "ERROR"


def test_refusal_passes_through_anthropic_and_async_clients(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    name = unique("spender")
    caps_server.caps = [cap("agent", name, "5", "5", period="total", period_start=None, resets_at=None)]
    use_guard()
    with agent(name), pytest.raises(llmobserve.SpendingCapExceeded) as raised:
        # anthropic traces this call itself: our capture stands aside, the guard still checks it
        anthropic.Anthropic(base_url=f"{standin.url}/anthropic", api_key="test").messages.create(
            model="claude-3-5-sonnet-20241022", max_tokens=64, messages=MESSAGES
        )
    assert isinstance(raised.value, anthropic.AnthropicError) and raised.value.resets_at is None
    assert "never resets" in str(raised.value)

    async def call() -> None:
        async with openai.AsyncOpenAI(base_url=f"{standin.url}/openai/v1", api_key="test") as client:
            with agent(name):
                await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    with pytest.raises(llmobserve.SpendingCapExceeded):
        asyncio.run(call())
    assert standin.requests == []


def test_rollover_by_the_guards_clock_lets_calls_through(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("roll")
    caps_server.caps = [cap("customer", cust, "0.1", "0.2")]  # period 2026-11-28, resets 2026-11-29T00:00Z
    clock = Clock(datetime(2026, 11, 28, 23, 59, 58, tzinfo=UTC))
    guard = use_guard(clock=clock)
    with pytest.raises(llmobserve.SpendingCapExceeded):
        _chat(standin, cust)
    clock.advance(3)  # past resets_at, before any new answer: the cap counts from 0
    _chat(standin, cust)
    caps_server.caps = [
        cap("customer", cust, "0.1", "0", period_start="2026-11-29T00:00:00Z", resets_at="2026-11-30T00:00:00Z")
    ]
    assert guard.refresh()
    _chat(standin, cust)
    assert len(standin.requests) == 2


def test_each_customer_cap_blocks_each_customer_separately(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    u1, u2 = unique("u1"), unique("u2")
    over = {"customer": u1, "spend_usd": "0.06", "percent": 120.0, "state": "exceeded"}
    caps_server.caps = [cap("each_customer", None, "0.05", "0.06", customers=[over])]
    guard = use_guard()
    with pytest.raises(llmobserve.SpendingCapExceeded) as raised:
        _chat(standin, u1)
    assert (raised.value.scope, raised.value.value, raised.value.spend_usd) == ("each_customer", u1, Decimal("0.06"))
    _chat(standin, u2)
    _chat(standin, None)  # no customer: each_customer does not apply
    caps_server.caps = [
        cap("each_customer", None, "0.05", "0.06", customers=[over, {**over, "customer": u2, "spend_usd": "0.05"}])
    ]
    assert guard.refresh()
    with pytest.raises(llmobserve.SpendingCapExceeded):
        _chat(standin, u2)
    assert len(standin.requests) == 2
    asked = caps_server.log("GET")[-1]["query"]
    assert ("customer", u1) in asked and ("customer", u2) in asked and ("model", "openai/gpt-4o-mini") in asked


def test_own_calls_are_added_locally_until_the_server_catches_up(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("local")
    caps_server.caps = [cap("customer", cust, "0.002", "0.0015")]
    caps_server.rates = {"openai/gpt-4o-mini": MINI_RATES}
    guard = use_guard()
    _chat(standin, unique("warm-up"))  # the guard learns it uses gpt-4o-mini...
    assert guard.refresh()  # ...and fetches its rates
    standin.usage = Usage(input=10_000, output=1_000, cache_read=2_000)
    _chat(standin, cust)  # the crossing call goes through
    _settled(guard)
    with pytest.raises(llmobserve.SpendingCapExceeded) as raised:
        _chat(standin, cust)
    # 8,000 uncached × 0.15 + 2,000 cached × 0.075 + 1,000 out × 0.6, per million: cache reads counted once
    assert raised.value.spend_usd == Decimal("0.0015") + Decimal("0.00195")
    assert guard.refresh()  # the server has not seen the call yet: the local estimate stays
    with pytest.raises(llmobserve.SpendingCapExceeded):
        _chat(standin, cust)
    caps_server.caps = [
        cap("customer", cust, "0.002", "0", period_start="2026-11-29T00:00:00Z", resets_at="2026-11-30T00:00:00Z")
    ]
    assert guard.refresh()  # a new period starts from the server's number
    _chat(standin, cust)
    assert len(standin.requests) == 3


def test_the_first_call_of_a_model_is_added_when_its_rates_arrive(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("first")
    caps_server.caps = [cap("customer", cust, "0.002", "0.0015")]
    caps_server.rates = {"openai/gpt-4o-mini": MINI_RATES}
    guard = use_guard()
    caps_server.status_delay = 0.5  # the refresh the new model wakes lands after the call has ended
    standin.usage = Usage(input=10_000, output=1_000)
    _chat(standin, cust)
    _settled(guard)
    caps_server.status_delay = 0
    assert guard.refresh()  # queued behind the woken refresh: both have landed when it returns
    with pytest.raises(llmobserve.SpendingCapExceeded) as raised:
        _chat(standin, cust)
    assert raised.value.spend_usd == Decimal("0.0015") + Decimal("0.0021")
    assert len(standin.requests) == 1


def test_unreachable_api_keeps_the_last_caps_then_fails_open(standin, caps_server, use_guard, caplog) -> None:  # type: ignore[no-untyped-def]
    cust = unique("down")
    caps_server.caps = [cap("customer", cust, "0.1", "0.5", resets_at="2026-12-01T00:00:00Z")]
    clock = Clock()
    guard = use_guard(clock=clock)
    caps_server.status_code = 503
    with caplog.at_level(logging.WARNING, logger="llmobserve"):
        assert not guard.refresh() and not guard.refresh()
    warnings = [r for r in caplog.records if "cannot refresh spending caps" in r.getMessage()]
    assert len(warnings) == 1 and "HTTP 503" in warnings[0].getMessage()  # once a minute, not per attempt
    clock.advance(59)
    with pytest.raises(llmobserve.SpendingCapExceeded):
        _chat(standin, cust)
    clock.advance(2)  # the last answer is now over 60 s old
    _chat(standin, cust)
    assert len(standin.requests) == 1


def test_strict_mode_reserves_settles_refuses_and_releases(sdk, standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("strict")
    caps_server.caps = [cap("customer", cust, "1", "0")]
    guard = use_guard(strict=True)
    caps_server.reset()
    caps_server.reserve_answer = (
        201,
        {"id": "res_0000000000000001", "reserved_usd": "0.00031", "expires_at": "2026-11-28T23:59:30Z"},
    )
    _chat(standin, cust, max_tokens=256)
    _settled(guard)
    reserve, settle = caps_server.log("POST")
    assert reserve["path"] == "/api/v1/caps/reservations"
    assert reserve["json"] == {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "agent": "",
        "customer": cust,
        "service": "sdk-tests",
        "input_bytes": int(standin.requests[-1]["headers"]["content-length"]),
        "max_output_tokens": 256,
    }
    assert settle["path"] == "/api/v1/caps/reservations/res_0000000000000001/settle"
    assert settle["json"] == {"input_tokens": 100, "output_tokens": 20, "cache_read_tokens": 0, "cache_write_tokens": 0}

    caps_server.reserve_answer = (
        409,
        {
            "detail": {
                "message": "cap reached",
                "blocked_by": [
                    {
                        "cap_id": "cap_0123456789abcdef",
                        "name": "",
                        "scope": "customer",
                        "value": cust,
                        "spend_usd": "0.9999",
                        "limit_usd": "1",
                        "resets_at": "2026-11-29T00:00:00Z",
                    }
                ],
            }
        },
    )
    with pytest.raises(llmobserve.SpendingCapExceeded) as raised:
        _chat(standin, cust)
    assert (raised.value.spend_usd, raised.value.limit_usd, raised.value.period) == (
        Decimal("0.9999"),
        Decimal(1),
        "daily",
    )
    assert len(standin.requests) == 1  # refused before sending

    caps_server.reserve_answer = (201, {"id": "res_0000000000000002", "reserved_usd": "0.00031"})
    standin.fail_next(500)
    with pytest.raises(openai.InternalServerError):
        _chat(standin, cust, client={"max_retries": 0})
    caps_server.reserve_answer = (201, {"id": "res_0000000000000003", "reserved_usd": "0.00031"})
    standin.hang_next(2.0)
    with pytest.raises(openai.APITimeoutError):  # no answer at all
        _chat(standin, cust, client={"max_retries": 0, "timeout": 0.3})
    _settled(guard)
    reservations = "/api/v1/caps/reservations"
    assert [(r["method"], r["path"]) for r in caps_server.log() if r["method"] != "GET"] == [
        ("POST", reservations),
        ("POST", f"{reservations}/res_0000000000000001/settle"),
        ("POST", reservations),  # refused (409): nothing to settle
        ("POST", reservations),
        ("DELETE", f"{reservations}/res_0000000000000002"),  # HTTP 500: costs nothing
        ("POST", reservations),
        ("DELETE", f"{reservations}/res_0000000000000003"),  # no answer
    ]
    before = len(caps_server.log("POST"))
    _chat(standin, unique("uncapped"))  # no cap applies: no round trip
    assert len(caps_server.log("POST")) == before
    ours = [
        s for s in sdk.spans() if caps_server.url in str(s.attributes.get("url.full") or s.attributes.get("http.url"))
    ]
    assert ours == []  # the guard's own requests are never traced (nor checked against caps)


def test_strict_mode_reserves_from_async_clients_without_blocking_the_loop(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("strict-async")
    caps_server.caps = [cap("customer", cust, "1", "0")]
    guard = use_guard(strict=True)
    caps_server.reserve_answer = (201, {"id": "res_00000000000000a1", "reserved_usd": "0.0002"})

    async def call() -> None:
        async with openai.AsyncOpenAI(base_url=f"{standin.url}/openai/v1", api_key="test") as client:
            with customer(cust):
                await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    asyncio.run(call())
    _settled(guard)
    reserve, settle = caps_server.log("POST")[-2:]
    assert reserve["json"]["customer"] == cust and reserve["json"]["max_output_tokens"] is None
    assert settle["path"].endswith("/res_00000000000000a1/settle")


def test_strict_mode_settles_calls_another_instrumentation_traces(sdk, standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("strict-anthropic")
    caps_server.caps = [cap("customer", cust, "1", "0")]
    guard = use_guard(strict=True)
    caps_server.reserve_answer = (201, {"id": "res_00000000000000b1", "reserved_usd": "0.01"})
    standin.usage = Usage(input=5_000, output=800, cache_read=1_000, cache_write=2_000)
    with customer(cust):  # anthropic traces this call itself; we follow its body for the guard only
        anthropic.Anthropic(base_url=f"{standin.url}/anthropic", api_key="test", max_retries=0).messages.create(
            model="claude-3-5-sonnet-20241022", max_tokens=1024, messages=MESSAGES
        )
    _settled(guard)
    reserve, settle = caps_server.log("POST")[-2:]
    assert (reserve["json"]["provider"], reserve["json"]["max_output_tokens"]) == ("anthropic", 1024)
    assert settle["json"] == {
        "input_tokens": 5_000,
        "output_tokens": 800,
        "cache_read_tokens": 1_000,
        "cache_write_tokens": 2_000,
    }  # OTel terms: input includes the cache
    [span] = sdk.llm_spans(cust)  # still one LLM span: the quiet follower adds no second one
    assert span.attributes["gen_ai.usage.input_tokens"] == 5_000


def test_observe_fetches_caps_before_the_first_call_and_forked_children_keep_them(standin) -> None:  # type: ignore[no-untyped-def]
    """The public path: ``observe(api_url=...)`` in a fresh process; a fork keeps blocking and polling."""
    with CapsServer("llmo_test") as server:
        # A total cap: this process runs on the real clock, and a dated period would end one day.
        server.caps = [cap("service", "billing-svc", "2", "3", period="total", period_start=None, resets_at=None)]
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                textwrap.dedent(f"""
            import os, threading, openai, llmobserve
            obs = llmobserve.observe(api_key="llmo_test", endpoint="127.0.0.1:9", service_name="billing-svc",
                                     api_url="{server.url}", provider_urls={{"{standin.url}/openai/v1": "openai"}})
            client = openai.OpenAI(base_url="{standin.url}/openai/v1", api_key="t")

            def refused() -> bool:
                try:
                    client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
                except llmobserve.SpendingCapExceeded:
                    return True
                return False

            print("api", obs.api_url, "parent refused", refused(), flush=True)  # before the fork copies the buffer
            child = os.fork()
            if child == 0:
                polling = any(t.name == "llmobserve-caps" and t.is_alive() for t in threading.enumerate())
                print("child refused", refused(), "polling", polling, flush=True)
                os._exit(0)
            os.waitpid(child, 0)
        """),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "api",
        server.url,
        "parent",
        "refused",
        "True",
        "child",
        "refused",
        "True",
        "polling",
        "True",
    ]
    assert not [r for r in standin.requests if r["json"] and r["json"].get("messages", [{}])[0].get("content") == "hi"]


def test_cost_counts_cache_reads_and_writes_once() -> None:
    class Used:
        input, output, cache_read, cache_write = 10_000, 1_000, 2_000, 3_000

    rate = Rate(Decimal("3"), Decimal("15"), Decimal("0.3"), Decimal("3.75"))
    assert (
        rate.cost(Used())
        == (5_000 * Decimal(3) + 2_000 * Decimal("0.3") + 3_000 * Decimal("3.75") + 1_000 * Decimal(15)) / 1_000_000
    )


@pytest.mark.parametrize(
    "facts, expected",
    [
        ({"max_tokens": 256}, 256),
        ({"max_completion_tokens": 100, "max_tokens": 5}, 100),
        ({"max_output_tokens": 64}, 64),
        ({"generationConfig": {"maxOutputTokens": 32}}, 32),
        ({"model": "gpt-4o"}, None),
    ],
)
def test_max_output_tokens_in_every_spelling(facts: dict[str, Any], expected: int | None) -> None:
    assert max_output(facts) == expected


@pytest.mark.parametrize(
    "api_url, endpoint, protocol, expected",
    [
        (None, "10.0.0.5:4317", "grpc", "http://10.0.0.5:4318"),
        (None, None, "grpc", "http://127.0.0.1:4318"),
        (None, "http://10.0.0.5:9318/v1/traces", "http", "http://10.0.0.5:9318"),
        (None, "https://llmobserve.example.com", "grpc", "https://llmobserve.example.com:4318"),
        ("https://api.example.com/api/v1/", "10.0.0.5:4317", "grpc", "https://api.example.com"),
        ("api.internal:8080", None, "grpc", "http://api.internal:8080"),
    ],
)
def test_api_url_forms(api_url, endpoint, protocol, expected, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("LLMOBSERVE_API_URL", raising=False)
    monkeypatch.delenv("LLMOBSERVE_ENDPOINT", raising=False)
    assert _api_base(api_url, endpoint, protocol) == expected


def test_api_url_from_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LLMOBSERVE_API_URL", "http://caps.internal:7000")
    assert _api_base(None, "10.0.0.5:4317", "grpc") == "http://caps.internal:7000"


# ---- strict mode: refusals that are not outages ----------------------------------------------------------

_LABEL_TOO_LONG = (
    422,
    {
        "error": "invalid_parameters",
        "detail": [
            {"loc": ["body", "customer"], "msg": "String should have at most 256 characters", "type": "string_too_long"}
        ],
    },
)


def test_strict_mode_blocks_a_call_the_server_cannot_reserve_now(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("strict-busy")
    caps_server.caps = [cap("customer", cust, "1", "0")]
    use_guard(strict=True)
    caps_server.reset()
    caps_server.reserve_answer = (429, {"error": "rate_limited", "detail": "10000 reservations are open"})
    with pytest.raises(llmobserve.SpendingCapExceeded) as raised:  # what apps already catch for a block
        _chat(standin, cust)  # the default client retries twice: a refusal must not be retried
    assert isinstance(raised.value, ReservationUnavailable) and isinstance(raised.value, openai.OpenAIError)
    assert "10000 reservations are open" in str(raised.value) and raised.value.resets_at is None
    assert len(caps_server.log("POST")) == 3  # asked again twice, briefly
    assert standin.requests == []  # never sent
    caps_server.reserve_answer = (201, {"id": "res_00000000000000c1", "reserved_usd": "0.0002"})
    _chat(standin, cust)  # it drained: calls go again
    assert len(standin.requests) == 1


def test_strict_mode_refuses_a_label_the_server_will_not_take(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("strict-label") + "x" * 300
    caps_server.caps = [cap("each_customer", None, "1", "0")]
    use_guard(strict=True)
    caps_server.reset()
    caps_server.reserve_answer = _LABEL_TOO_LONG
    with pytest.raises(InvalidReservation) as raised:
        _chat(standin, cust)
    assert (raised.value.field, raised.value.limit, raised.value.length) == ("customer", 256, len(cust))
    assert "'customer'" in str(raised.value) and "256" in str(raised.value) and str(len(cust)) in str(raised.value)
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, openai.OpenAIError)
    assert len(caps_server.log("POST")) == 1 and standin.requests == []


def test_strict_mode_still_fails_open_when_the_server_is_out(standin, caps_server, use_guard) -> None:  # type: ignore[no-untyped-def]
    cust = unique("strict-out")
    caps_server.caps = [cap("customer", cust, "1", "0")]
    use_guard(strict=True)
    caps_server.reserve_answer = (503, {"error": "unavailable", "detail": "served by another process"})
    _chat(standin, cust)
    assert len(standin.requests) == 1  # sent unreserved: a monitoring outage must not stop the app


@pytest.fixture
def live_api(tmp_path) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(URL, admin key) of the real API, routes and strict-mode ledger, in this process so its ledger
    can be small: one open reservation fills it."""
    import socket
    import threading
    import time

    import httpx
    import uvicorn

    from llmobserve.caps import Reservations
    from llmobserve.query_api import Services, create_app
    from llmobserve.storage import Store, StoreConfig

    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    services = Services.build(store, control, reservations=Reservations(store, control, max_open=1))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    key, _ = control.create_key("strict-live", ("ingest", "read", "admin"))
    made = httpx.post(
        f"{url}/api/v1/caps",
        headers={"authorization": f"Bearer {key}"},
        json={"name": "all", "scope": "global", "period": "daily", "limit_usd": "100", "enforcement": "hard_block"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    try:
        yield url, key
    finally:
        server.should_exit = True
        thread.join(10)
        store.close()


def test_strict_mode_against_the_real_api_sends_nothing_on_429_and_422(sdk, standin, live_api) -> None:  # type: ignore[no-untyped-def]
    import httpx

    url, key = live_api
    observation = sdk.observation
    session_guard = observation._caps_guard
    service = str(observation.provider.resource.attributes["service.name"])
    guard = CapsGuard(CapsApi(url, key), service=service, strict=True, interval=3600.0).start()
    observation._caps_guard = guard
    standin.reset()
    auth = {"authorization": f"Bearer {key}"}
    try:
        with pytest.raises(InvalidReservation) as raised:  # the real route's own validation
            _chat(standin, "c" * 300)
        assert (raised.value.field, raised.value.limit, raised.value.length) == ("customer", 256, 300)
        assert standin.requests == []

        blocker = httpx.post(f"{url}/api/v1/caps/reservations", headers=auth, json={"model": "gpt-4o"}, timeout=30)
        assert blocker.status_code == 201, blocker.text  # the ledger (one open reservation) is full
        with pytest.raises(llmobserve.SpendingCapExceeded) as busy:
            _chat(standin, "acme")
        assert isinstance(busy.value, ReservationUnavailable) and "reservations are open" in str(busy.value)
        assert standin.requests == []

        released = httpx.delete(f"{url}/api/v1/caps/reservations/{blocker.json()['id']}", headers=auth, timeout=30)
        assert released.status_code == 204
        _chat(standin, "acme")  # reserved, sent, settled
        _settled(guard)
        assert len(standin.requests) == 1
        assert httpx.get(f"{url}/api/v1/caps/reservations", headers=auth, timeout=30).json()["open"] == 0
    finally:
        observation._caps_guard = session_guard
        guard.stop()
