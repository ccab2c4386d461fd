"""A private virtual environment per framework, for apps whose pins clash with the server's (openai 3,
protobuf 5, ...): only the app side goes in it (the framework, the OTel SDK, the OTLP/HTTP exporter),
never llmobserve.

``tests/frameworks/<name>/requirements.txt`` pins every package. The venv is built once, in
``~/.cache/llmobserve-tests/<name>-<hash of the requirements and the Python version>/``, marked
installed only when pip succeeded, and reused by later runs. A changed requirements file gets a
new folder. Two pytest processes building the same venv take turns (a file lock).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INSTALL_TIMEOUT = 1200.0  # seconds; a cold install of the heaviest framework (CrewAI) takes a few minutes


def cache_root() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llmobserve-tests"


def requirements(name: str) -> Path:
    return HERE / name / "requirements.txt"


def venv_dir(name: str) -> Path:
    h = hashlib.sha256(requirements(name).read_bytes())
    h.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return cache_root() / f"{name}-{h.hexdigest()[:16]}"


def framework_python(name: str, timeout: float = INSTALL_TIMEOUT) -> Path:
    """The interpreter of ``name``'s venv, created and installed on first use."""
    home = venv_dir(name)
    python = home / "bin" / "python"
    marker = home / ".installed"
    if marker.exists() and python.exists():
        return python
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f".{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists() and python.exists():  # another process built it while we waited
            return python
        if home.exists():  # a half-built venv from an interrupted or failed run
            shutil.rmtree(home)
        made = subprocess.run([_base_python(), "-m", "venv", str(home)], capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, f"python -m venv {home} failed:\n{made.stderr[-3000:]}"
        log = home / "install.log"
        cmd = [
            str(python),
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            "-r",
            str(requirements(name)),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"installing the {name} test venv took more than {timeout:.0f} s "
                f"({' '.join(cmd)}); delete {home} and retry"
            ) from None
        log.write_text(done.stdout + "\n" + done.stderr)
        assert done.returncode == 0, (
            f"installing the {name} test venv failed (pip exit {done.returncode}); PyPI must be reachable for "
            f"the first run. Command: {' '.join(cmd)}\nLast lines:\n{done.stderr[-3000:] or done.stdout[-3000:]}"
        )
        marker.write_text(requirements(name).read_text())
    return python


def _base_python() -> str:
    """The interpreter the test venv's own venv was made from (a venv made from a venv's python works
    too, but this keeps the framework venv free of any link to ours)."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base) if base.exists() else sys.executable


def run_app(python: Path, app: Path, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``app`` with ``python``; returns its stdout, asserting it exited 0 and printed ``done: ...``."""
    done = subprocess.run(
        [str(python), str(app)],
        cwd=app.parent,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0 and "done: " in done.stdout, (
        f"{app.name} exited {done.returncode}\nstdout:\n{done.stdout[-2000:]}\nstderr:\n{done.stderr[-4000:]}"
    )
    return done.stdout


def run_as_u1(python: Path, app: Path, server: Any, standin: Any, tenant: str, timeout: float = 120, **env: str) -> str:
    """A new tenant's key after one run of ``app`` against the stand-in: agent ``support_bot``, user
    ``u1``, session ``s1`` (what every framework test asserts), plus ``env``."""
    key = server.create_key(tenant)
    standin.reset()
    run_app(
        python,
        app,
        {
            "RECEIVER": server.http_url,
            "KEY": key,
            "PROVIDER_BASE": standin.url,
            "USER_ID": "u1",
            "SESSION_ID": "s1",
            "AGENT_NAME": "support_bot",
            **env,
        },
        timeout=timeout,
    )
    return key
