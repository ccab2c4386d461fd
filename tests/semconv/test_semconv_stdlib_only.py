"""``semconv`` must import only the standard library, so every other package can depend on it."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmobserve import semconv

SEMCONV_DIR = Path(semconv.__file__).resolve().parent
SOURCES = sorted(SEMCONV_DIR.glob("*.py"))


def test_semconv_sources_found() -> None:
    names = {p.name for p in SOURCES}
    assert {"__init__.py", "_attributes.py", "_normalize.py", "_record.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_module_imports_only_stdlib_or_relative(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    offenders = []
    # Every import statement anywhere in the module (top level, TYPE_CHECKING blocks, functions).
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 0:  # relative: inside semconv
                continue
            roots = [(node.module or "").split(".")[0]]
        else:
            continue
        offenders += [f"{path.name}:{node.lineno} {root}" for root in roots if root not in sys.stdlib_module_names]
    assert offenders == []


def test_importing_semconv_loads_no_third_party_module() -> None:
    code = textwrap.dedent(
        """
        import sys
        before = set(sys.modules)
        from llmobserve import semconv
        semconv.normalize({"gen_ai.usage.input_tokens": 1})
        roots = {name.split(".")[0] for name in set(sys.modules) - before}
        print(" ".join(sorted(r for r in roots if r != "llmobserve" and r not in sys.stdlib_module_names)))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=SEMCONV_DIR.parent
    )
    assert out.stdout.strip() == ""
