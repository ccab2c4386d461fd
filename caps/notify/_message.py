"""What an alert says: the message the monitor hands over, and its e-mail and webhook renderings."""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

__all__ = ["AlertMessage", "format_usd", "html_body", "payload", "payload_for", "subject", "text_body"]

_PERIOD_WORD = {"daily": "per day", "weekly": "per week", "monthly": "per month", "total": "in total"}


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """One threshold of one cap crossed (or a test of its channels), as the monitor hands it over."""

    alert_id: str  # "alert_<16 hex>"; also the webhooks' Idempotency-Key
    tenant: str
    cap_id: str
    cap_name: str  # may be ""
    scope: str  # global|provider|model|agent|customer|service|each_customer
    value: str  # the scope's value; for each_customer the customer id; "" for global
    threshold: Decimal  # e.g. Decimal("0.8")
    spend_usd: Decimal  # exact
    limit_usd: Decimal
    period: str  # daily|weekly|monthly|total
    time_zone: str  # IANA
    period_start: datetime  # aware UTC
    resets_at: datetime | None  # aware UTC; None for period "total"
    fired_at: datetime  # aware UTC
    cap_url: str
    enforcement: str  # alert_only|hard_block
    test: bool = False  # sent by POST /caps/{id}/test: nothing was crossed
    # An each_customer cap's digest: the customers that crossed this threshold in one pass (the first
    # of them, sorted), and how many more did. One message, whatever the number of customers.
    customers: tuple[str, ...] = ()
    more_customers: int = 0


def format_usd(amount: Decimal) -> str:
    """``$12.50``, ``$0.10``, ``$0.000123``, ``$1,234.5678``: every digit the amount has, at least two decimals.

    Rounding to cents would show a sub-cent spend as $0.00, and an alert saying so is useless.
    """
    if not amount.is_finite():
        return f"${amount}"
    whole, _, fraction = format(abs(amount), "f").partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    sign = "-" if amount < 0 else ""
    return f"{sign}${int(whole):,}.{fraction}"


# ---------------------------------------------------------------------- what the alert says


def _one_line(text: str) -> str:
    """User text made fit for a subject or a one-line summary: no control characters or line breaks."""
    cleaned = "".join(" " if unicodedata.category(c)[0] == "C" else c for c in text)
    return " ".join(cleaned.split())


def _plain(amount: Decimal) -> str:
    """Exact and never in exponent form (str(Decimal("0.0000001")) is "1E-7")."""
    return format(amount, "f")


def _percent(fraction: Decimal) -> str:
    """80%, 87.5%, 81.2%: a share as a percentage, to one decimal at most."""
    text = format((fraction * 100).quantize(Decimal("0.1")), "f")
    return (text.removesuffix(".0") if text.endswith(".0") else text) + "%"


def _used(message: AlertMessage) -> Decimal | None:
    return message.spend_usd / message.limit_usd if message.limit_usd > 0 else None


def _label(message: AlertMessage) -> str:
    return _one_line(message.cap_name) or message.cap_id


def _scope(message: AlertMessage) -> str:
    if message.scope == "global":
        return "global (all spend)"
    if message.customers:
        more = f" and {message.more_customers:,} more" if message.more_customers else ""
        count = len(message.customers) + message.more_customers
        return f"each customer ({count:,} crossed: {', '.join(map(_one_line, message.customers))}{more})"
    if message.scope == "each_customer":
        return f"each customer (this alert: customer {_one_line(message.value)})"
    return f"{message.scope} = {_one_line(message.value)}"


def _when(moment: datetime, time_zone: str) -> str:
    """The moment in the cap's time zone, and in UTC when that differs."""
    utc = moment.astimezone(UTC)
    try:
        local = moment.astimezone(ZoneInfo(time_zone))
    except (ValueError, KeyError, OSError):  # an unknown zone still gets its alert, in UTC
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    if time_zone in ("UTC", "Etc/UTC"):
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    return f"{local:%Y-%m-%d %H:%M} {time_zone} ({utc:%Y-%m-%d %H:%M} UTC)"


def _summary(message: AlertMessage) -> str:
    """The one-line gist (subject and webhook text): which cap, which threshold, how much of what."""
    test = "TEST: " if message.test else ""
    return (
        f"{test}Cap '{_label(message)}' at {_percent(message.threshold)} — {format_usd(message.spend_usd)} "
        f"of {format_usd(message.limit_usd)} ({message.period})"
    )


def subject(message: AlertMessage) -> str:
    return f"[llmobserve] {_summary(message)}"


def _facts(message: AlertMessage) -> list[tuple[str, str]]:
    """Label/value rows, shared by the text and the HTML body (values are plain, unescaped text)."""
    used = _used(message)
    cap = f"{_one_line(message.cap_name)} ({message.cap_id})" if _one_line(message.cap_name) else message.cap_id
    if message.enforcement == "hard_block":
        enforcement = "hard block: calls in this scope are blocked once spend reaches 100% of the limit"
    else:
        enforcement = "alert only: calls are never blocked"
    return [
        ("Cap", cap),
        ("Scope", _scope(message)),
        ("Spend", format_usd(message.spend_usd)),
        ("Limit", f"{format_usd(message.limit_usd)} {_PERIOD_WORD.get(message.period, message.period)}"),
        (
            "Used",
            f"{_percent(used) if used is not None else 'n/a'} of the limit "
            f"(alert threshold {_percent(message.threshold)})",
        ),
        ("Period", f"{message.period}, in {message.time_zone}, since {_when(message.period_start, message.time_zone)}"),
        ("Resets", _when(message.resets_at, message.time_zone) if message.resets_at is not None else "never (total)"),
        ("Enforcement", enforcement),
        ("Fired at", _when(message.fired_at, message.time_zone)),
        ("Alert id", message.alert_id),
    ]


def _intro(message: AlertMessage) -> str:
    if message.test:
        return (
            "This is a test notification: no threshold was crossed. It shows that alerts of this cap "
            "reach you, and what they look like."
        )
    return f"Spending cap '{_label(message)}' has crossed its {_percent(message.threshold)} alert threshold."


def text_body(message: AlertMessage) -> str:
    width = max(len(label) for label, _ in _facts(message)) + 2
    # One line per fact: a value with a line break (a customer id is the sender's choice) adds none.
    rows = [f"{label + ':':<{width}}{_one_line(value)}" for label, value in _facts(message)]
    return "\n".join([_intro(message), "", *rows, "", f"View the cap: {message.cap_url}", ""])


def html_body(message: AlertMessage) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding-right:12px">{e(label)}</th><td>{e(value)}</td></tr>'
        for label, value in _facts(message)
    )
    return (
        f'<p>{e(_intro(message))}</p>\n<table>{rows}</table>\n<p><a href="{e(message.cap_url)}">View the cap</a></p>\n'
    )


def _slack_escape(text: str) -> str:
    """Slack reads <...> as a link or mention: a cap named "<!channel>" must not ping a whole channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(message: AlertMessage) -> dict[str, Any]:
    """The JSON a generic webhook receives (Slack reads its ``text``)."""
    used = _used(message)
    return {
        "text": f"{_slack_escape(_summary(message))} {message.cap_url}",
        "type": "spending_cap.test" if message.test else "spending_cap.threshold_crossed",
        "alert_id": message.alert_id,
        "cap": {
            "id": message.cap_id,
            "name": message.cap_name,
            "scope": message.scope,
            "value": message.value,
            "period": message.period,
            "time_zone": message.time_zone,
            "limit_usd": _plain(message.limit_usd),
            "enforcement": message.enforcement,
            "url": message.cap_url,
        },
        "customers": list(message.customers),
        "more_customers": message.more_customers,
        "threshold": _plain(message.threshold),
        "spend_usd": _plain(message.spend_usd),
        "limit_usd": _plain(message.limit_usd),
        "percent": round(float(used * 100), 4) if used is not None else None,
        "period_start": message.period_start.isoformat(),
        "resets_at": message.resets_at.isoformat() if message.resets_at is not None else None,
        "fired_at": message.fired_at.isoformat(),
        "test": message.test,
    }


_DISCORD_HOSTS = ("discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com")


def payload_for(url: str, message: AlertMessage) -> dict[str, Any]:
    """What the receiver at ``url`` understands: Slack's ``text``, Discord's ``content``, else ours."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "hooks.slack.com":
        return {"text": f"{_slack_escape(_summary(message))} {message.cap_url}"}
    if host in _DISCORD_HOSTS and parts.path.startswith("/api/webhooks/"):
        # no mentions parsed: a cap named "@everyone" must not ping a whole server
        return {"content": f"{_summary(message)} {message.cap_url}"[:2000], "allowed_mentions": {"parse": []}}
    return payload(message)
