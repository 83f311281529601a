"""Bad input anywhere answers 4xx with a problem body, never a 500."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from fieldlink.app import create_app
from fieldlink.config import Settings

HUGE = str(2**63 + 5)


def routes_with_ids(settings: Settings) -> list[tuple[str, str]]:
    spec = create_app(settings).openapi()
    return sorted(
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if "{" in path and path.startswith("/v1/")
    )


def test_every_route_answers_huge_and_negative_ids_with_4xx(api: TestClient, settings) -> None:
    routes = routes_with_ids(settings)
    assert len(routes) > 30
    for method, path in routes:
        for bad in (HUGE, "-1", "0", "abc"):
            url = re.sub(r"\{[a-z_]+\}", bad, path).replace(f"/{bad}/{bad}", f"/en_route/{bad}")
            r = api.request(method, url, json={})
            assert 400 <= r.status_code < 500, (method, url, r.status_code, r.text[:200])
            assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("cursor", ["", "!!!", "aWQ6OTk5OTk5OTk5OTk5OTk5OTk5OQ", "eDox"])
def test_a_forged_cursor_is_a_422(api: TestClient, cursor: str) -> None:
    for path in ("/v1/users", "/v1/customers", "/v1/jobs", "/v1/messages"):
        r = api.get(path, params={"cursor": cursor})
        assert r.status_code in (200, 422), (path, r.status_code)
        if cursor:
            assert r.status_code == 422


def test_malformed_json_is_a_422(api: TestClient) -> None:
    r = api.post(
        "/v1/customers", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    r = api.post("/v1/users", json=["a list"])
    assert r.status_code == 422
