"""The webhook lane: concurrent status callbacks share commits, and each is still recorded;
one failing unit of a shared transaction fails only its own request."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import User
from fieldlink.channels.signatures import twilio_signature
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.web.group_commit import GroupCommit
from tests.conftest import Tenant
from tests.messaging.test_api import TOKEN, queued


def test_a_burst_of_receipts_is_committed_in_shared_transactions_and_each_is_recorded(
    session: Session, tenant: Tenant, client: TestClient
) -> None:
    messages = [queued(session, tenant, value=f"+1919555{7000 + i:04d}") for i in range(24)]
    for i, msg in enumerate(messages):
        msg.status, msg.provider_id = "sent", f"SMburst{i}"
    session.commit()
    app = client.app

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            posts = []
            for i, msg in enumerate(messages):
                path = f"/webhooks/sms/status?m=flm-{msg.id}"
                form = {"MessageSid": f"SMburst{i}", "MessageStatus": "delivered"}
                signature = twilio_signature(TOKEN, "http://testserver" + path, form)
                posts.append(http.post(path, data=form, headers={"X-Twilio-Signature": signature}))
            return list(await asyncio.gather(*posts))

    answers = asyncio.run(burst())
    assert [r.status_code for r in answers] == [200] * len(messages)
    assert all(r.headers["x-request-id"] for r in answers)  # still behind the middleware
    session.expire_all()
    ids = [m.id for m in messages]
    statuses = session.scalars(select(Message.status).where(Message.id.in_(ids))).all()
    assert statuses == ["delivered"] * len(messages)
    events = session.scalar(
        select(func.count())
        .select_from(MessageEvent)
        .where(MessageEvent.message_id.in_(ids), MessageEvent.status == "delivered")
    )
    assert events == len(messages)  # every accepted receipt recorded, once
    assert app.state.group_commit.batches < len(messages)  # and commits were shared


def test_a_failing_unit_fails_only_its_own_request(
    session: Session, tenant: Tenant, session_factory: sessionmaker[Session]
) -> None:
    committer = GroupCommit(session_factory)
    gate = threading.Event()

    def hold(_session: Session) -> None:
        gate.wait(10)  # keeps the database thread busy while the others queue up

    def add(name: str):  # type: ignore[no-untyped-def]
        def work(s: Session) -> str:
            s.add(
                User(
                    company_id=tenant.company_id,
                    name=name,
                    email=f"{name}@x.example",
                    role="technician",
                )
            )
            s.flush()
            if name == "bad":
                raise ValueError("this one fails")
            return name

        return work

    async def run() -> list[object]:
        first = asyncio.ensure_future(committer.run(hold))
        await asyncio.sleep(0.05)
        rest = [
            asyncio.ensure_future(committer.run(add(name))) for name in ("ann", "bad", "bob", "cy")
        ]
        await asyncio.sleep(0.05)
        gate.set()
        await first
        return list(await asyncio.gather(*rest, return_exceptions=True))

    results = asyncio.run(run())
    assert results[0] == "ann" and results[2:] == ["bob", "cy"]
    assert isinstance(results[1], ValueError)
    session.expire_all()
    names = session.scalars(
        select(User.name).where(User.company_id == tenant.company_id, User.name != "")
    ).all()
    assert {"ann", "bob", "cy"} <= set(names) and "bad" not in names


@pytest.mark.parametrize("declared", ["70000", None])
def test_an_oversized_receipt_is_refused_and_changes_nothing(
    session: Session, tenant: Tenant, client: TestClient, declared: str | None
) -> None:
    msg = queued(session, tenant)
    msg.status, msg.provider_id = "sent", "SMbig"
    session.commit()
    path = f"/webhooks/sms/status?m=flm-{msg.id}"
    body = b"MessageSid=SMbig&MessageStatus=delivered&Pad=" + b"x" * 70_000
    headers = {"content-type": "application/x-www-form-urlencoded"}

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(body), 8192):  # streamed: no Content-Length to trust
            yield body[i : i + 8192]

    if declared:
        r = client.post(path, content=body, headers=headers)
    else:
        r = client.post(path, content=chunks(), headers=headers)
    assert r.status_code == 413 and r.json()["code"] == "webhook_too_large"
    session.expire_all()
    assert session.get(Message, msg.id).status == "sent"  # type: ignore[union-attr]


def test_on_postgresql_the_commit_thread_keeps_its_connection_and_survives_losing_it(
    fresh_database_url: str,
) -> None:
    from sqlalchemy import text

    from fieldlink.db import make_engine, make_sessionmaker

    if not fresh_database_url.startswith("postgresql"):
        pytest.skip("the kept connection is for PostgreSQL")
    engine = make_engine(fresh_database_url)
    committer = GroupCommit(make_sessionmaker(engine))

    def backend(session: Session) -> int:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())

    async def one() -> int:
        return await committer.run(backend)

    try:
        first, second = asyncio.run(one()), asyncio.run(one())
        assert first == second  # the same connection for batch after batch
        with engine.connect() as other:  # the server drops it (restart, idle timeout)
            other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first})
        third = asyncio.run(one())  # still answered, on a fresh connection
        assert third != first
    finally:
        committer._release()
        engine.dispose()
