"""The HTTP API (FastAPI): routes, request/response schemas, dependencies, errors, and the service
layer (``query_api.services``) that the routes and the dashboard share."""

from __future__ import annotations

from ._app import create_app
from ._body_limit import BodyLimit
from ._errors import PageError
from .services import Services, parse_iso_time
from .services.litellm import LiteLLMImport, parse_litellm
from .services.prices import rules_for
from .services.reprice import RepriceResult, reprice

__all__ = [
    "BodyLimit",
    "LiteLLMImport",
    "PageError",
    "RepriceResult",
    "Services",
    "create_app",
    "parse_iso_time",
    "parse_litellm",
    "reprice",
    "rules_for",
]
