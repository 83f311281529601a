"""Every error leaves as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from fieldlink.errors import FieldlinkError
from fieldlink.pages.errors import PageError, is_page_request
from fieldlink.pages.i18n import N_

log = logging.getLogger("fieldlink.web")
PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
}


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://fieldlink.dev/problems/{code or 'error'}".replace("_", "-"),
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code or "error",
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def _message(err: dict[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    # Pydantic prefixes errors raised in our validators with "Value error, ".
    return msg.removeprefix("Value error, ")


# What a browser page says instead of an API detail (which may name ids or fields).
PAGE_MESSAGES = {
    400: N_("Something in that request is not right."),
    401: N_("Please sign in to continue."),
    403: N_("You are not allowed to do that."),
    404: N_("We could not find that page."),
    405: N_("That is not something this page can do."),
    409: N_("That clashes with a change made meanwhile. Please reload and try again."),
    413: N_("That is larger than we accept."),
    422: N_("Some of what was sent is not valid."),
    429: N_("Too many attempts. Please wait a few minutes and try again."),
    500: N_("Something went wrong on our side. It has been logged; please try again later."),
}


def _page(
    request: Request, status: int, message: str | None = None, title: str | None = None
) -> Response:
    from fieldlink.pages.render import render_error

    text = message or PAGE_MESSAGES.get(status) or PAGE_MESSAGES[500]
    return render_error(request, status, text, title)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        return _page(request, exc.status, exc.message, exc.title)

    @app.exception_handler(FieldlinkError)
    async def _domain(request: Request, exc: FieldlinkError) -> Response:
        if is_page_request(request):
            return _page(request, exc.status)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(
            exc.status,
            exc.detail,
            code=exc.code,
            title=exc.title,
            errors=exc.errors,
            headers=headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if is_page_request(request):
            return _page(request, 404 if _in_path(exc) else 400)
        errors = [
            {"field": _field_name(e.get("loc", ())), "message": _message(e)} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return problem(422, detail, code="validation_failed", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if is_page_request(request):
            return _page(request, exc.status_code)
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "error"
        )
        return problem(
            exc.status_code, str(exc.detail), code=code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # A unique or foreign-key constraint caught a race the service checks missed.
        log.warning("integrity error: %s", exc.orig)
        if is_page_request(request):
            return _page(request, 409)
        return problem(409, "the change conflicts with existing data", code="conflict")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if is_page_request(request):
            return _page(request, 500)
        return problem(
            500,
            "internal error; it has been logged",
            code="internal_error",
            title="Internal server error",
        )


def _in_path(exc: RequestValidationError) -> bool:
    """A malformed id or token in the URL means "no such page", not "bad form"."""
    return any(tuple(e.get("loc", ()))[:1] == ("path",) for e in exc.errors())
