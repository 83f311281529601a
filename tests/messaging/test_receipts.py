"""A burst of SMS status callbacks applied together has the results of applying each in
turn: statuses only move forward, receipts that are not ours change nothing, a carrier
opt-out (21610) opts the number out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fieldlink.customers.models import ContactMethod
from fieldlink.db import utcnow
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.receipts import SmsReceipt, settle_sms_receipt, settle_sms_receipts
from tests.conftest import Tenant
from tests.messaging.test_api import queued


def _world(session: Session, tenant: Tenant) -> tuple[list[Message], list[SmsReceipt]]:
    msgs = [queued(session, tenant, value=f"+1919555{8100 + i:04d}") for i in range(9)]
    states = [
        ("sent", "SM0"),
        ("sent", None),
        ("delivered", "SM2"),
        ("sent", "SM3"),
        ("sent", "SM4"),
        ("sent", "SM5"),
        ("sent", "SM6"),
        ("queued", None),
        ("failed", "SM8"),
    ]
    for msg, (status, provider_id) in zip(msgs, states, strict=True):
        msg.status, msg.provider_id = status, provider_id
    session.commit()
    now = utcnow()

    def r(i: int | None, sid: str | None, status: str, code: str | None = None) -> SmsReceipt:
        reference = f"flm-{msgs[i].id}" if i is not None else None
        return SmsReceipt(reference, sid, status, code, now + timedelta(seconds=len(receipts)))

    receipts: list[SmsReceipt] = []
    for args in (
        (0, "SM0", "delivered"),  # moves forward
        (1, "SM1", "delivered"),  # moves forward, provider id learnt
        (2, "SM2", "sent"),  # late: a delivered text stays delivered
        (3, "SMother", "delivered"),  # provider id disagrees: not ours, nothing changes
        (None, "SM4", "delivered"),  # no reference: found by provider id
        (5, "SM5", "undelivered", "30003"),  # two receipts for one text: the first counts
        (5, "SM5", "delivered"),
        (6, "SM6", "undelivered", "21610"),  # carrier opt-out
        (7, "SM7", "sending"),  # queued → sent
        (8, "SM8", "delivered"),  # failed is final
        (0, "SM0", "no-such-status"),  # unknown status: ignored
        (None, "SMnobody", "delivered"),  # unknown provider id: ignored
    ):
        receipts.append(r(*args))  # type: ignore[arg-type]
    receipts.append(SmsReceipt("flm-999999999", "SMgone", "delivered", None, now))
    return msgs, receipts


def _snapshot(session: Session, msgs: list[Message]) -> dict[str, Any]:
    session.flush()
    session.expire_all()
    ids = [m.id for m in msgs]
    rows = session.execute(
        select(
            Message.id, Message.status, Message.provider_id, Message.delivered_at, Message.reasons
        )
        .where(Message.id.in_(ids))
        .order_by(Message.id)
    ).all()
    events = session.execute(
        select(MessageEvent.message_id, MessageEvent.status, MessageEvent.detail, MessageEvent.at)
        .where(MessageEvent.message_id.in_(ids), MessageEvent.detail.like("provider:%"))
        .order_by(MessageEvent.message_id, MessageEvent.status)
    ).all()
    method = session.get(ContactMethod, msgs[6].contact_method_id)
    assert method is not None
    return {
        "messages": [tuple(row) for row in rows],
        "events": [tuple(row) for row in events],
        "opt_out": method.marketing_sms_status,
    }


def test_a_burst_applied_together_matches_each_receipt_applied_in_turn(
    session: Session, tenant: Tenant
) -> None:
    msgs, receipts = _world(session, tenant)
    for receipt in receipts:
        settle_sms_receipt(
            session,
            reference=receipt.reference,
            provider_id=receipt.provider_id,
            provider_status=receipt.provider_status,
            error_code=receipt.error_code,
            now=receipt.now,
        )
    one_by_one = _snapshot(session, msgs)
    session.rollback()

    assert settle_sms_receipts(session, receipts) == [None] * len(receipts)
    together = _snapshot(session, msgs)
    assert together == one_by_one

    statuses = [row[1] for row in together["messages"]]
    assert statuses == [
        "delivered",
        "delivered",
        "delivered",
        "sent",
        "delivered",
        "undelivered",
        "undelivered",
        "sent",
        "failed",
    ]
    assert together["messages"][1][2] == "SM1"  # provider id learnt from the receipt
    assert together["messages"][0][3] is not None  # delivered_at set
    assert together["opt_out"] == "opted_out"
    details = {(row[0], row[2]) for row in together["events"]}
    assert (msgs[5].id, "provider: undelivered (error 30003)") in details
    assert len([e for e in together["events"] if e[0] == msgs[5].id]) == 1  # first receipt only


def test_on_postgresql_a_burst_of_our_receipts_is_one_statement(
    session: Session, tenant: Tenant
) -> None:
    msgs = [queued(session, tenant, value=f"+1919555{8300 + i:04d}") for i in range(20)]
    for i, msg in enumerate(msgs):
        msg.status, msg.provider_id = "sent", f"SMb{i}"
    session.commit()
    now = utcnow()
    receipts = [
        SmsReceipt(f"flm-{m.id}", f"SMb{i}", "delivered", None, now) for i, m in enumerate(msgs)
    ]
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: Any) -> None:
        if "SAVEPOINT" not in args[2]:  # the test harness's, around each commit
            statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        settle_sms_receipts(session, receipts)
        session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if engine.dialect.name == "postgresql":
        assert len(statements) == 1
    session.expire_all()
    assert set(
        session.scalars(select(Message.status).where(Message.id.in_([m.id for m in msgs])))
    ) == {"delivered"}
    assert (
        len(
            session.scalars(
                select(MessageEvent.id).where(
                    MessageEvent.message_id.in_([m.id for m in msgs]),
                    MessageEvent.status == "delivered",
                )
            ).all()
        )
        == 20
    )
