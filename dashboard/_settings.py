"""Settings: API keys (a new key is shown once), custom prices, and the models still without a price.

Like the caps page, each read and write is the API's own service (``query_api.services.keys`` and
``.prices``), so the page and ``/api/v1`` cannot disagree.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from llmobserve.query_api.schemas import CustomPriceIn, DuplicatesIn, KeyCreate
from llmobserve.query_api.services import BadRequest, ServiceError, keys, prices, settings
from llmobserve.query_api.services.timerange import resolve_range

from ._caps import field_errors
from ._web import Page, PageDep, check_csrf, render

router = APIRouter(include_in_schema=False)

SCOPES = [
    ("ingest", "send spans (OTLP) and check caps"),
    ("read", "read costs, runs and this dashboard"),
    ("admin", "everything, including keys, prices and caps"),
]
RATES = ["input_per_mtok", "output_per_mtok", "cache_read_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok"]
READ_ONLY = "You are signed in with a read-only key: managing keys and prices needs a key with the admin scope."
_NEW_KEY = {"name": "", "scopes": ["ingest", "read"]}


def _settings_page(
    request: Request,
    p: Page,
    status_code: int = 200,
    key_values: dict[str, Any] | None = None,
    key_errors: dict[str, str] | None = None,
    price_values: dict[str, Any] | None = None,
    price_errors: dict[str, str] | None = None,
) -> HTMLResponse:
    admin = p.principal.allows("admin")
    listed = keys.list_keys(p.control, p.tenant).data if admin else None  # the API shows keys to admins only
    custom = prices.list_prices(p.control, p.tenant).data
    last_30_days = resolve_range(None, None)
    unpriced = prices.unpriced(p.store, p.tenant, *last_30_days)
    duplicates = settings.duplicates(p.services, p.tenant, *last_30_days)
    return render(
        request,
        "settings.html",
        status_code=status_code,
        **p.context("Settings", "/settings"),
        keys=listed,
        session_key_id=p.principal.key_id,
        scopes=SCOPES,
        prices=custom,
        unpriced=unpriced,
        duplicates=duplicates,
        key_values=key_values or _NEW_KEY,
        key_errors=key_errors or {},
        price_values=price_values or {},
        price_errors=price_errors or {},
        rates=RATES,
        read_only=READ_ONLY,
    )


@router.get("/settings", response_class=HTMLResponse)
def settings_page(
    request: Request, p: PageDep, provider: str = Query("", max_length=200), model: str = Query("", max_length=1000)
) -> HTMLResponse:
    """``provider`` and ``model`` pre-fill the add-price form (the unpriced list links here)."""
    return _settings_page(request, p, price_values={"provider": provider, "model": model})


@router.post("/settings/keys")
async def create_key(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    if not p.principal.allows("keys.ingest"):
        p.require_admin()
    values = {
        "name": str(form.get("name", "")).strip(),
        "scopes": [scope for scope, _ in SCOPES if form.get(f"scope_{scope}") == "on"],
    }
    try:
        body = KeyCreate.model_validate(values)
    except ValidationError as exc:
        errors = field_errors(exc, "name")
        if "scopes" in errors:
            errors["scopes"] = "Choose at least one scope."
        return await run_in_threadpool(_settings_page, request, p, 422, values, errors)
    try:
        created = await run_in_threadpool(keys.create_key, p.control, p.principal, body)
    except ServiceError as exc:
        return await run_in_threadpool(_settings_page, request, p, exc.status, values, {"scopes": str(exc.detail)})
    label = f" '{created.name}'" if created.name else ""
    p.session.flash.append(
        f"New key{label} ({', '.join(created.scopes)}): {created.key} — copy it now; it is shown only this once."
    )
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/keys/{key_id}/revoke")
async def revoke_key(key_id: str, request: Request, p: PageDep) -> Response:
    """Revoking this session's own key is allowed: the next page then asks to sign in again."""
    await check_csrf(request, p.session)
    p.require_admin()
    await run_in_threadpool(keys.revoke_key, p.services, p.principal, key_id)
    p.session.flash.append(f"Key {key_id} revoked; requests with it are refused from now on.")
    return RedirectResponse("/settings", status_code=303)


def price_fields(form: dict[str, Any]) -> dict[str, Any]:
    """The form as the API's price body: blank optional rates are left out (they default as the API says)."""
    text = {k: str(form.get(k, "")).strip() for k in ("provider", "model", "effective_from", *RATES)}
    regex = form.get("is_regex") == "on"
    fields: dict[str, Any] = {
        "provider": text["provider"],
        "model": None if regex else text["model"] or None,
        "model_pattern": text["model"] or None if regex else None,
    }
    if text["effective_from"]:  # a date picker's day, at 00:00 UTC
        fields["effective_from"] = text["effective_from"] + (
            "T00:00:00+00:00" if len(text["effective_from"]) == 10 else ""
        )
    for rate in RATES:
        if text[rate] or rate in ("input_per_mtok", "output_per_mtok"):
            fields[rate] = text[rate]
    return fields


@router.post("/settings/prices")
async def add_price(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    p.require_admin()
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in ("provider", "model", "effective_from", *RATES)}
    values["is_regex"] = form.get("is_regex") == "on"
    try:
        body = CustomPriceIn.model_validate(price_fields(form))
        price = await run_in_threadpool(prices.put_price, p.services, p.tenant, body, p.principal)
    except ValidationError as exc:
        errors = {("model" if k == "model_pattern" else k): v for k, v in field_errors(exc, "model").items()}
        return await run_in_threadpool(_settings_page, request, p, 422, None, None, values, errors)
    except BadRequest as exc:  # effective_from outside what storage holds
        return await run_in_threadpool(
            _settings_page, request, p, 422, None, None, values, {"effective_from": str(exc.detail)}
        )
    p.session.flash.append(
        f"Custom price for {price.provider or 'any provider'} / {price.model} saved. It prices calls "
        "ingested from now on; POST /api/v1/pricing/reprice re-prices stored ones."
    )
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/prices/{price_id}/delete")
async def delete_price(price_id: str, request: Request, p: PageDep) -> Response:
    await check_csrf(request, p.session)
    p.require_admin()
    await run_in_threadpool(prices.delete_price, p.services, p.tenant, price_id, p.principal)
    p.session.flash.append(f"Custom price {price_id} deleted.")
    return RedirectResponse("/settings", status_code=303)


@router.post("/settings/duplicates")
async def set_duplicates(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    p.require_admin()
    detect = form.get("detect") == "on"
    await run_in_threadpool(
        settings.set_duplicates, p.services, p.tenant, DuplicatesIn(detect=detect), *resolve_range(None, None)
    )
    p.session.flash.append(f"Duplicate detection turned {'on' if detect else 'off'} for spans ingested from now on.")
    return RedirectResponse("/settings#duplicates", status_code=303)
