"""Issue 12: hard-block caps stop calls in the SDK before they leave the process (the official
``openai`` SDK against the stand-in provider, which must see no request), per customer, until the
period rolls over (the server's clock is moved, never slept); strict mode never overruns a cap
under 8 processes x 4 threads, and leaves no reservation behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, LiveServer
from tests.otlp_helpers import breakdown
from tests.prices import cost
from tests.standin.provider import StandInProvider, Usage

APP = str(ROOT / "tests" / "e2e" / "caps_app.py")
DAY = 86_400


@pytest.fixture
def clock_server(tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    clock = tmp_path / "clock-shift-seconds"
    live = LiveServer(
        tmp_path / "data",
        command=[str(ROOT / "tests" / "e2e" / "clock_server.py")],
        env={"TEST_CLOCK_FILE": str(clock), "PYTHONPATH": str(ROOT)},
    ).start()
    yield live, clock
    live.stop()


def _app(provider: StandInProvider, server: LiveServer, key: str, plan: dict) -> subprocess.Popen[str]:  # type: ignore[type-arg]
    return subprocess.Popen(
        [sys.executable, APP, provider.url, key, server.grpc_target, server.http_url, json.dumps(plan)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def run_app(provider: StandInProvider, server: LiveServer, key: str, plan: dict) -> list[dict]:  # type: ignore[type-arg]
    out, err = _app(provider, server, key, plan).communicate(timeout=180)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == len(plan["calls"]), err
    return lines


def _cap(server: LiveServer, body: dict) -> dict:  # type: ignore[type-arg]
    assert server.admin_key is not None
    made = httpx.post(
        f"{server.http_url}/api/v1/caps", json=body, timeout=30, headers={"authorization": f"Bearer {server.admin_key}"}
    )
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def _provider_calls(provider: StandInProvider) -> int:
    return len([r for r in provider.requests if r["path"].endswith("/chat/completions")])


def test_hard_block_stops_the_next_call_before_it_leaves_until_the_period_rolls_over(
    clock_server: tuple[LiveServer, Path],
) -> None:
    server, clock = clock_server
    cap = _cap(
        server,
        {"scope": "customer", "value": "acme", "period": "daily", "limit_usd": "0.10", "enforcement": "hard_block"},
    )
    key = server.create_key("default", "ingest")
    assert cost("gpt-4o", 10_000, 1_000) == Decimal("0.035")  # the third call takes acme from $0.07 to $0.105
    with StandInProvider(usage=Usage(input=10_000, output=1_000)) as provider:
        results = run_app(provider, server, key, {"calls": [{"customer": "acme"}] * 4 + [{"customer": "other"}]})
        assert [r["ok"] for r in results] == [True, True, True, False, True], results
        blocked = results[3]
        assert blocked["blocked"] and blocked["cap_id"] == cap["id"] and Decimal(blocked["spend"]) >= Decimal("0.10")
        assert _provider_calls(provider) == 4  # the blocked call never reached the provider

        again = run_app(provider, server, key, {"calls": [{"customer": "acme"}]})  # a new process knows at start
        assert again[0]["blocked"] and _provider_calls(provider) == 4
        check = httpx.get(
            f"{server.http_url}/api/v1/caps/check",
            params={"customer": "acme"},
            timeout=30,
            headers={"authorization": f"Bearer {key}"},
        ).json()
        assert not check["allowed"] and check["blocked_by"][0]["cap_id"] == cap["id"]

        clock.write_text(str(DAY))  # the server's day is over: acme starts again at $0
        rolled = run_app(provider, server, key, {"calls": [{"customer": "acme"}], "retry_blocked_s": 10})
        assert rolled[0]["ok"], rolled
        assert _provider_calls(provider) == 5


def test_each_customer_template_blocks_each_customer_on_its_own(clock_server: tuple[LiveServer, Path]) -> None:
    server, _ = clock_server
    template = _cap(
        server, {"scope": "each_customer", "period": "daily", "limit_usd": "0.05", "enforcement": "hard_block"}
    )
    key = server.create_key("default", "ingest")
    with StandInProvider(usage=Usage(input=10_000, output=1_000)) as provider:
        plan = [{"customer": c} for c in ("c1", "c1", "c1", "c2", "c2", "c2")]
        results = run_app(provider, server, key, {"calls": plan})
        assert [r["ok"] for r in results] == [True, True, False, True, True, False], results
        assert {r["cap_id"] for r in results if not r["ok"]} == {template["id"]}
        assert _provider_calls(provider) == 4
    status = httpx.get(
        f"{server.http_url}/api/v1/caps/status", timeout=30, headers={"authorization": f"Bearer {key}"}
    ).json()
    [entry] = status["caps"]
    assert {c["customer"]: (c["spend_usd"], c["state"]) for c in entry["customers"]} == {
        "c1": ("0.07", "exceeded"),
        "c2": ("0.07", "exceeded"),
    }


def test_strict_mode_never_overruns_under_8_processes_of_4_threads(clock_server: tuple[LiveServer, Path]) -> None:
    server, _ = clock_server
    limit = Decimal("0.10")
    _cap(server, {"scope": "global", "period": "daily", "limit_usd": str(limit), "enforcement": "hard_block"})
    key = server.create_key("default", "ingest")
    # Usage a real provider could report for this request (input tokens <= body bytes), so a call's
    # reserved worst case really is at least its cost: $0.00105 a call, about 95 fit.
    per_call = cost("gpt-4o", 20, 100)
    calls = [{"customer": f"p{i % 5}", "max_tokens": 100} for i in range(40)]
    with StandInProvider(usage=Usage(input=20, output=100)) as provider:
        apps = [_app(provider, server, key, {"calls": calls, "threads": 4, "strict": True}) for _ in range(8)]
        results = []
        for app in apps:
            out, err = app.communicate(timeout=300)
            assert app.returncode == 0, err
            results += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        ok = [r for r in results if r["ok"]]
        assert len(results) == 320 and all(r["ok"] or r["blocked"] for r in results), [
            r for r in results if not r["ok"] and not r["blocked"]
        ][:3]
        assert _provider_calls(provider) == len(ok)
    spent = sum(
        (Decimal(str(c)) for c, _ in breakdown(server.http_url, server.admin_key or "", "model").values()), Decimal(0)
    )
    assert spent == per_call * len(ok)
    worst = cost("gpt-4o", 400, 100)  # a generous bound on one call's reservation (its body is < 400 bytes)
    assert spent <= limit + worst, (spent, len(ok))
    assert len(ok) >= 80  # strict, not starved: most of the budget is used
    reservations = httpx.get(
        f"{server.http_url}/api/v1/caps/reservations",
        timeout=30,
        headers={"authorization": f"Bearer {server.admin_key}"},
    ).json()
    assert reservations == {"open": 0, "reserved_usd": "0"}
