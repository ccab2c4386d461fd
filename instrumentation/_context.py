"""The labels in force: customer and section path, as context variables.

Plain ``contextvars`` rather than OTel baggage on purpose: baggage is propagated in outgoing
HTTP headers, which would send end-customer ids to every service (and LLM provider) the app
calls. These stay in-process; asyncio tasks inherit them as usual.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["current_customer", "current_path", "CUSTOMER", "SECTION"]

CUSTOMER: ContextVar[str | None] = ContextVar("llmobserve_customer", default=None)
SECTION: ContextVar[tuple[str, ...]] = ContextVar("llmobserve_section", default=())


def current_customer() -> str | None:
    return CUSTOMER.get()


def current_path() -> str:
    return "/".join(SECTION.get())
