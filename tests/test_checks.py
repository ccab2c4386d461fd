"""``make test`` holds the style: ``make check`` (which it runs first) fails on a misformatted file,
on a lint finding and on a type error, each named. Each run is on a copy of the files git tracks or
would track, with this checkout's venv and mypy cache. That the committed tree passes is what
``make test`` checks before the suite starts (running it again here took 8 s)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

VENV = ROOT / ".venv"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (VENV / "bin" / "ruff").exists():
        pytest.fail("no .venv: run the suite with `make test`, which installs the dev tools")
    copy = tmp_path_factory.mktemp("repo")
    tracked = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, tracked.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    if (ROOT / ".mypy_cache").is_dir():  # a warm cache: only what a test changes is checked again
        shutil.copytree(ROOT / ".mypy_cache", copy / ".mypy_cache")
    return copy


def _check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "check", f"VENV={VENV}", "NO_INSTALL=1"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _changed(path: Path, old: str, new: str) -> str:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return text


def test_a_misformatted_file_fails(repo: Path) -> None:
    target = repo / "pricing" / "_cost.py"
    original = _changed(target, "def exact_text(value: Decimal) -> str:", "def exact_text( value:Decimal )->str :")
    try:
        done = _check(repo)
    finally:
        target.write_text(original)
    assert done.returncode != 0
    assert "pricing/_cost.py" in done.stdout + done.stderr and "ruff format" in done.stdout + done.stderr


def test_an_unsorted_import_fails(repo: Path) -> None:
    target = repo / "caps" / "_periods.py"
    original = _changed(target, "from datetime import", "import zoneinfo\nfrom datetime import")
    try:
        done = _check(repo)
    finally:
        target.write_text(original)
    assert done.returncode != 0 and "caps/_periods.py" in done.stdout + done.stderr


def test_a_type_error_fails(repo: Path) -> None:
    target = repo / "pricing" / "_cost.py"
    original = _changed(target, 'return format(value.normalize(), "f")', "return value.normalize()")
    try:
        done = _check(repo)
    finally:
        target.write_text(original)
    assert done.returncode != 0
    assert "pricing/_cost.py" in done.stdout and "Incompatible return value type" in done.stdout, done.stdout
