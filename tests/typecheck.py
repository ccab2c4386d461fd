"""``python -m tests.typecheck``: mypy over all product code, as ``make check`` runs it.

The repository keeps one folder per part (``storage/``, ``caps/``, ...) that installs as
``llmobserve.<part>`` (pyproject's package-dir mapping), so mypy cannot find ``llmobserve.storage``
from the root. This lays out ``.typecheck/llmobserve/`` as the installed package, of links to the
folders, and checks that tree with the settings in pyproject.toml.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / ".typecheck"


def link_tree(root: Path = ROOT, tree: Path = TREE) -> Path:
    """A fresh ``<tree>/llmobserve`` of links to ``root``'s folders, laid out as the wheel installs
    them; returns ``tree`` (a ``sys.path`` entry)."""
    shutil.rmtree(tree, ignore_errors=True)
    package = tree / "llmobserve"
    package.mkdir(parents=True)
    mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for name, folder in mapping.items():
        if name == "llmobserve":
            for module in sorted((root / folder).glob("*.py")):
                (package / module.name).symlink_to(module)
        elif name.count(".") == 1:
            (package / name.split(".", 1)[1]).symlink_to(root / folder, target_is_directory=True)
    return tree


def main() -> int:
    tree = link_tree()
    mypy = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(ROOT / ".mypy_cache"),
        "-p",
        "llmobserve",
    ]
    return subprocess.run(mypy, cwd=tree).returncode


if __name__ == "__main__":
    sys.exit(main())
