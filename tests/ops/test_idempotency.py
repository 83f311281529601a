"""Idempotency-Key on every /v1 POST: replay, 409 on another body, per company, 24 hours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fieldlink.app import create_app
from fieldlink.config import Settings
from fieldlink.customers.models import Customer
from fieldlink.db import make_engine, make_sessionmaker, utcnow
from fieldlink.migrate import upgrade
from fieldlink.ops.models import IdempotencyRecord
from fieldlink.web.deps import CurrentTenant
from tests.conftest import Tenant


def _customers(session: Session, company_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Customer).where(Customer.company_id == company_id)
        )
        or 0
    )


def test_a_repeat_with_the_same_key_and_body_replays_the_first_answer(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    h = {"Idempotency-Key": "create-alice-1"}
    first = api.post("/v1/customers", json={"name": "Alice", "type": "residential"}, headers=h)
    assert first.status_code == 201, first.text
    # Same JSON in another key order and spacing is the same request.
    again = api.post(
        "/v1/customers",
        content=b'{"type": "residential",   "name": "Alice"}',
        headers={**h, "content-type": "application/json"},
    )
    assert again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _customers(session, tenant.company_id) == 1


def test_the_same_key_with_another_body_or_path_is_a_409(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    h = {"Idempotency-Key": "k-409"}
    assert api.post("/v1/customers", json={"name": "Bob"}, headers=h).status_code == 201
    other = api.post("/v1/customers", json={"name": "Robert"}, headers=h)
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"
    elsewhere = api.post(
        "/v1/users", json={"name": "Bob", "email": "b@x.test", "role": "admin"}, headers=h
    )
    assert elsewhere.status_code == 409
    assert _customers(session, tenant.company_id) == 1


def test_keys_are_scoped_to_the_company_of_the_api_key(
    api: TestClient, rival_api: TestClient, tenant: Tenant, other_tenant: Tenant, session: Session
) -> None:
    h = {"Idempotency-Key": "shared-key"}
    mine = api.post("/v1/customers", json={"name": "Carol"}, headers=h)
    theirs = rival_api.post("/v1/customers", json={"name": "Carol"}, headers=h)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert _customers(session, tenant.company_id) == 1
    assert _customers(session, other_tenant.company_id) == 1


def test_a_refused_request_keeps_no_answer_so_a_corrected_retry_runs(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    h = {"Idempotency-Key": "fix-and-retry"}
    bad = api.post("/v1/customers", json={"name": ""}, headers=h)
    assert bad.status_code == 422
    good = api.post("/v1/customers", json={"name": "Dana"}, headers=h)
    assert good.status_code == 201
    assert _customers(session, tenant.company_id) == 1


def test_a_key_is_kept_24_hours_then_forgotten(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    h = {"Idempotency-Key": "daily"}
    assert api.post("/v1/customers", json={"name": "Eve"}, headers=h).status_code == 201
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "daily")
        .values(created_at=utcnow() - timedelta(hours=23))
    )
    session.commit()
    replay = api.post("/v1/customers", json={"name": "Eve"}, headers=h)
    assert replay.headers.get("idempotent-replayed") == "true"
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "daily")
        .values(created_at=utcnow() - timedelta(hours=24, minutes=1))
    )
    session.commit()
    fresh = api.post("/v1/customers", json={"name": "Eve"}, headers=h)
    assert fresh.status_code == 201 and "idempotent-replayed" not in fresh.headers
    assert _customers(session, tenant.company_id) == 2


@pytest.mark.parametrize("key", [b"", b"x" * 201, b"has space", "caf\u00e9".encode()])
def test_a_malformed_key_is_a_422(api: TestClient, key: bytes) -> None:
    r = api.post("/v1/customers", json={"name": "Frank"}, headers={b"Idempotency-Key": key})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"


def test_requests_without_a_key_are_not_deduplicated(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    for _ in range(2):
        assert api.post("/v1/customers", json={"name": "Gail"}).status_code == 201
    assert _customers(session, tenant.company_id) == 2


def test_payments_answer_like_every_other_write(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    customer = api.post("/v1/customers", json={"name": "Hal"}).json()
    invoice = api.post(
        "/v1/invoices", json={"customer_id": customer["id"], "total": "80.00", "status": "sent"}
    ).json()
    h = {"Idempotency-Key": "pay-1"}
    body = {"invoice_id": invoice["id"], "amount": "30.00", "kind": "check"}
    first = api.post("/v1/payments", json=body, headers=h)
    again = api.post("/v1/payments", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert api.get(f"/v1/invoices/{invoice['id']}").json()["balance"] == "50.00"
    other = api.post("/v1/payments", json={**body, "amount": "31.00"}, headers=h)
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")


def test_every_v1_post_documents_the_header(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    posts = [
        (p, ops["post"])
        for p, ops in spec["paths"].items()
        if "post" in ops and p.startswith("/v1/")
    ]
    assert len(posts) > 10
    for path, op in posts:
        names = [p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"]
        assert names.count("idempotency-key") == 1, path


def test_a_route_added_later_is_covered_without_opting_in(
    settings: Settings, session_factory
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings, factory=session_factory)
    calls: list[int] = []

    @app.post("/v1/probe", status_code=201)
    def probe(tenant: CurrentTenant) -> dict[str, int]:
        calls.append(tenant.company_id)
        return {"call": len(calls)}

    client = TestClient(app, raise_server_exceptions=False)
    with session_factory() as s:
        from tests.conftest import make_tenant

        t = make_tenant(s, client, "probe")
    h = {**t.client.headers, "Idempotency-Key": "p1"}
    answers = [client.post("/v1/probe", json={}, headers=h).json() for _ in range(3)]
    assert answers == [{"call": 1}] * 3
    assert len(calls) == 1


@pytest.fixture
def real_app(
    fresh_database_url: str, settings: Settings
) -> Iterator[tuple[TestClient, str, Session]]:
    engine = make_engine(fresh_database_url)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    app = create_app(
        settings.model_copy(update={"database_url": fresh_database_url}), factory=factory
    )
    from fieldlink.accounts.service import create_api_key, create_company

    with factory() as s:
        company = create_company(s, name="Race Co", company_code="race")
        _, raw = create_api_key(s, company=company)
        s.commit()
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, raw, s
    engine.dispose()


def test_concurrent_requests_with_one_key_create_one_customer(
    real_app: tuple[TestClient, str, Session],
) -> None:
    client, raw, session = real_app
    if session.get_bind().dialect.name == "sqlite":
        # SQLite takes one writer at a time and refuses a write on a stale read snapshot
        # ("database is locked") for any concurrent writes, keyed or not: PostgreSQL only.
        pytest.skip("concurrent writers need PostgreSQL")
    h = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "race-1"}

    def post(_: int) -> tuple[int, bytes, str]:
        r = client.post("/v1/customers", json={"name": "Racer"}, headers=h)
        return r.status_code, r.content, r.headers.get("content-type", "")

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(post, range(12)))
    created = [body for status, body, _ in results if status == 201]
    others = [json.loads(body)["code"] for status, body, _ in results if status != 201]
    assert all(status in (201, 409) for status, _, _ in results), results
    assert created and all(body == created[0] for body in created)
    assert set(others) <= {"idempotency_key_in_progress"}
    count = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.name == "Racer")
    )
    assert count == 1


def test_a_request_whose_answer_was_lost_in_a_crash_is_not_carried_out_again(
    api: TestClient, tenant: Tenant, session: Session
) -> None:
    """The process died after the work committed and before the answer was stored: the
    retry must neither create a second customer nor say "in progress" for 24 hours."""
    h = {"Idempotency-Key": "crashed-1"}
    assert api.post("/v1/customers", json={"name": "Carla"}, headers=h).status_code == 201
    # What a crash leaves: the claim committed with the work, no answer on it yet.
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "crashed-1")
        .values(status_code=None, content_type=None, response_body=None)
    )
    session.commit()
    soon = api.post("/v1/customers", json={"name": "Carla"}, headers=h)
    assert soon.status_code == 409 and soon.json()["code"] == "idempotency_key_in_progress"
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "crashed-1")
        .values(created_at=utcnow() - timedelta(minutes=2))
    )
    session.commit()
    later = api.post("/v1/customers", json={"name": "Carla"}, headers=h)
    assert later.status_code == 409
    assert later.json()["code"] == "idempotency_key_answer_lost"
    assert "GET" in later.json()["detail"]
    assert _customers(session, tenant.company_id) == 1
