"""Route lookup by leading path segments chooses exactly the route the full router would."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute

from fieldlink.web.prefix_routing import PrefixDispatch
from tests.conftest import Tenant

SAMPLES = {
    "int": "7",
    "float": "1.5",
    "path": "a/b",
    "uuid": "00000000-0000-0000-0000-000000000007",
}


def _sample_path(route: Route | WebSocketRoute | Mount) -> str:
    path = route.path if not isinstance(route, Mount) else route.path + "/x"
    for name, convertor in route.param_convertors.items():
        kind = type(convertor).__name__.removesuffix("Convertor").lower()
        value = SAMPLES.get(kind, "x")
        path = path.replace(f"{{{name}:{kind}}}", value).replace(f"{{{name}}}", value)
    return path


def _scope(path: str, method: str) -> dict[str, Any]:
    return {"type": "http", "path": path, "root_path": "", "method": method, "headers": []}


def _full_router_choice(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def _prefix_choice(dispatch: PrefixDispatch, scope: dict[str, Any]) -> BaseRoute | None:
    return _full_router_choice(dispatch.candidates(scope["path"]), scope)


def test_every_route_resolves_to_the_same_route_as_the_full_router(client: TestClient) -> None:
    app: Any = client.app
    dispatch = app.router.middleware_stack
    assert isinstance(dispatch, PrefixDispatch)
    routes = list(app.router.routes)
    assert len(routes) > 50
    checked = 0
    for route in routes:
        if not isinstance(route, Route | Mount):
            continue
        path = _sample_path(route)
        methods = sorted(getattr(route, "methods", None) or {"GET"})
        for method in [*methods, "PATCH", "DELETE"]:  # incl. methods the route refuses (405)
            scope = _scope(path, method)
            expected = _full_router_choice(routes, scope)
            assert expected is not None, path
            assert _prefix_choice(dispatch, scope) is expected, (method, path)
            checked += 1
    for path in (
        "/",
        "/nope",
        "/v1",
        "/v1/",
        "/v1/nope",
        "/v1/customers/7/x/y",
        "/healthz/",
        "/static",
    ):
        for method in ("GET", "POST"):
            scope = _scope(path, method)
            assert _prefix_choice(dispatch, scope) is _full_router_choice(routes, scope), path
    assert checked > 100


def test_healthz_and_hot_webhook_paths_try_only_a_few_routes(client: TestClient) -> None:
    dispatch: PrefixDispatch = client.app.router.middleware_stack  # type: ignore[attr-defined]
    assert client.get("/healthz").json() == {"status": "ok"}
    assert len(dispatch.candidates("/healthz")) <= 3
    assert len(dispatch.candidates("/webhooks/sms/status")) < 15


def test_unknown_path_is_a_404_problem_and_wrong_method_a_405_problem(client: TestClient) -> None:
    missing = client.get("/no-such-thing/here")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert "GET" in wrong.headers.get("allow", "")


def test_routes_with_path_parameters_still_resolve(tenant: Tenant) -> None:
    http = tenant.client
    made = http.post("/v1/customers", json={"name": "Ada Lovelace"}, headers=tenant.headers)
    assert made.status_code == 201, made.text
    found = http.get(f"/v1/customers/{made.json()['id']}", headers=tenant.headers)
    assert found.status_code == 200
    assert found.json()["name"] == "Ada Lovelace"
    assert http.put(f"/v1/customers/{made.json()['id']}", headers=tenant.headers).status_code == 405
    assert http.get("/v1/customers/not-a-number", headers=tenant.headers).status_code in (404, 422)
    text = http.get("/metrics").text
    assert 'route="/v1/customers/{customer_id}"' in text  # metrics still see the route template
