"""A data dir written by the release that kept keys, caps, alerts, prices and settings in ClickHouse
(commit 8d5e38e, run from its own source) starts on this release with all of them: every API route
answers as before, and a second start copies nothing again."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tarfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, LiveServer
from tests.hostile.helpers import export_grpc
from tests.otlp_helpers import chat_attrs, request, span
from tests.typecheck import link_tree

_NAIVE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?")
PREVIOUS = "8d5e38ea7b584c0ab7c7d20a04a18a10df5816cf"
"""The last commit whose control records lived in ClickHouse."""
ROUTES = [
    "/api/v1/keys",
    "/api/v1/caps",
    "/api/v1/caps/status",
    "/api/v1/alerts",
    "/api/v1/pricing/models",
    "/api/v1/settings/attribution",
    "/api/v1/costs/breakdown?group_by=model&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
    "/api/v1/costs/breakdown?group_by=customer&from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
    "/api/v1/costs/summary",
    "/api/v1/traces?from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z",
]


def _previous_release(tmp: Path) -> Path:
    """The previous release's source laid out as the package ``llmobserve`` (as the wheel installs it)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", PREVIOUS], capture_output=True, timeout=120)
    if archive.returncode != 0:  # a shallow clone holds no history: nothing to run the previous release from
        pytest.skip(f"the previous release's commit {PREVIOUS[:7]} is not in this clone: {archive.stderr.decode()}")
    source = tmp / "previous"
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(source, filter="data")
    return link_tree(source, tmp / "previous-package")


def _utc_marked(value: object) -> object:
    """The previous release answered the times of keys and prices without their ``Z`` (naive UTC,
    as ClickHouse gave them back); this one marks them. Everything else must be equal."""
    if isinstance(value, dict):
        return {k: _utc_marked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_utc_marked(v) for v in value]
    return value + "Z" if isinstance(value, str) and _NAIVE_TIME.fullmatch(value) else value


def _answers(server: LiveServer, key: str, cap_id: str) -> dict[str, object]:
    found: dict[str, object] = {}
    for route in [*ROUTES, f"/api/v1/caps/{cap_id}"]:
        reply = httpx.get(server.http_url + route, headers={"authorization": f"Bearer {key}"}, timeout=30)
        assert reply.status_code == 200, (route, reply.text)
        body = reply.json()
        if isinstance(body, dict):
            body.pop("as_of", None)  # when the answer was made
        found[route] = _utc_marked(body)
    return found


def test_a_data_dir_of_the_previous_release_serves_the_same_answers(tmp_path: Path) -> None:
    package = _previous_release(tmp_path)
    data = tmp_path / "data"
    old = LiveServer(
        data, env={"PYTHONPATH": str(package), "LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE": "true"}, cwd=package
    ).start()
    try:
        admin = old.admin_key
        assert admin is not None and "Control" not in "".join(old.output)  # really the previous release
        headers = {"authorization": f"Bearer {admin}"}
        ingest = old.create_key("default", "ingest")
        old.create_key("other", "read")
        cap = httpx.post(
            f"{old.http_url}/api/v1/caps",
            json={
                "name": "team",
                "scope": "global",
                "limit_usd": "0.0001",
                "period": "monthly",
                "thresholds": ["0.5", "1"],
            },
            headers=headers,
            timeout=30,
        ).json()
        assert "id" in cap, cap
        price = {"provider": "acme", "model": "acme-1", "input_per_mtok": 1.25, "output_per_mtok": 10}
        assert httpx.put(f"{old.http_url}/api/v1/pricing/models", json=price, headers=headers, timeout=30).is_success
        attribution = {"customer": ["app.user"], "session": None}
        assert httpx.put(
            f"{old.http_url}/api/v1/settings/attribution", json=attribution, headers=headers, timeout=30
        ).is_success
        spans = [span(attrs={**chat_attrs("openai", "gpt-4o", 1000, 200), "app.user": f"u{i}"}) for i in range(5)]
        assert export_grpc(old.grpc_target, ingest, request(*spans).SerializeToString()).code == "OK"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(old.get("/api/v1/alerts", admin).json()["data"]) < 2:
            time.sleep(0.2)
        before = _answers(old, admin, cap["id"])
        assert len(before["/api/v1/alerts"]["data"]) == 2  # type: ignore[index]
    finally:
        old.stop()
    new = LiveServer(data).start()
    try:
        output = "".join(new.output)
        assert "copied 3 api_keys rows" in output and "copied 1 caps rows" in output, output
        after = _answers(new, admin, cap["id"])
        for route in before:
            assert after[route] == before[route], f"{route}: {after[route]} != {before[route]}"
    finally:
        new.stop()
    again = LiveServer(data).start()
    try:
        assert "copied" not in "".join(again.output)
        assert _answers(again, admin, cap["id"]) == before
    finally:
        again.stop()
    assert os.path.exists(data / "control.db")
