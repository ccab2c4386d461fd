"""The HTTP query API (FastAPI): cost breakdowns and, later, traces, exports, caps and keys."""

from __future__ import annotations

from ._app import create_app

__all__ = [
    "create_app",
]
