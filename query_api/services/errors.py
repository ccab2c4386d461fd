"""What a service refuses, and why. The API answers each as ``{"error", "detail"}`` with the status
it names; a dashboard page shows it, or catches the kinds its forms explain in place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = ["BadRequest", "Conflict", "Invalid", "NotFound", "RateLimited", "ServiceError", "Unavailable"]


class ServiceError(Exception):
    status: ClassVar[int] = 400

    def __init__(self, detail: Any) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ServiceError):
    """A parameter the request cannot be answered with (a time out of range, a forged cursor)."""


class NotFound(ServiceError):
    """No such thing in this tenant (another tenant's id reads the same)."""

    status = 404


class Conflict(ServiceError):
    """The request is valid, but the state forbids it now (a limit reached, nothing to notify)."""

    status = 409


class Invalid(ServiceError):
    """A body field that passed its own checks is refused in context; ``detail`` lists the problems as
    request validation does (``type``, ``loc``, ``msg``, ``input``)."""

    status = 422

    def __init__(self, problems: Sequence[Mapping[str, Any]]) -> None:
        super().__init__(problems)
        self.problems = list(problems)


class RateLimited(ServiceError):
    status = 429

    def __init__(self, detail: Any, retry_after_s: int) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class Unavailable(ServiceError):
    """A part this process does not run (another process serves it)."""

    status = 503
