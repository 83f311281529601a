"""Route lookup by the path's leading segments, in front of Starlette's router.

Starlette's router tries every route in order (about 90 for fieldlink) with a regular
expression and a scope dictionary each, for every request; on a trivial request that is
most of the server's time. :class:`PrefixDispatch` sits in the router's middleware stack
and tries only the routes that *can* match the request's first two path segments (routes
whose leading literal segments are those, plus every route starting with a parameter, a
mount at the root, or anything else it cannot read), in their original order. So the
chosen route is the one the full router would have chosen: the first full match, else the
first partial one (405). When none matches, the request goes to the full router, which
keeps its trailing-slash redirect and 404 exactly as before.

The table is built on first use and rebuilt whenever the routes list changes length.
"""

from __future__ import annotations

from typing import Any

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Mount, Route, Router, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send

DEPTH = 2  # "/v1/customers/...": most of the API shares its first segment


def literal_prefix(path: str) -> tuple[str, ...]:
    """The literal leading segments of a route path (up to :data:`DEPTH`), stopping at the
    first one holding a parameter: ``/v1/customers/{id}`` → ``("v1", "customers")``."""
    if not path.startswith("/"):
        return ()
    out: list[str] = []
    for segment in path[1:].split("/")[:DEPTH]:
        if "{" in segment:
            break
        out.append(segment)
    return tuple(out)


def _route_prefix(route: BaseRoute) -> tuple[str, ...]:
    if isinstance(route, Mount):
        return literal_prefix(route.path) if route.path else ()
    if isinstance(route, Route | WebSocketRoute):
        return literal_prefix(route.path)
    return ()  # Host or a custom route: could match anything


def _may_match(prefix: tuple[str, ...], key: tuple[str | None, ...]) -> bool:
    return all(key[i] == segment for i, segment in enumerate(prefix))


class PrefixDispatch:
    """The router's innermost app, choosing among the routes of the path's first two
    segments only (see module docstring)."""

    def __init__(self, router: Router, app: ASGIApp) -> None:
        self.router = router
        self.app = app  # the full router (trailing-slash redirects, 404, lifespan)
        self._built_for = -1
        self._firsts: set[str] = set()
        self._pairs: set[tuple[str, str]] = set()
        self._table: dict[tuple[str | None, str | None], list[BaseRoute]] = {}

    def _build(self) -> None:
        routes = list(self.router.routes)
        prefixes = [_route_prefix(route) for route in routes]
        self._firsts = {p[0] for p in prefixes if p}
        self._pairs = {(p[0], p[1]) for p in prefixes if len(p) > 1}
        keys: set[tuple[str | None, str | None]] = {(None, None)}
        keys |= {(first, None) for first in self._firsts}
        keys |= set(self._pairs)
        self._table = {
            key: [r for r, p in zip(routes, prefixes, strict=True) if _may_match(p, key)]
            for key in keys
        }
        self._built_for = len(routes)

    def candidates(self, path: str) -> list[BaseRoute]:
        """The routes that can match ``path``, in the router's order."""
        if self._built_for != len(self.router.routes):
            self._build()
        parts = path[1:].split("/", 2)
        first: str | None = parts[0] if parts[0] in self._firsts else None
        second: str | None = parts[1] if len(parts) > 1 else None
        if first is None or (first, second) not in self._pairs:
            second = None
        return self._table[(first, second)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        partial: Any = None
        partial_scope: Scope = {}
        for route in self.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope.setdefault("router", self.router)
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial, partial_scope = route, child_scope
        if partial is not None:
            scope.setdefault("router", self.router)
            scope["route"] = partial
            scope.update(partial_scope)
            await partial.handle(scope, receive, send)
            return
        await self.app(scope, receive, send)  # no route: the full router redirects or 404s


def install_prefix_routing(app: Any) -> None:
    """Put :class:`PrefixDispatch` at the bottom of ``app.router``'s middleware stack."""
    router: Router = app.router
    if router.middleware_stack == router.app:
        router.middleware_stack = PrefixDispatch(router, router.app)
