"""The page an e-mail recipient's confirmation link opens: public (the recipient has no account).

Opening the link changes nothing: mail scanners fetch links before anyone reads them. Only the
page's button, a POST, confirms; the link is then used up.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from llmobserve.query_api.deps import ServicesDep
from llmobserve.query_api.services import recipients

from ._web import render, same_origin

router = APIRouter(include_in_schema=False)
log = logging.getLogger("llmobserve.dashboard")

_STATUS = {"pending": 200, "confirmed": 200, "used": 410, "expired": 410, "unknown": 404}


def _page(request: Request, link: recipients.Link, token: str = "") -> HTMLResponse:
    return render(
        request,
        "confirm_recipient.html",
        status_code=_STATUS[link.state],
        title="Confirm spending alerts",
        link=link,
        token=token,
        days=recipients.LINK_VALID.days,
    )


def _trouble(request: Request, status: int) -> HTMLResponse:
    """A page of its own: the shared error page would send this visitor, who has no account, to sign in."""
    return render(
        request, "confirm_recipient.html", status_code=status, title="Not confirmed", link=None, trouble=status
    )


@router.get(recipients.CONFIRM_PATH, response_class=HTMLResponse)
async def confirmation_page(request: Request, services: ServicesDep, token: str = Query("")) -> HTMLResponse:
    try:
        link = await run_in_threadpool(recipients.confirmation_link, services, token)
    except Exception:
        log.exception("confirmation page failed")
        return _trouble(request, 503)
    return _page(request, link, token if link.state == "pending" else "")


@router.post(recipients.CONFIRM_PATH, response_class=HTMLResponse)
async def confirm(request: Request, services: ServicesDep, token: str = Form("")) -> HTMLResponse:
    if not same_origin(request):
        return _trouble(request, 403)
    try:
        link = await run_in_threadpool(recipients.confirm_recipient, services, token)
    except Exception:
        log.exception("confirmation page failed")
        return _trouble(request, 503)
    return _page(request, link)
