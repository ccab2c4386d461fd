"""Issue 10, item 4: a tenant admin's custom price pattern runs on span-controlled model names in the
shared ingest path. With Python's ``re``, ``(a+)+$`` against ``aaa...ab`` stalled another tenant's
export for 9.3 s, doubling with each character; patterns now match in linear time (RE2)."""

from __future__ import annotations

import time

import httpx
import pytest

from llmobserve.pricing import compile_model_pattern
from tests.conftest import LiveServer
from tests.hostile.helpers import export_grpc
from tests.otlp_helpers import chat_attrs, request, span

EVIL = ["(a+)+$", "(a|aa)+$", "(a*)*b", "((a+)+)+c", "(.*a){20}"]


@pytest.mark.parametrize("pattern", EVIL)
def test_evil_patterns_match_in_linear_time(pattern: str) -> None:
    compiled = compile_model_pattern(pattern)
    started = time.perf_counter()
    for n in range(10, 5_000, 499):
        compiled.fullmatch("a" * n + "b!")
    assert time.perf_counter() - started < 0.5  # Python's re needs hours for n = 40 already


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(a)\\1", "no backreferences or lookaround"),
        ("(?=gpt)gpt-4o", "no backreferences or lookaround"),
        ("(?<!x)gpt", "no backreferences or lookaround"),
        ("g" * 201, "longer than 200 characters"),
    ],
)
def test_patterns_re2_cannot_run_are_refused(pattern: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        compile_model_pattern(pattern)


def test_a_tenants_evil_pattern_does_not_stall_another_tenants_export(server: LiveServer) -> None:
    attacker, victim = server.create_key("redos-attacker", "admin"), server.create_key("redos-victim")
    put = httpx.put(
        f"{server.http_url}/api/v1/pricing/models",
        headers={"authorization": f"Bearer {attacker}"},
        json={"model_pattern": "(a+)+$", "input_per_mtok": 1, "output_per_mtok": 2},
        timeout=30,
    )
    assert put.status_code == 200, put.text
    refused = httpx.put(
        f"{server.http_url}/api/v1/pricing/models",
        headers={"authorization": f"Bearer {attacker}"},
        json={"model_pattern": "(a)\\1", "input_per_mtok": 1, "output_per_mtok": 2},
        timeout=30,
    )
    assert refused.status_code == 422 and "RE2" in refused.text, refused.text
    evil = request(*[span(attrs=chat_attrs("acme", "a" * n + "b", 10, 10)) for n in (30, 40, 60)])
    started = time.perf_counter()
    assert export_grpc(server.grpc_target, attacker, evil.SerializeToString()).code == "OK"
    victim_started = time.perf_counter()
    assert export_grpc(server.grpc_target, victim, request(span()).SerializeToString()).code == "OK"
    finished = time.perf_counter()
    assert victim_started - started < 2 and finished - victim_started < 2
