"""Test fixtures: one migrated database per test run, each test rolled back.

``FIELDLINK_TEST_DATABASE_URL`` picks the server (e.g. ``postgresql://postgres@127.0.0.1/test``);
a fresh database is created beside it for the run and dropped afterwards. Without it the
suite runs on a temporary SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.app import create_app
from fieldlink.config import Settings, normalise_database_url
from fieldlink.db import make_engine
from fieldlink.migrate import upgrade

pytest_plugins = ("tests.browser",)  # live_server, chromium, browser_page


def _create_pg_database(base_url: str) -> tuple[str, str]:
    url = make_url(normalise_database_url(base_url))
    name = f"fieldlink_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(base_url: str, name: str) -> None:
    url = make_url(normalise_database_url(base_url))
    admin = make_engine(url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    base = os.environ.get("FIELDLINK_TEST_DATABASE_URL", "")
    if base.startswith(("postgres", "postgresql")):
        url, name = _create_pg_database(base)
        yield url
        _drop_pg_database(base, name)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "test.db"
        yield f"sqlite:///{path}"


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of the suite's kind, for tests that run real processes and commit."""
    base = os.environ.get("FIELDLINK_TEST_DATABASE_URL", "")
    if base.startswith(("postgres", "postgresql")):
        url, name = _create_pg_database(base)
        yield url
        _drop_pg_database(base, name)
    else:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)  # the schema comes from the same migrations production runs
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    outer = conn.begin()
    yield conn
    if outer.is_active:
        outer.rollback()
    conn.close()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Sessions join the test's outer transaction; their commits release savepoints only.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    s = session_factory()
    yield s
    s.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret",  # type: ignore[arg-type]
        base_url="http://testserver",
        twilio_account_sid="ACtest",
        twilio_auth_token="test-auth-token",  # type: ignore[arg-type]
        email_webhook_secret="test-email-secret",  # type: ignore[arg-type]
    )


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> TestClient:
    app = create_app(settings, factory=session_factory)
    return TestClient(app, raise_server_exceptions=False)


@dataclass
class Tenant:
    company_id: int
    code: str
    api_key: str
    client: TestClient

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def get(self, url: str, **kw: object) -> object:
        return self.client.get(url, headers=self.headers, **kw)  # type: ignore[arg-type]


def make_tenant(session: Session, client: TestClient, code: str) -> Tenant:
    from fieldlink.accounts.service import create_api_key, create_company

    company = create_company(session, name=f"Company {code}", company_code=code)
    _, raw = create_api_key(session, company=company)
    session.commit()
    authed = TestClient(
        client.app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {raw}"}
    )
    return Tenant(company_id=company.id, code=code, api_key=raw, client=authed)


@pytest.fixture
def tenant(session: Session, client: TestClient) -> Tenant:
    return make_tenant(session, client, "acme")


@pytest.fixture
def other_tenant(session: Session, client: TestClient) -> Tenant:
    return make_tenant(session, client, "rival")


@pytest.fixture
def api(tenant: Tenant) -> TestClient:
    """An HTTP client authenticated as the ``acme`` company."""
    return tenant.client


@pytest.fixture
def rival_api(other_tenant: Tenant) -> TestClient:
    """An HTTP client authenticated as another company, ``rival``."""
    return other_tenant.client
