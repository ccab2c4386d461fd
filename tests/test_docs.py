"""The README stays a front page (at most 150 lines) from which every page of docs/ is one link
away, and no link in README.md or docs/ points at a file that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _links(page: Path) -> set[Path]:
    return {
        (page.parent / target).resolve()
        for target in _LINK.findall(page.read_text())
        if not target.startswith(("http://", "https://", "mailto:"))
    }


def test_the_readme_is_short_and_links_every_doc() -> None:
    readme = ROOT / "README.md"
    assert len(readme.read_text().splitlines()) <= 150
    pages = {page.resolve() for page in (ROOT / "docs").glob("*.md")}
    assert pages - _links(readme) == set(), "pages of docs/ the README does not link"


def test_every_relative_link_resolves() -> None:
    broken = {
        f"{page.relative_to(ROOT)} -> {target}"
        for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]
        for target in _links(page)
        if not target.exists()
    }
    assert broken == set()
