"""Shared page behaviour: friendly errors, language choice, CSRF, brand contrast."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from fieldlink.pages import csrf, i18n
from fieldlink.pages.brand import contrast_ratio, text_on
from fieldlink.pages.render import render


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.8", "es"),
        ("en-US,en;q=0.9,es;q=0.8", "en"),
        ("fr-FR,fr;q=0.9", None),
        ("fr-FR, es;q=0.5", "es"),
        ("es;q=0.2, en;q=0.9", "en"),
        ("garbage;;q=x", None),
        ("", None),
    ],
)
def test_accept_language_picks_a_supported_language(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected


def test_unknown_page_is_a_friendly_404_page_not_json(client: TestClient) -> None:
    response = client.get("/o/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


def test_error_page_follows_accept_language_and_the_toggle(client: TestClient) -> None:
    spanish = client.get("/o/nope/xyz", headers={"Accept-Language": "es-US,es;q=0.9"})
    assert spanish.status_code == 404
    assert "Página no encontrada" in spanish.text
    assert '<html lang="es">' in spanish.text
    # The toggle wins over the browser and is remembered.
    english = client.get("/portal/nope/xyz?lang=en", headers={"Accept-Language": "es"})
    assert "Page not found" in english.text
    assert english.cookies.get(i18n.LANG_COOKIE) == "en"


def test_pages_never_leak_link_tokens_in_referer_or_cache(client: TestClient) -> None:
    response = client.get("/o/whatever")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def _form_app(client: TestClient) -> TestClient:
    app: FastAPI = client.app  # type: ignore[assignment]
    router = APIRouter()

    @router.get("/o/test-form", response_class=HTMLResponse)
    def show(request: Request) -> HTMLResponse:
        return render(request, "pages/error.html", {"status": 200, "title": "t", "message": ""})

    @router.post("/o/test-form", dependencies=[Depends(csrf.verify)])
    def submit(name: str = Form("")) -> dict[str, str]:
        return {"saved": name}

    app.include_router(router)
    return client


def test_form_post_without_matching_csrf_token_is_refused(client: TestClient) -> None:
    client = _form_app(client)
    page = client.get("/o/test-form")
    cookie = page.cookies.get(csrf.COOKIE)
    assert cookie, "a page sets the CSRF cookie"
    refused = client.post("/o/test-form", data={"name": "x", "csrf_token": "forged"})
    assert refused.status_code == 403
    assert "expired" in refused.text
    missing = client.post("/o/test-form", data={"name": "x"})
    assert missing.status_code == 403


def test_form_post_with_the_page_token_is_accepted(client: TestClient) -> None:
    client = _form_app(client)
    client.get("/o/test-form")
    request_token = _token_for_cookie(client, client.cookies[csrf.COOKIE])
    ok = client.post("/o/test-form", data={"name": "Ana", "csrf_token": request_token})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"saved": "Ana"}
    # HTMX sends it as a header instead.
    ok = client.post("/o/test-form", data={"name": "Bo"}, headers={"X-CSRF-Token": request_token})
    assert ok.status_code == 200


def _token_for_cookie(client: TestClient, raw: str) -> str:
    from starlette.requests import Request as StarletteRequest

    scope = {
        "type": "http",
        "app": client.app,
        "headers": [(b"cookie", f"{csrf.COOKIE}={raw}".encode())],
    }
    return csrf.token(StarletteRequest(scope))


def test_brand_text_colour_meets_wcag_contrast() -> None:
    for background in ("#ffffff", "#000000", "#1f5f8b", "#ffcc00", "#777777", "#e91e63"):
        assert contrast_ratio(background, text_on(background)) >= 4.5
