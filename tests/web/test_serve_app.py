"""The app as ``fieldlink serve`` builds it in each server process."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from fieldlink.app import serve_app
from fieldlink.config import Settings


def test_the_served_app_keeps_its_start_up_objects_out_of_the_collector(
    settings: Settings,
) -> None:
    # Full collections walking the start-up heap were the webhooks' 150 ms p99 tail
    # (benchmarks/README.md): the served app freezes it once built.
    gc.unfreeze()
    try:
        app = serve_app(settings)
        assert gc.get_freeze_count() > 10_000
        with TestClient(app) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        gc.unfreeze()
