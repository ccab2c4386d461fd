"""Attribute names of every GenAI convention we read, and ``normalize()`` into one typed record.

Imports the standard library only, so every other package can depend on it.
"""

from __future__ import annotations

from . import _attributes as attributes
from ._normalize import (
    GROUPING_OPERATIONS,
    INFERENCE_OPERATIONS,
    agent_from_section,
    normalize,
    normalize_provider,
    tool_from_section,
)
from ._record import GenAIRecord

__all__ = [
    "GROUPING_OPERATIONS",
    "GenAIRecord",
    "INFERENCE_OPERATIONS",
    "agent_from_section",
    "attributes",
    "normalize",
    "normalize_provider",
    "tool_from_section",
]
