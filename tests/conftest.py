"""Shared fixtures: a live ``llmobserve serve`` subprocess on free ports and a temp data dir."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from llmobserve.control import ControlStore, default_url

ROOT = Path(__file__).resolve().parent.parent
KEY_RE = re.compile(r"llmo_[0-9a-f]{12}_[A-Za-z0-9_\-]+")

# Each httpx.get/post a test makes builds a Client, and each Client an SSL context loaded with
# certifi's CA bundle: 22 ms of CPU, although the tests speak plain http to 127.0.0.1. Profiled, it
# was a fifth of the pytest workers' CPU. One default context, made once, serves them all (a context
# is only read once built); anything else (verify=False, a context of the test's own) is built as
# asked. The server and app subprocesses are not touched.
_DEFAULT_SSL = httpx.create_ssl_context()
_make_ssl_context = httpx._transports.default.create_ssl_context


def _shared_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
    if verify is True and cert is None and trust_env:
        return _DEFAULT_SSL
    return _make_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


httpx._transports.default.create_ssl_context = _shared_ssl_context  # type: ignore[attr-defined]  # a test-only speedup


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmobserve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )


@dataclass
class LiveServer:
    data_dir: Path
    grpc_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)
    admin_key: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=lambda: ["-m", "llmobserve", "serve"])
    """What runs after the interpreter, before the data dir and port flags."""
    cwd: Path = ROOT
    """Where it runs: ``-m llmobserve`` there imports the folder ``llmobserve/`` of the checkout first."""
    _reader: threading.Thread | None = None
    _started_lines: int = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 60) -> LiveServer:
        self.output = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                *self.command,
                "--data-dir",
                str(self.data_dir),
                "--grpc-port",
                str(self.grpc_port),
                "--http-port",
                str(self.http_port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=self.cwd,
            # Decoding in the server's own process unless a test asks for workers: each worker is a
            # process that starts and imports (~1 s of CPU), and most tests send a few exports. The
            # session server and the tests of the workers themselves keep two.
            env={**os.environ, "LLMOBSERVE_DECODE_WORKERS": "0", **self.env},
        )
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        ready = False
        for line in self.process.stdout:
            self.output.append(line)
            found = KEY_RE.search(line)
            if found and self.admin_key is None:
                self.admin_key = found.group(0)
            if line.startswith("Stop with Ctrl-C"):
                ready = True
                break
            if time.monotonic() > deadline:
                break
        if not ready:  # output ended: the process is exiting
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                pass
        if self.process.poll() is not None:
            raise RuntimeError("server exited during start:\n" + "".join(self.output))
        # Keep reading: a server that logs more than the pipe holds would otherwise block on its next write.
        self._started_lines = len(self.output)
        self._reader = threading.Thread(target=self._drain, args=(self.process.stdout,), daemon=True)
        self._reader.start()
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.http_url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server never became healthy:\n" + "".join(self.output))

    def _drain(self, stream: Any) -> None:
        for line in stream:
            self.output.append(line)

    def stop(self) -> str:
        """SIGTERM (graceful: queued spans are written), then return its output since it started."""
        if self.process is None:
            return ""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._reader is not None:
            self._reader.join(10)
        self.process = None
        return "".join(self.output[self._started_lines :])

    def create_key(self, tenant: str, *scopes: str) -> str:
        """A key for ``tenant`` (ingest + read unless ``scopes``), made as ``llmobserve keys create``
        makes it while a server holds the data dir (its operator route), without a CLI process per key."""
        from llmobserve._local import post_to_running_server
        from llmobserve.control import DEFAULT_SCOPES

        done = post_to_running_server(
            self.data_dir,
            "/api/v1/_local/keys",
            {"tenant": tenant, "scopes": sorted(set(scopes or DEFAULT_SCOPES)), "name": ""},
            timeout=30,
        )
        assert done is not None, f"no key for {tenant!r}: see stderr"
        return str(done[1]["key"])

    def get(self, path: str, key: str | None, **params: object) -> httpx.Response:
        headers = {"authorization": f"Bearer {key}"} if key else {}
        return httpx.get(f"{self.http_url}{path}", params=params, headers=headers, timeout=30)


@pytest.fixture
def control(tmp_path: Path) -> Iterator[ControlStore]:
    """A control store of its own (SQLite) for an in-process test."""
    opened = ControlStore.open(default_url(tmp_path / "control"))
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server for the session; tests isolate themselves by using their own tenants."""
    # The tests' webhook receivers listen on 127.0.0.1, which a default server refuses to call.
    live = LiveServer(
        tmp_path_factory.mktemp("serve") / "data",
        # Key sign-in stays on although the role tests add people (it is on by default only until then).
        env={
            "LLMOBSERVE_WEBHOOKS_ALLOW_PRIVATE": "true",
            "LLMOBSERVE_DECODE_WORKERS": "2",
            "LLMOBSERVE_KEY_SIGNIN": "true",
        },
    ).start()
    yield live
    live.stop()


_tenant_counter = iter(range(1, 1_000_000))


@pytest.fixture
def tenant_key(server: LiveServer, request: pytest.FixtureRequest) -> str:
    """An ingest+read key for a fresh tenant named after the test."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:40].strip("-") + f"-{next(_tenant_counter)}"
    return server.create_key(name)


# The longest files as measured (`pytest --durations`), longest first; then the folders of long files.
_LONGEST = (
    "tests/hostile/test_fuzz.py",
    "tests/control/test_two_processes.py",
    "tests/e2e/test_caps_alerts_e2e.py",
    "tests/hostile/test_shared_resources.py",
    "tests/e2e/test_caps_block_e2e.py",
    "tests/hostile/test_alert_abuse.py",
    "tests/e2e/test_duplicates_e2e.py",
    "tests/e2e/test_rollups_e2e.py",
    "tests/test_packaging.py",
    "tests/bench/test_soak_smoke.py",
    "tests/instrumentation/test_observe_setup.py",
)
_LONG_FIRST = ("tests/e2e/", "tests/control/", "tests/hostile/", "tests/frameworks/", "tests/dashboard/")


def _rank(item: pytest.Item) -> tuple[int, bool]:
    path = item.nodeid.split("::", 1)[0]
    return (_LONGEST.index(path) if path in _LONGEST else len(_LONGEST)), not path.startswith(_LONG_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first: xdist hands out whole files (``--dist loadfile``) in this order, and a long
    one handed out last keeps one worker busy alone while the other core idles."""
    items.sort(key=_rank)  # stable: file order kept within
