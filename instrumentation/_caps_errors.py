"""``SpendingCapExceeded``: a hard-block spending cap refused an LLM call before it left the process.

    Exception
     └── SpendingCapExceeded          (llmobserve.SpendingCapExceeded: catch this one)
          └── raised as a subclass that also derives from each loaded provider SDK's root error
              (openai.OpenAIError, anthropic.AnthropicError), see ``blocked``

Why the extra bases: the guard raises from the httpx request hook, inside the SDK's ``send``. The
openai and anthropic SDKs turn any other ``Exception`` raised there into ``APIConnectionError`` and
retry it (``_base_client.py``: ``except Exception`` → retry → ``APIConnectionError from err``); both
re-raise their own root error unchanged and unretried (``except OpenAIError: raise``; anthropic:
``if isinstance(err, AnthropicError): raise``). Raising an instance that is both ``SpendingCapExceeded``
and that root error gets it to the caller as is, with no retry and no request sent. A
``BaseException`` would get through every SDK too, but would also slip past the app's own
``except Exception`` (web frameworks' error pages, worker loops), so it is not used. The SDK modules are
looked up in ``sys.modules``, never imported: an app that does not use an SDK does not load it.
"""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = ["SpendingCapExceeded", "blocked"]

# (module, root error) of SDKs that re-raise their root error from a transport unchanged and unretried.
_SDK_ROOT_ERRORS = (("openai", "OpenAIError"), ("anthropic", "AnthropicError"))
_MIXED: dict[tuple[type, ...], type] = {}


def _usd(amount: Decimal) -> str:
    """``0.1`` → ``$0.10``, ``0.1012`` → ``$0.1012``: cents at least, never rounded."""
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"${amount}"


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class SpendingCapExceeded(Exception):  # noqa: N818 - the product's name for it
    """A ``hard_block`` spending cap that applies to this call is exhausted; the call was not sent.

    Attributes:
        cap_id: the cap's id (``cap_…``).
        cap_name: its name (may be empty).
        scope: ``global``, ``provider``, ``model``, ``agent``, ``customer``, ``service`` or ``each_customer``.
        value: what the cap is about: the scope's value, for ``each_customer`` the call's customer,
            None for ``global``.
        spend_usd: the spend counted against the cap this period (exact).
        limit_usd: the cap's limit (exact).
        resets_at: when the period ends and calls go through again (None: a ``total`` cap never resets).
        period: ``daily``, ``monthly``, ... when known.
    """

    def __init__(
        self,
        cap_id: str,
        cap_name: str,
        scope: str,
        value: str | None,
        spend_usd: Decimal,
        limit_usd: Decimal,
        resets_at: datetime | None,
        period: str = "",
    ) -> None:
        self.cap_id = cap_id
        self.cap_name = cap_name
        self.scope = scope
        self.value = value
        self.spend_usd = spend_usd
        self.limit_usd = limit_usd
        self.resets_at = resets_at
        self.period = period
        super().__init__(self._message())

    def _message(self) -> str:
        subject = "global" if self.value is None else f"{self.scope}={self.value}"
        if self.scope == "each_customer":
            subject = f"customer={self.value}, each customer"
        where = ", ".join(part for part in (subject, self.period) if part)
        named = f"'{self.cap_name}' ({self.cap_id})" if self.cap_name else self.cap_id
        resets = f"resets {_iso(self.resets_at)}" if self.resets_at is not None else "never resets"
        return (
            f"spending cap {named} ({where}) is exceeded: {_usd(self.spend_usd)} of {_usd(self.limit_usd)} "
            f"spent; {resets}"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # pickles as the public class, whatever it was raised as
        return (
            SpendingCapExceeded,
            (
                self.cap_id,
                self.cap_name,
                self.scope,
                self.value,
                self.spend_usd,
                self.limit_usd,
                self.resets_at,
                self.period,
            ),
        )


SpendingCapExceeded.__module__ = "llmobserve"  # its public home; spans name it llmobserve.SpendingCapExceeded


def blocked(*args: Any, **kwargs: Any) -> SpendingCapExceeded:
    """A ``SpendingCapExceeded`` to raise inside a provider SDK's request (see the module docstring)."""
    bases = []
    for module_name, error_name in _SDK_ROOT_ERRORS:
        error = getattr(sys.modules.get(module_name), error_name, None)
        if isinstance(error, type) and issubclass(error, Exception):
            bases.append(error)
    key = tuple(bases)
    cls = _MIXED.get(key)
    if cls is None:
        cls = SpendingCapExceeded
        if bases:
            try:
                cls = type(
                    "SpendingCapExceeded",
                    (SpendingCapExceeded, *bases),
                    {"__module__": "llmobserve", "__doc__": SpendingCapExceeded.__doc__},
                )
            except TypeError:  # an SDK's root error with an incompatible layout: the plain class
                cls = SpendingCapExceeded
        _MIXED[key] = cls
    return cls(*args, **kwargs)  # type: ignore[no-any-return]  # a SpendingCapExceeded subclass made with type()
