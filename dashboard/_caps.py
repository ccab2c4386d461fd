"""Caps & alerts: where each spending cap stands and who it tells, its create/edit/delete forms, the
webhook signing secret (shown once, like a new API key), and the alert history.

Reads and writes are the API's own services (``query_api.services.caps`` and ``.alerts``), so the
page shows what ``/api/v1/caps/status`` answers and a form write is the API's write, caps_changed and all.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from llmobserve.pricing import exact_text
from llmobserve.query_api.schemas import SCOPED, CapIn, CapPatch
from llmobserve.query_api.services import Conflict, Invalid, alerts, caps

from ._web import Page, PageDep, check_csrf, render

router = APIRouter(include_in_schema=False)

SCOPES = [
    ("global", "Everything"),
    ("provider", "One provider"),
    ("model", "One model"),
    ("agent", "One agent"),
    ("customer", "One customer"),
    ("service", "One service"),
    ("each_customer", "Each customer (separately)"),
]
ZONES = sorted(available_timezones())
READ_ONLY = "You are signed in with a read-only key: changing caps needs a key with the admin scope."
_LIST = re.compile(r"[\s,;]+")


def _webhook_errors(exc: Invalid) -> dict[str, str]:
    return {"webhooks": "; ".join(str(e.get("msg", "")) for e in exc.problems)}


def field_errors(exc: ValidationError, fallback: str) -> dict[str, str]:
    """One readable message per form field (the first problem found), keyed by the field's name."""
    found: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        loc = error.get("loc", ())
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        field = str(loc[0]) if loc else ("value" if "'value'" in msg else fallback)
        found.setdefault(field, _friendly(field, str(error.get("type", "")), error.get("input"), msg))
    return found


def _friendly(field: str, kind: str, given: object, msg: str) -> str:
    if kind == "string_pattern_mismatch" and field == "limit_usd":
        return "Enter an amount in USD such as 25 or 12.50 (digits, a dot, at most 12 decimals)."
    if kind == "string_pattern_mismatch" and field == "recipients":
        return f"{given!r} is not an email address."
    if kind in ("decimal_parsing", "decimal_type"):
        return f"{given!r} is not a number." if field == "thresholds" else "Enter a number."
    if kind == "too_short" and field == "thresholds":
        return "Give at least one threshold, e.g. 0.8, 1."
    if kind == "literal_error":
        return "Choose one of the listed options."
    return msg[:1].upper() + msg[1:] + ("" if msg.endswith(".") else ".")


def _split(text: str) -> list[str]:
    return [part for part in _LIST.split(text.strip()) if part]


def cap_fields(form: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's cap body: blank value means none, lists are comma-separated."""
    text = {
        k: str(form.get(k, "")).strip()
        for k in (
            "name",
            "scope",
            "value",
            "period",
            "time_zone",
            "limit_usd",
            "thresholds",
            "enforcement",
            "recipients",
            "webhooks",
        )
    }
    return {
        "name": text["name"],
        "scope": text["scope"],
        "value": text["value"] or None,
        "period": text["period"],
        "time_zone": text["time_zone"] or "UTC",
        "limit_usd": text["limit_usd"],
        "thresholds": _split(text["thresholds"]),
        "enforcement": text["enforcement"],
        "recipients": _split(text["recipients"]),
        "webhooks": _split(text["webhooks"]),
        "enabled": form.get("enabled") == "on",
    }


def _form_values(fields: dict[str, Any]) -> dict[str, Any]:
    """Back to what the inputs show (the submitted text, so a mistake can be fixed in place)."""
    return {
        **fields,
        "value": fields.get("value") or "",
        "thresholds": ", ".join(map(str, fields["thresholds"])),
        "recipients": ", ".join(fields["recipients"]),
        "webhooks": ", ".join(fields["webhooks"]),
    }


def _cap_values(cap: Any, admin: bool) -> dict[str, Any]:
    return {
        "name": cap.name,
        "scope": cap.scope,
        "value": cap.value if cap.scope in SCOPED else "",
        "period": cap.period,
        "time_zone": cap.time_zone,
        "limit_usd": exact_text(cap.limit_usd),
        "thresholds": ", ".join(exact_text(t) for t in cap.thresholds),
        "enforcement": cap.enforcement,
        "recipients": ", ".join(cap.recipients),
        "webhooks": ", ".join(caps.shown_webhooks(cap.webhooks, admin)),
        "enabled": cap.enabled,
    }


def _secret_notice(secret: str) -> str:
    return (
        f"Webhook signing secret: {secret} — copy it now; it is shown only this once. "
        "Each webhook POST carries X-Llmobserve-Signature made with it (see docs/caps.md)."
    )


def _pending_notice(cap: Any) -> str:
    """What the form's author must know about recipients still to confirm ("" when none)."""
    pending = [
        r.address if r.confirmation_sent_at else f"{r.address} ({r.detail})"
        for r in cap.recipients_status
        if not r.confirmed
    ]
    if not pending:
        return ""
    return (
        "A recipient gets alerts only once it confirms the link e-mailed to it. Not yet confirmed: "
        + "; ".join(pending)
        + "."
    )


_NEW = {
    "name": "",
    "scope": "global",
    "value": "",
    "period": "monthly",
    "time_zone": "UTC",
    "limit_usd": "",
    "thresholds": "0.8, 1",
    "enforcement": "alert_only",
    "recipients": "",
    "webhooks": "",
    "enabled": True,
}


def _form_page(
    request: Request,
    p: Page,
    cap_id: str | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    title = "Edit cap" if cap_id else "New cap"
    return render(
        request,
        "cap_form.html",
        status_code=status_code,
        **p.context(title, "/caps"),
        cap_id=cap_id,
        values=values,
        errors=errors or {},
        scopes=SCOPES,
        zones=ZONES,
        read_only=READ_ONLY,
    )


@router.get("/caps", response_class=HTMLResponse)
def caps_page(request: Request, p: PageDep) -> HTMLResponse:
    admin = p.principal.allows("admin")
    status = caps.caps_status(p.services, p.tenant, [], [], reader=True, admin=admin)
    history = alerts.list_alerts(p.control, p.tenant, None, 50, admin=admin)
    return render(
        request,
        "caps.html",
        **p.context("Caps & alerts", "/caps"),
        status=status,
        alerts=history.data,
        scopes=dict(SCOPES),
        read_only=READ_ONLY,
    )


@router.get("/caps/new", response_class=HTMLResponse)
def new_cap_form(request: Request, p: PageDep) -> HTMLResponse:
    return _form_page(request, p, None, dict(_NEW))


@router.post("/caps/new")
async def create_cap(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    p.require_admin()
    fields = cap_fields(form)
    try:
        body = CapIn.model_validate(fields)
    except ValidationError as exc:
        return _form_page(request, p, None, _form_values(fields), field_errors(exc, "name"), 422)
    try:
        cap = await run_in_threadpool(caps.create_cap, p.services, p.tenant, body, p.principal)
    except Invalid as exc:  # a webhook this server may not call
        return _form_page(request, p, None, _form_values(fields), _webhook_errors(exc), 422)
    except Conflict as exc:
        return _form_page(request, p, None, _form_values(fields), {"_form": str(exc.detail)}, 409)
    p.session.flash.append(f"Cap {cap.name or cap.id} created.")
    p.session.flash.append(_secret_notice(cap.webhook_secret))
    if notice := _pending_notice(cap):
        p.session.flash.append(notice)
    return RedirectResponse("/caps", status_code=303)


@router.get("/caps/{cap_id}/edit", response_class=HTMLResponse)
def edit_cap_form(cap_id: str, request: Request, p: PageDep) -> HTMLResponse:
    cap = caps.find_cap(p.control, p.tenant, cap_id)
    return _form_page(request, p, cap.cap_id, _cap_values(cap, p.principal.allows("admin")))


@router.post("/caps/{cap_id}/edit")
async def edit_cap(cap_id: str, request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    p.require_admin()
    await run_in_threadpool(caps.find_cap, p.control, p.tenant, cap_id)  # 404 before any validation
    fields = cap_fields(form)
    try:
        CapIn.model_validate(fields)  # every field is on the form: the patch is the whole cap
        patch = CapPatch.model_validate(fields)
    except ValidationError as exc:
        return _form_page(request, p, cap_id, _form_values(fields), field_errors(exc, "name"), 422)
    try:
        cap = await run_in_threadpool(caps.patch_cap, p.services, p.tenant, cap_id, patch, p.principal)
    except Invalid as exc:
        return _form_page(request, p, cap_id, _form_values(fields), _webhook_errors(exc), 422)
    p.session.flash.append(f"Cap {cap.name or cap.id} saved.")
    if notice := _pending_notice(cap):
        p.session.flash.append(notice)
    return RedirectResponse("/caps", status_code=303)


@router.post("/caps/{cap_id}/webhook-secret")
async def rotate_webhook_secret(cap_id: str, request: Request, p: PageDep) -> Response:
    await check_csrf(request, p.session)
    p.require_admin()
    rotated = await run_in_threadpool(caps.rotate_webhook_secret, p.services, p.tenant, cap_id, p.principal)
    p.session.flash.append(f"Cap {cap_id}: new webhook signing secret; the old one no longer signs.")
    p.session.flash.append(_secret_notice(rotated.webhook_secret))
    return RedirectResponse("/caps", status_code=303)


@router.post("/caps/{cap_id}/delete")
async def delete_cap(cap_id: str, request: Request, p: PageDep) -> Response:
    await check_csrf(request, p.session)
    p.require_admin()
    cap = await run_in_threadpool(caps.delete_cap, p.services, p.tenant, cap_id, p.principal)
    p.session.flash.append(f"Cap {cap.name or cap.cap_id} deleted.")
    return RedirectResponse("/caps", status_code=303)
