"""The typed GenAI view of one span, produced by ``normalize()``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["GenAIRecord"]


@dataclass(slots=True)
class GenAIRecord:
    """What the receiver needs from one span's attributes, whatever convention spelled them.

    Token counts follow the OTel rule: ``input_tokens`` includes cache-read and cache-write
    tokens, ``output_tokens`` includes reasoning tokens. Missing counts are 0; ``has_usage``
    says whether any count was present at all.
    """

    operation: str = ""
    provider: str = ""
    request_model: str = ""
    response_model: str = ""
    agent: str = ""
    tool: str = ""
    customer: str = ""
    session: str = ""
    section_path: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    has_usage: bool = False
    client_cost: Decimal | None = None
    is_batch: bool = False
    service_tier: str = ""
    http_status: int = 0
    error_type: str = ""
    is_llm: bool = False

    @property
    def model(self) -> str:
        """The model that served the call: the response model when known, else the requested one."""
        return self.response_model or self.request_model
