"""Friendly error pages: a browser never gets a traceback or a JSON problem."""

from __future__ import annotations

from starlette.requests import Request

# First path segments served as browser pages (everything else is API, webhook or operator).
PAGE_PREFIXES = frozenset({"s", "e", "i", "r", "u", "o", "portal", "office", "opt-in", "t"})


class PageError(Exception):
    """Raise from a page handler to answer with the branded error page."""

    def __init__(self, status: int, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title


def is_page_request(request: Request) -> bool:
    first = request.url.path.lstrip("/").split("/", 1)[0]
    return first in PAGE_PREFIXES
