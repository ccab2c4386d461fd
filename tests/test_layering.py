"""Each package imports only downward (DESIGN.md's table); the SDK never touches server code."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
ALLOWED = {
    "semconv": set(),
    "pricing": {"semconv", "genai_prices"},
    # brotli / zstandard: optional decoders, used only when installed (as httpx itself does)
    "instrumentation": {"semconv", "opentelemetry", "httpx", "wrapt", "brotli", "zstandard"},
    "storage": {"clickhouse_connect", "pyarrow"},
    "otlp_receiver": {"semconv", "pricing", "storage", "grpc", "google", "opentelemetry", "fastapi", "pyarrow"},
    "query_api": {"pricing", "storage", "billing", "fastapi", "pydantic", "starlette"},
    "billing": {"storage", "stripe", "sendgrid", "pydantic", "httpx"},
}


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_downward(package: str) -> None:
    allowed = ALLOWED[package] | STDLIB | {package}
    bad = {root: files for root, files in _imports(package).items() if root not in allowed}
    assert not bad, f"{package} imports {bad}; allowed: {sorted(ALLOWED[package])}"


@pytest.mark.parametrize("package", ["semconv", "pricing", "storage", "otlp_receiver", "query_api"])
def test_public_api_is_a_sorted_all(package: str) -> None:
    module = __import__(package)
    names = list(module.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(module, name), f"{package}.__all__ lists missing {name}"
