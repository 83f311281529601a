"""STYLE rule 1: the request owns the transaction; a failed commit answers 500, keeps nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import User
from fieldlink.app import create_app
from fieldlink.config import Settings


class FailingCommitSession(Session):
    def commit(self) -> None:
        self.flush()
        raise RuntimeError("disk full")


def test_a_failed_commit_answers_500_and_stores_nothing(
    connection: Connection, session: Session, settings: Settings, tenant
) -> None:
    failing = sessionmaker(
        bind=connection,
        class_=FailingCommitSession,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    app = create_app(settings, factory=failing)
    client = TestClient(app, raise_server_exceptions=False, headers=tenant.headers)
    r = client.post(
        "/v1/users", json={"name": "Lost", "email": "lost@acme.example", "role": "owner"}
    )
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert session.scalar(select(User).where(User.email == "lost@acme.example")) is None
