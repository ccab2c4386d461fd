"""One import name: the wheel installs only ``llmobserve``, the SDK import pulls no server part, and an
app with its own ``pricing``, ``storage`` and ``instrumentation`` modules still gets its calls priced.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer
from tests.otlp_helpers import breakdown
from tests.prices import as_json_number, cost
from tests.standin.provider import StandInProvider

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]
OLD_NAMES = (
    "semconv",
    "pricing",
    "instrumentation",
    "storage",
    "otlp_receiver",
    "query_api",
    "caps",
    "dashboard",
    "billing",
)
# Modules an instrumented app must never load by importing the SDK.
SERVER_MODULES = (
    "chdb",
    "clickhouse_connect",
    "fastapi",
    "starlette",
    "uvicorn",
    "pyarrow",
    "stripe",
    "sendgrid",
    "genai_prices",
    "pydantic_settings",
    "grpc",
    "llmobserve.storage",
    "llmobserve.otlp_receiver",
    "llmobserve.query_api",
    "llmobserve.caps",
    "llmobserve.dashboard",
    "llmobserve.pricing",
    "llmobserve.billing",
    "llmobserve.server",
)


def _repo_packages() -> dict[str, Path]:
    """Import name -> folder, for every folder with an ``__init__.py`` that the mapping covers."""
    found = {}
    for top_name, top_dir in PACKAGE_DIRS.items():
        for init in sorted((ROOT / top_dir).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / top_dir)
            found[".".join((top_name, *rel.parts))] = init.parent
    return found


def test_every_package_folder_is_mapped_and_listed() -> None:
    mapped = {folder for folder in PACKAGE_DIRS.values()}
    top_folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert top_folders == mapped, "every top-level package folder needs a package-dir entry (and nothing else)"
    assert sorted(_repo_packages()) == sorted(PYPROJECT["tool"]["setuptools"]["packages"])


# The old top-level names, imported in code, inside test scripts, or shown in docs.
_OLD_IMPORT = re.compile(
    rf"^\s*(?:from ({'|'.join(OLD_NAMES)})[\s.]|import (?:[\w.]+,\s*)*({'|'.join(OLD_NAMES)})\b)", re.M
)


def test_no_code_doc_or_example_uses_the_old_top_level_names() -> None:
    files = [
        p
        for p in ROOT.rglob("*")
        if p.suffix in (".py", ".md", ".toml", ".yaml", ".yml", ".sh")
        and ".venv" not in p.parts
        and ".git" not in p.parts
    ]
    found = [
        f"{p.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()}"
        for p in files
        for text in [p.read_text(errors="replace")]
        for m in _OLD_IMPORT.finditer(text)
    ]
    assert found == []


def test_importing_the_sdk_loads_no_server_dependency(tmp_path: Path) -> None:
    # From an empty folder, so the installed package (not the checkout's folders) is what imports.
    code = textwrap.dedent(f"""
        import sys
        from llmobserve import Observation, agent, customer, observe, section, shutdown, tool, wrap_all_tools
        loaded = [m for m in {SERVER_MODULES!r} if m in sys.modules]
        print("loaded:", loaded)
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded: []"


# --- the built wheel, in a fresh venv with no extras ---------------------------------------------------------------


@dataclass
class Wheel:
    path: Path
    python: Path  # a fresh venv with the wheel and its base dependencies only


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Wheel:
    # Build from a copy: an in-tree build leaves build/ and *.egg-info in the checkout.
    src = tmp_path_factory.mktemp("src")
    for folder in PACKAGE_DIRS.values():
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (path,) = dist.glob("llmobserve-*.whl")
    venv = tmp_path_factory.mktemp("venv")
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"  # `make` installs it; ~5 s faster than venv + pip here
    if uv.exists():
        subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=120)
        install = [str(uv), "pip", "install", "--quiet", "--python", str(python), str(path)]
    else:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        install = [str(python), "-m", "pip", "install", "--quiet", str(path)]
    installed = subprocess.run(install, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr
    return Wheel(path, python)


def test_wheel_holds_one_import_name_and_every_module(wheel: Wheel) -> None:
    names = zipfile.ZipFile(wheel.path).namelist()
    assert {name.split("/")[0] for name in names} == {
        "llmobserve",
        f"{wheel.path.name.split('-')[0]}-{wheel.path.name.split('-')[1]}.dist-info",
    }
    expected = {
        f"{package.replace('.', '/')}/{py.name}"
        for package, folder in _repo_packages().items()
        for py in folder.glob("*.py")
    }
    # the dashboard's templates and vendored assets ship inside the wheel: nothing to build or fetch at run time
    dashboard = ROOT / "dashboard"
    expected |= {
        f"llmobserve/dashboard/{f.relative_to(dashboard)}"
        for part in ("templates", "static")
        for f in (dashboard / part).iterdir()
    }
    assert expected - set(names) == set()


def test_wheel_alone_has_no_server_parts_installed(wheel: Wheel, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(wheel.python),
            "-c",
            "import importlib.util as u; "
            "print([m for m in ('chdb', 'clickhouse_connect', 'fastapi', 'pyarrow') if u.find_spec(m)])",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]", done.stderr
    cli = subprocess.run(
        [str(wheel.python), "-m", "llmobserve", "keys", "create", "--tenant", "x"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 2 and "pip install 'llmobserve[server]'" in cli.stderr, cli.stderr


# --- an app whose own modules carry the names we used to install ---------------------------------------------------

APP_MODULES = {
    "pricing.py": "OWNER = 'app'\n",
    "instrumentation.py": "OWNER = 'app'\n",
    "storage/__init__.py": "OWNER = 'app'\n",
}

APP = """
import importlib
own = [importlib.import_module(name) for name in ("pricing", "storage", "instrumentation")]
assert [module.OWNER for module in own] == ["app", "app", "app"]  # the app's own modules, not ours

from llmobserve import customer, observe
obs = observe(api_key={key!r}, endpoint={endpoint!r}, provider_urls={{{base!r} + "/openai/v1": "openai"}})
with customer({customer!r}):
    {call}
assert obs.flush(30_000)
import llmobserve.instrumentation
assert "site-packages" in llmobserve.instrumentation.__file__ or {editable!r}
print("sent")
"""

OPENAI_CALL = (
    "import openai; openai.OpenAI(base_url={base!r} + '/openai/v1', api_key='t', max_retries=0)"
    ".chat.completions.create(model='gpt-4o', messages=[{{'role': 'user', 'content': 'hi'}}])"
)
HTTPX_CALL = (
    "import httpx; httpx.post({base!r} + '/openai/v1/chat/completions', headers={{'authorization': 'Bearer t'}}, "
    "json={{'model': 'gpt-4o', 'messages': [{{'role': 'user', 'content': 'hi'}}]}}).raise_for_status()"
)


@pytest.fixture(scope="module")
def standin() -> Iterator[StandInProvider]:
    with StandInProvider() as provider:
        yield provider


def _run_app(
    python: Path,
    folder: Path,
    server: LiveServer,
    standin: StandInProvider,
    key: str,
    customer_id: str,
    call: str,
    editable: bool,
) -> None:
    for name, text in APP_MODULES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    script = APP.format(
        key=key,
        endpoint=server.grpc_target,
        base=standin.url,
        customer=customer_id,
        call=call.format(base=standin.url),
        editable=editable,
    )
    (folder / "app.py").write_text(script)
    done = subprocess.run([str(python), "app.py"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "sent", done.stderr[-3000:]
    one_call = cost("gpt-4o", standin.usage.input, standin.usage.output, cache_read=standin.usage.cache_read)
    assert breakdown(server.http_url, key, "customer")[customer_id] == (as_json_number(one_call), 1)


def test_app_with_its_own_pricing_storage_instrumentation_is_priced(
    server: LiveServer, standin: StandInProvider, tmp_path: Path
) -> None:
    key = server.create_key("shadowing-app")
    _run_app(Path(sys.executable), tmp_path, server, standin, key, "shadow-cust", OPENAI_CALL, editable=True)


def test_fresh_venv_with_the_wheel_alone_observes_and_sends(
    wheel: Wheel, server: LiveServer, standin: StandInProvider, tmp_path: Path
) -> None:
    key = server.create_key("wheel-app")
    _run_app(wheel.python, tmp_path, server, standin, key, "wheel-cust", HTTPX_CALL, editable=False)
