"""Browser-test fixtures: a live server on its own committed database, headless Chromium, axe.

Use from a test module with ``pytest_plugins``-free imports::

    from tests.browser import LiveServer, axe_violations  # fixtures come from tests/conftest.py

``live_server`` (module scope) runs the real app under Uvicorn in a thread on a fresh,
migrated database of the suite's kind; seed it through ``live_server.session()``.
``browser_page`` is a new Chromium page (Debian's ``/usr/bin/chromium``; never a downloaded
browser). ``axe_violations(page)`` runs axe-core and returns serious/critical violations.
Screenshots go to ``$FIELDLINK_SCREENSHOTS`` (default ``<tmp>/screenshots``), never the repo.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.db import make_engine, make_sessionmaker
from fieldlink.migrate import upgrade

CHROMIUM = os.environ.get("FIELDLINK_CHROMIUM", "/usr/bin/chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    screenshots: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def session(self) -> Session:
        return self.factory()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    from tests.conftest import _create_pg_database, _drop_pg_database

    base = os.environ.get("FIELDLINK_TEST_DATABASE_URL", "")
    name = None
    if base.startswith(("postgres", "postgresql")):
        url, name = _create_pg_database(base)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    port = _free_port()
    settings = Settings(
        database_url=url,
        secret_key="browser-secret",  # type: ignore[arg-type]
        base_url=f"http://127.0.0.1:{port}",
        twilio_account_sid="ACtest",
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        email_webhook_secret="test-email-secret",  # type: ignore[arg-type]
    )
    engine = make_engine(url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    app = create_app(settings, factory=factory)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("live server did not start")
        time.sleep(0.05)
    shots = Path(os.environ.get("FIELDLINK_SCREENSHOTS") or tempfile.gettempdir()) / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    yield LiveServer(f"http://127.0.0.1:{port}", settings, engine, factory, shots)
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    if name:
        _drop_pg_database(base, name)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page: Any, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's serious and critical violations on the page as ``id: help (n nodes)``."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in results.response["violations"]
        if v.get("impact") in impacts
    ]
