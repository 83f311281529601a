"""Import every domain's outbox handlers so a worker knows all topics.

The outbox package knows no domain; this entry-point module is where they meet.
"""

from __future__ import annotations

import importlib

HANDLER_MODULES: tuple[str, ...] = (
    "fieldlink.messaging.handlers",
    "fieldlink.sms.handlers",
    "fieldlink.campaigns.handlers",
)


def load_handlers() -> None:
    # Every model must be mapped before a handler's first query, or relationships and
    # foreign keys to tables no handler imported (jobs, appointments…) fail to resolve.
    importlib.import_module("fieldlink.models")
    for name in HANDLER_MODULES:
        importlib.import_module(name)
