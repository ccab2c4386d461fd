"""After a person's first sign-in into a workspace of their own: name it, get an ingest key (shown
once), then today's Getting started (install, ``observe()``, the live wait for the first span)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from llmobserve.query_api.schemas import KeyCreate
from llmobserve.query_api.services import keys, people

from ._web import PageDep, check_csrf, render

router = APIRouter(include_in_schema=False)


@router.get("/onboarding", response_class=HTMLResponse)
def onboarding(request: Request, p: PageDep) -> HTMLResponse:
    p.require_admin()
    billing = p.services.billing if p.principal.allows("owner") else None
    return render(  # the form shows ``workspace_name``
        request,
        "onboarding.html",
        form_targets=billing.config.hosted_origins if billing else (),
        **p.context("Welcome", "/"),
        offer=billing is not None,
        free_spans=billing.config.free_spans if billing else 0,
        price_label=billing.config.price_label if billing else "",
    )


@router.post("/onboarding")
async def finish(request: Request, p: PageDep) -> Response:
    form = await check_csrf(request, p.session)
    p.require_admin()
    name = str(form.get("name", "")).strip()[:200]
    if name:
        await run_in_threadpool(p.control.people.rename_workspace, p.tenant, name, people.actor(p.principal))
    created = await run_in_threadpool(
        keys.create_key, p.control, p.principal, KeyCreate(scopes=["ingest"], name="created at onboarding")
    )
    p.session.flash.append(
        f"Your ingest key: {created.key} — copy it now; it is shown only this once. Set it as LLMOBSERVE_API_KEY below."
    )
    return RedirectResponse("/", status_code=303)
