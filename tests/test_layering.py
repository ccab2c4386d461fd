"""Each package imports only downward (DESIGN.md's table); the SDK never touches server code.

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
    "pricing": {"semconv", "genai_prices", "re2"},
    # brotli / zstandard: optional decoders, used only when installed (as httpx itself does)
    "instrumentation": {"semconv", "opentelemetry", "httpx", "wrapt", "brotli", "zstandard"},
    # setproctitle: the server's threads name themselves (llmo-writer, ...) for top -H and bench/soak.py
    "storage": {"clickhouse_connect", "pyarrow", "setproctitle"},
    "otlp_receiver": {"semconv", "pricing", "storage", "grpc", "google", "opentelemetry", "fastapi", "pyarrow",
                      "setproctitle"},
    # sendgrid / python_http_client / httpx: the spending-cap alert notifiers deliver through them
    "query_api": {"pricing", "storage", "billing", "fastapi", "pydantic", "starlette",
                  "sendgrid", "python_http_client", "httpx", "jinja2", "setproctitle"},
    "billing": {"storage", "stripe", "sendgrid", "pydantic", "httpx"},
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
                names = [f"{node.module}.{alias.name}" if node.module == "llmobserve" else node.module
                         for alias in node.names]
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


@pytest.mark.parametrize("package", ["semconv", "pricing", "storage", "otlp_receiver", "query_api"])
def test_public_api_is_a_sorted_all(package: str) -> None:
    module = importlib.import_module(f"llmobserve.{package}")
    names = list(module.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(module, name), f"{package}.__all__ lists missing {name}"
