"""Issue 10, items 3 and 6: what anyone can make the shared process spend is bounded, and what
it leaves behind is private and gone when it dies."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from llmobserve.control import Authenticator, ControlStore, default_url
from llmobserve.otlp_receiver import Receiver
from llmobserve.storage import Store, StoreConfig
from tests.conftest import ROOT, LiveServer, run_cli
from tests.hostile.helpers import export_grpc, stored_calls
from tests.otlp_helpers import chat_attrs, request, span


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_a_60_mb_body_without_a_key_is_refused_unread(server: LiveServer) -> None:
    assert server.process is not None
    before = _rss_mb(server.process.pid)
    body = b'{"model": "' + b"x" * (60 * 1024 * 1024) + b'"}'
    for path in ("/api/v1/pricing/models", "/api/v1/keys", "/api/v1/nonexistent"):
        refused = httpx.put(
            f"{server.http_url}{path}", content=body, headers={"content-type": "application/json"}, timeout=60
        )
        assert refused.status_code == 401, (path, refused.text)
    key = server.create_key("big-body", "admin")
    refused = httpx.put(
        f"{server.http_url}/api/v1/pricing/models",
        content=body,
        timeout=60,
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    assert refused.status_code == 413 and "over 1048576 bytes" in refused.text

    def chunks():  # no Content-Length: the limit holds on the stream itself
        for _ in range(60):
            yield b"x" * (1024 * 1024)

    streamed = httpx.put(
        f"{server.http_url}/api/v1/pricing/models",
        content=chunks(),
        timeout=60,
        headers={"content-type": "application/json", "authorization": f"Bearer {key}"},
    )
    assert streamed.status_code == 413
    # The dashboard's forms are signed in by cookie, not bearer: held to 64 KB, declared or streamed.
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert httpx.post(f"{server.http_url}/login", content=body, headers=form, timeout=60).status_code == 413
    assert httpx.post(f"{server.http_url}/login", content=chunks(), headers=form, timeout=60).status_code == 413
    assert _rss_mb(server.process.pid) - before < 100  # measured before the limit: +1,680 MB


def test_a_key_lookup_that_storage_cannot_answer_is_retryable(tmp_path: Path) -> None:
    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    key, _ = control.create_key("t")
    receiver = Receiver(store, Authenticator(control.lookup_key))
    app = FastAPI()
    app.include_router(receiver.http_router())
    store.close()  # every query now fails: what a storage outage looks like from here
    answer = TestClient(app).post(
        "/v1/traces",
        content=request(span()).SerializeToString(),
        headers={"content-type": "application/x-protobuf", "authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"


def test_bad_keys_cost_no_query_and_never_evict_valid_ones(tmp_path: Path) -> None:
    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    try:
        key, key_id = control.create_key("t")
        auth = Authenticator(control.lookup_key, max_invalid=500)
        assert auth.principal(key) is not None and auth.lookups == 1
        for i in range(10_000):
            assert auth.principal(f"llmo_garbage_{i}") is None
        assert auth.lookups == 1  # not shaped like a key: refused without a query
        for i in range(1_000):  # twice what the cache of bad keys holds
            assert auth.principal(f"llmo_{i:012x}_{'x' * 32}") is None  # shaped like one: one query each
        lookups = auth.lookups
        assert auth.principal(key) is not None and auth.lookups == lookups  # still cached
    finally:
        store.close()


def test_a_revocation_is_not_undone_by_a_lookup_in_flight(tmp_path: Path) -> None:
    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    try:
        key, key_id = control.create_key("t")
        looked_up, revoked = threading.Event(), threading.Event()

        def slow_lookup(presented: str):  # type: ignore[no-untyped-def]
            found = control.lookup_key(presented)  # the key is valid now...
            looked_up.set()
            revoked.wait(10)  # ...and revoked before this answer is cached
            return found

        auth = Authenticator(slow_lookup)
        first = threading.Thread(target=auth.principal, args=(key,))
        first.start()
        assert looked_up.wait(10)
        control.revoke_key("t", key_id)
        auth.forget_key_id(key_id)
        revoked.set()
        first.join(10)
        auth._lookup = control.lookup_key
        assert auth.principal(key) is None
    finally:
        store.close()


def test_the_data_dir_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("keys", "create", "--tenant", "t", "--data-dir", str(data)).returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    readable = [p for p in data.rglob("*") if not p.is_symlink() and stat.S_IMODE(p.stat().st_mode) & 0o077]
    assert readable == []


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo += sorted(children - found)
            found |= children
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_sigkill_leaves_no_child_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "data", env={"LLMOBSERVE_DECODE_WORKERS": "2"}).start()
    key = live.create_key("killed", "ingest", "read")
    acknowledged = 0
    stop = threading.Event()

    def load() -> None:
        nonlocal acknowledged
        while not stop.is_set():
            outcome = export_grpc(
                live.grpc_target,
                key,
                request(*[span(attrs=chat_attrs("openai", "gpt-4o", 10, 1)) for _ in range(50)]).SerializeToString(),
            )
            if outcome.code == "OK":
                acknowledged += 50 - outcome.rejected
            else:
                time.sleep(0.05)

    sender = threading.Thread(target=load)
    sender.start()
    time.sleep(3)
    assert live.process is not None
    children = _descendants(live.process.pid)
    assert len(children) >= 2, "expected decode workers"
    sent_before_kill = acknowledged
    live.process.send_signal(signal.SIGKILL)
    live.process.wait(10)
    stop.set()
    sender.join(60)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if _alive(pid)] == []
    live.process = None
    restarted = LiveServer(tmp_path / "data", grpc_port=live.grpc_port, http_port=live.http_port).start()
    try:
        assert sent_before_kill > 0 and stored_calls(restarted.http_url, key) >= acknowledged
    finally:
        restarted.stop()


def test_workers_exit_when_serve_is_killed_before_any_load(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llmobserve",
            "serve",
            "--data-dir",
            str(tmp_path / "d"),
            "--grpc-port",
            "0",
            "--http-port",
            "0",
            "--decode-workers",
            "3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("Stop with Ctrl-C"):
                break
        children = _descendants(process.pid)
        assert len(children) >= 3
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if _alive(pid)] == []


def test_grpc_calls_in_flight_are_capped(tmp_path: Path) -> None:
    """Past the cap, grpcio answers RESOURCE_EXHAUSTED at once (exporters retry) instead of queueing."""
    from concurrent.futures import ThreadPoolExecutor

    from llmobserve.otlp_receiver._grpc import start_grpc_server

    store = Store.open(StoreConfig(tmp_path / "data"))
    control = ControlStore.open(default_url(tmp_path / "data"))
    key, _ = control.create_key("t")
    receiver = Receiver(store, Authenticator(control.lookup_key))
    entered, release = threading.Event(), threading.Event()
    real_export = receiver.ingestor.export

    def held_export(body, principal):  # type: ignore[no-untyped-def]
        entered.set()
        release.wait(30)
        return real_export(body, principal)

    receiver.ingestor.export = held_export  # type: ignore[method-assign]
    receiver.batcher.start()
    server, port = start_grpc_server(receiver.ingestor, "127.0.0.1", 0, workers=8, max_concurrent=2)
    try:
        body = request(span(attrs=chat_attrs("openai", "gpt-4o", 1, 1))).SerializeToString()
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(export_grpc, f"127.0.0.1:{port}", key, body) for _ in range(2)]
            assert entered.wait(10)
            time.sleep(0.2)
            over = [pool.submit(export_grpc, f"127.0.0.1:{port}", key, body) for _ in range(4)]
            codes = [f.result(30).code for f in over]
            release.set()
            assert [f.result(30).code for f in futures] == ["OK", "OK"]
        assert codes == ["RESOURCE_EXHAUSTED"] * 4
    finally:
        release.set()
        server.stop(0)
        receiver.stop()
        store.close()
