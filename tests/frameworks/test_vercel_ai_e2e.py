"""The Vercel AI SDK in Node (npm `ai`, `@ai-sdk/openai`, the OTel Node SDK, its OTLP exporter), against
the stand-in provider, exporting to a live server: one `generateText` is counted once, at the exact
price (cache discount included), on the right provider, agent (`functionId`) and customer (`metadata.userId`).

The npm packages install once into a cache folder keyed on the lockfile, so later runs reuse them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider, Usage

APP = Path(__file__).parent / "vercel_ai"
FILES = ("package.json", "package-lock.json", "app.mjs")
USAGE = Usage(input=1200, output=150, cache_read=400, reasoning=20)
ONE_CALL = as_json_number(cost("gpt-4o", 1200, 150, cache_read=400))


@pytest.fixture(scope="module")
def node_app() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node and npm, "node and npm are needed (Debian: apt-get install nodejs npm; .ci/run installs them)"
    digest = hashlib.sha256((APP / "package-lock.json").read_bytes()).hexdigest()[:16]
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llmobserve-tests" / f"vercel-ai-{digest}"
    home.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy(APP / name, home / name)
    if not (home / "node_modules" / ".installed").exists():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        (home / "node_modules" / ".installed").touch()
    return home


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider(usage=USAGE) as provider:
        yield provider


def _run(
    node_app: Path,
    server: LiveServer,
    standin: StandInProvider,
    key: str,
    user: str = "",
    function_id: str = "support-reply",
) -> None:
    env = {
        **os.environ,
        "RECEIVER": server.http_url,
        "KEY": key,
        "PROVIDER_BASE": standin.url,
        "USER_ID": user,
        "FUNCTION_ID": function_id,
    }
    done = subprocess.run(["node", "app.mjs"], cwd=node_app, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("done: "), done.stderr[-3000:]


def test_generate_text_is_counted_once_at_the_exact_price(
    node_app: Path, server: LiveServer, standin: StandInProvider
) -> None:
    key = server.create_key("vercel-ai")
    _run(node_app, server, standin, key)
    assert breakdown(server.http_url, key, "model") == {"gpt-4o": (ONE_CALL, 1)}
    assert breakdown(server.http_url, key, "provider") == {"openai": (ONE_CALL, 1)}  # not "openai.chat"
    assert breakdown(server.http_url, key, "model", provider="openai") == {"gpt-4o": (ONE_CALL, 1)}
    assert breakdown(server.http_url, key, "agent") == {"support-reply": (ONE_CALL, 1)}


def test_metadata_user_id_is_the_customer(node_app: Path, server: LiveServer, standin: StandInProvider) -> None:
    key = server.create_key("vercel-ai-user")
    _run(node_app, server, standin, key, user="u2")
    assert breakdown(server.http_url, key, "customer") == {"u2": (ONE_CALL, 1)}
