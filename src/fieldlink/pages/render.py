"""Render a page: the right language, the company's brand, CSRF and safe headers.

Templates live in each feature folder under ``templates/<area>/`` (e.g.
``src/fieldlink/portal/templates/portal/home.html``) and extend ``pages/base.html``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request

from fieldlink.accounts.models import Company
from fieldlink.pages import csrf, i18n
from fieldlink.pages.brand import Brand

PACKAGE = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = sorted(str(p) for p in PACKAGE.glob("*/templates") if p.is_dir())
STATIC_DIR = Path(__file__).resolve().parent / "static"

CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Link tokens ride in the URL: never hand them to another site in a Referer.
    "Referrer-Policy": "no-referrer",
    # Pages show one customer's data: no shared cache may keep them.
    "Cache-Control": "no-store",
}


@cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIRS),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    company: Company | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    lang: str | None = None,
) -> HTMLResponse:
    """Render ``template`` for ``request``.

    ``company`` brands the page (logo, colour, website); it is also remembered on
    ``request.state`` so an error raised later in the request is branded too. ``lang``
    overrides the usual choice (e.g. the portal's language remembered on the account).
    """
    if company is not None:
        request.state.page_company = company
        # Keep the brand itself, not only the row: an error page rendered after the
        # request's session was rolled back and closed can't load a detached company.
        request.state.page_brand = Brand.of(company)
    lang = lang or i18n.choose(request)
    page_context: dict[str, Any] = {
        "request": request,
        "lang": lang,
        "languages": i18n.LANGUAGES,
        "brand": getattr(request.state, "page_brand", None),
        "csrf_token": csrf.token(request),
        "csrf_field": csrf.FIELD,
        "path": request.url.path,
    }
    page_context.update(context or {})
    html = environment(lang).get_template(template).render(page_context)
    response = HTMLResponse(
        html,
        status_code=status,
        headers={
            **SECURITY_HEADERS,
            "Content-Security-Policy": CSP,
            "Content-Language": lang,
            **(headers or {}),
        },
    )
    csrf.set_cookie(request, response)
    chosen = i18n.normalise(request.query_params.get("lang"))
    if chosen:
        response.set_cookie(i18n.LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", path="/")
    return response


def render_error(
    request: Request, status: int, message: str, title: str | None = None
) -> HTMLResponse:
    """The friendly error page (branded when the failing page had named its company)."""
    _ = i18n.gettext_for(i18n.choose(request))
    default_titles = {
        400: _("Something is not right"),
        403: _("Not allowed"),
        404: _("Page not found"),
        413: _("That file is too large"),
        429: _("Too many attempts"),
    }
    return render(
        request,
        "pages/error.html",
        {
            "status": status,
            "title": (title and _(title)) or default_titles.get(status, _("Something went wrong")),
            "message": _(message),
        },
        status=status,
    )
