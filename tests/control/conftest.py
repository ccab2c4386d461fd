"""Every control-store test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llmobserve.control import ControlStore, default_url
from tests.control_db import postgres_database, postgres_reason


@pytest.fixture(params=["sqlite", "postgresql"])
def control_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty control store on each backend."""
    if request.param == "sqlite":
        yield default_url(tmp_path)
        return
    reason = postgres_reason()
    if reason:
        pytest.skip(reason)
    with postgres_database() as url:
        yield url


@pytest.fixture
def stores(control_url: str) -> Iterator[list[ControlStore]]:
    """Two stores on one database: what two API processes see (opened, so migrated)."""
    opened = [ControlStore.open(control_url), ControlStore.open(control_url)]
    yield opened
    for store in opened:
        store.close()
