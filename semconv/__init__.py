"""Attribute names of every GenAI convention we read, ``normalize()`` into one typed record, and
``redact_attribute()`` / ``redact_attributes()`` to cut credentials out of URL-valued attributes.

Imports the standard library only, so every other package can depend on it.
"""

from __future__ import annotations

from . import _attributes as attributes
from ._normalize import (
    GROUPING_OPERATIONS,
    INFERENCE_OPERATIONS,
    agent_from_section,
    customer_of,
    normalize,
    normalize_provider,
    session_of,
    tool_from_section,
)
from ._record import GenAIRecord
from ._redact import (
    REDACTED,
    URL_ATTRIBUTES,
    is_url_attribute,
    redact_attribute,
    redact_attributes,
    redact_query,
    redact_url,
)

__all__ = [
    "GROUPING_OPERATIONS",
    "GenAIRecord",
    "INFERENCE_OPERATIONS",
    "REDACTED",
    "URL_ATTRIBUTES",
    "agent_from_section",
    "attributes",
    "customer_of",
    "is_url_attribute",
    "normalize",
    "normalize_provider",
    "redact_attribute",
    "redact_attributes",
    "redact_query",
    "redact_url",
    "session_of",
    "tool_from_section",
]
