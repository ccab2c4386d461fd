"""Each package imports only downward (docs/design.md's table of rooms); the SDK never touches server code.

Packages live in top-level folders but import as ``llmobserve.<folder>``; an import of
``llmobserve.storage`` counts as an import of ``storage``. Relative imports may not leave their package.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
ALLOWED = {
    "semconv": set(),
    "pricing": {"semconv", "genai_prices", "re2", "cachetools"},
    # brotli / zstandard: optional decoders, used only when installed (as httpx itself does)
    "instrumentation": {"semconv", "opentelemetry", "httpx", "wrapt", "brotli", "zstandard"},
    # setproctitle: the server's threads name themselves (llmo-writer, ...) for top -H and bench/soak.py
    "storage": {"clickhouse_connect", "pyarrow", "setproctitle", "cachetools"},
    # the control store: SQL through SQLAlchemy and Alembic; cachetools for the key and settings caches
    "control": {"sqlalchemy", "alembic", "cachetools", "setproctitle"},
    "otlp_receiver": {
        "semconv",
        "pricing",
        "storage",
        "control",
        "grpc",
        "google",
        "opentelemetry",
        "fastapi",
        "pyarrow",
        "setproctitle",
    },
    # sendgrid / python_http_client / httpx: the alert notifiers deliver through them; httpcore: the
    # webhook transport's network backend, where addresses are checked and deadlines kept
    "caps": {"pricing", "storage", "control", "sendgrid", "python_http_client", "httpx", "httpcore", "setproctitle"},
    "query_api": {
        "pricing",
        "storage",
        "control",
        "caps",
        "billing",
        "fastapi",
        "pydantic",
        "starlette",
        "authlib",
        "argon2",
        "joserfc",
        "httpx",
    },
    # the service layer and the schemas of query_api, never its routes (see below)
    "dashboard": {"pricing", "storage", "control", "query_api", "fastapi", "pydantic", "starlette", "jinja2"},
    # cachetools: the ingest gate's per-workspace entries
    "billing": {"control", "stripe", "cachetools"},
}


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level > len(path.relative_to(ROOT).parts) - 1:
                names = ["<relative import out of the package>"]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [
                    f"{node.module}.{alias.name}" if node.module == "llmobserve" else node.module
                    for alias in node.names
                ]
            else:
                continue
            for name in names:
                found.setdefault(_root(name), set()).add(str(path.relative_to(ROOT)))
    return found


def _root(module: str) -> str:
    parts = module.split(".")
    return parts[1] if parts[0] == "llmobserve" and len(parts) > 1 else parts[0]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_downward(package: str) -> None:
    allowed = ALLOWED[package] | STDLIB | {package}
    bad = {root: files for root, files in _imports(package).items() if root not in allowed}
    assert not bad, f"{package} imports {bad}; allowed: {sorted(ALLOWED[package])}"


def test_the_dashboard_uses_the_service_layer_never_the_routes() -> None:
    found = {}
    for path in (ROOT / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("llmobserve.query_api"):
                wanted = (
                    [node.module]
                    if node.module != "llmobserve.query_api"
                    else [f"llmobserve.query_api.{alias.name}" for alias in node.names]
                )
                for name in wanted:
                    if not name.startswith(
                        ("llmobserve.query_api.services", "llmobserve.query_api.schemas", "llmobserve.query_api.deps")
                    ):
                        found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert not found, f"the dashboard reaches into query_api beyond its services, schemas and deps: {found}"


def test_caps_never_imports_the_api_or_the_dashboard() -> None:
    assert not {"query_api", "dashboard"} & set(_imports("caps"))


@pytest.mark.parametrize(
    "package",
    [
        "semconv",
        "pricing",
        "storage",
        "control",
        "otlp_receiver",
        "caps",
        "caps.notify",
        "query_api",
        "query_api.services",
        "query_api.schemas",
        "dashboard",
    ],
)
def test_public_api_is_a_sorted_all(package: str) -> None:
    module = importlib.import_module(f"llmobserve.{package}")
    names = list(module.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(module, name), f"{package}.__all__ lists missing {name}"
