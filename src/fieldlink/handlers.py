"""Import every domain's outbox handlers so a worker knows all topics.

The outbox package knows no domain; this entry-point module is where they meet.
"""

from __future__ import annotations

import importlib

HANDLER_MODULES: tuple[str, ...] = ()


def load_handlers() -> None:
    for name in HANDLER_MODULES:
        importlib.import_module(name)
