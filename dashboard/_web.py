"""What every dashboard page shares: templates, the signed-in session, CSRF checks, money and time
as the browser shows them."""

from __future__ import annotations

import hmac
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from llmobserve.control import Principal
from llmobserve.pricing import exact_text
from llmobserve.query_api.deps import ServicesDep, session_principal
from llmobserve.query_api.services import Services, Session
from llmobserve.query_api.services.sessions import cookie_name

__all__ = [
    "Page",
    "PageDep",
    "SignInRequired",
    "check_csrf",
    "page",
    "render",
    "same_origin",
    "session_cookie",
    "usd",
]

_HERE = Path(__file__).parent
templates = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def usd(value: Decimal | float | int | None) -> str:
    """Exact, plain notation: the page formats it in the browser's locale (see app.js)."""
    if value is None:
        return ""
    return exact_text(value if isinstance(value, Decimal) else Decimal(str(value)))


templates.filters["usd"] = usd


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""


class Page:
    """A signed-in request: its session, the principal its key still is, and the services."""

    def __init__(self, request: Request, session: Session, principal: Principal, services: Services) -> None:
        self.request = request
        self.session = session
        self.principal = principal
        self.tenant = principal.tenant
        self.services = services
        self.store = services.store
        self.control = services.control

    def context(self, title: str, active: str) -> dict[str, Any]:
        """What every page passes to base.html: its title and nav item, who is signed in, the CSRF
        token, and the one-time notices (shown once, then forgotten)."""
        flash = self.session.flash[:]
        self.session.flash.clear()
        workspaces = self.control.people.workspaces_of(self.principal.user_id) if self.principal.user_id else []
        return {
            "title": title,
            "active": active,
            "tenant": self.tenant,
            "csrf": self.session.csrf,
            "flash": flash,
            "admin": self.principal.allows("admin"),
            "billing_nav": self.services.billing is not None and self.principal.allows("owner"),
            "person": self.principal.name if self.principal.user_id else "",
            "role": self.principal.role,
            "workspaces": workspaces,
            "workspace_name": next((name for id_, name, _ in workspaces if id_ == self.tenant), self.tenant),
        }

    def require_admin(self) -> None:
        """Refuse a change made with a read-only session's key (the page shows such forms disabled)."""
        if not self.principal.allows("admin"):
            raise HTTPException(403, "this session's key is read-only; sign in with an admin key to change settings")


def session_cookie(services: Services) -> tuple[str, bool]:
    """The session cookie's name and ``Secure`` flag (see ``services.sessions.cookie_name``)."""
    return cookie_name(services.public_url)


def page(request: Request, services: ServicesDep) -> Page:
    """Dependency of every signed-in page: a live session whose key is still valid (read scope)."""
    session = services.sessions.get(request.cookies.get(session_cookie(services)[0], ""))
    if session is None:
        raise SignInRequired
    principal = session_principal(services, session)
    if principal is None:
        services.sessions.delete(session.id)
        raise SignInRequired
    return Page(request, session, principal, services)


PageDep = Annotated[Page, Depends(page)]
"""A signed-in page's parameter: ``def costs(request: Request, p: PageDep)``."""


def same_origin(request: Request) -> bool:
    """A browser names the page a form came from; a form posted from another site is refused."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):  # "none": typed or bookmarked
        return False
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True  # not a browser form (or a privacy setting hiding it): the CSRF token still decides
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def check_csrf(request: Request, session: Session) -> dict[str, Any]:
    """The submitted form, if it carries this session's CSRF token and comes from this site; else 403."""
    form = dict(await request.form())
    token = str(form.get("csrf", ""))
    if not same_origin(request) or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(403, "this form is stale or was not sent from this dashboard; reload the page and retry")
    return form


def render(
    request: Request, name: str, status_code: int = 200, form_targets: tuple[str, ...] = (), **context: Any
) -> HTMLResponse:
    """``form_targets``: other origins this page's forms may end up at (a POST answered with a redirect to
    Stripe's Checkout counts as a form sent there)."""
    html = templates.get_template(name).render(request=request, **context)
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'; form-action " + " ".join(("'self'", *form_targets)),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )


def to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={target}" if target not in ("/", "/login") else "/login", status_code=303)
