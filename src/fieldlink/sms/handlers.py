"""Outbox handlers: ``sms.provision_number`` buys the company's number from the provider;
``sms.receive`` threads and routes the inbound texts the webhook recorded."""

from __future__ import annotations

import logging
import traceback
from typing import cast

from sqlalchemy import Table, select, update

from fieldlink.accounts.models import Company
from fieldlink.channels.base import TransportError
from fieldlink.channels.registry import current
from fieldlink.db import any_of
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.registry import BatchContext, JobContext, RetryLater, batch_handler, handler
from fieldlink.sms.inbound import (
    RECEIVE_TOPIC,
    company_by_number,
    receive_recorded,
    sender_phone,
)
from fieldlink.sms.models import SmsNumber
from fieldlink.sms.provisioning import (
    PROVISION_TOPIC,
    provider_name,
    record_failure,
    record_number,
)

log = logging.getLogger("fieldlink.sms")


@handler(PROVISION_TOPIC)
def provision_number(ctx: JobContext) -> None:
    """Idempotent: a settled row is left alone, and the provider is asked for the number
    already bought under the company's name before it buys one."""
    session = ctx.session
    row = session.scalar(
        select(SmsNumber).where(SmsNumber.id == ctx.payload["sms_number_id"]).with_for_update()
    )
    if row is None or row.status != "requested":
        return
    company = session.get(Company, row.company_id)
    assert company is not None
    channels = current()
    try:
        number = channels.sms.provision_number(
            row.area_code,
            country=company.country or "US",
            friendly_name=provider_name(company.id),
            sms_url=f"{channels.base_url}/webhooks/sms/inbound",
            voice_url=f"{channels.base_url}/webhooks/voice/inbound",
        )
    except TransportError as exc:
        if not exc.permanent and ctx.attempts < ctx.max_attempts:
            raise RetryLater(str(exc)) from exc
        record_failure(row=row, error=str(exc))
        return
    record_number(session, row=row, company=company, number=number, now=ctx.now)


@batch_handler(RECEIVE_TOPIC)
def receive_texts(batch: BatchContext) -> None:
    """Thread and route the texts the webhook recorded (``sms/inbound.py``).

    Optimistically all in the batch's one transaction, as failures are rare; when one
    fails, the batch is rolled back and each text is threaded again in its own savepoint,
    so only the one that failed is retried. A done job's payload is emptied, so the text's
    words and sender live on only in the thread (which retention and erasure reach), not
    in the outbox."""
    session = batch.session
    try:
        _receive(batch, isolated=False)
    except Exception as exc:
        log.info("batch of %s inbound texts rolled back (%s): one by one", len(batch.jobs), exc)
        session.rollback()
        batch.outcomes.clear()
        _receive(batch, isolated=True)


def _thread_order(job: JobContext) -> tuple[str, str, str]:
    payload = job.payload
    return (
        str(payload.get("to", "")),
        sender_phone(str(payload.get("from", ""))),
        str(payload.get("received_at", "")),
    )


def _receive(batch: BatchContext, *, isolated: bool) -> None:
    session, base_url = batch.session, current().base_url
    done: list[int] = []
    companies: dict[str, Company | None] = {}  # by the number texted, read once a batch
    # Threads are locked as their texts are threaded: in one order (number texted, then
    # sender), so two workers' batches never wait on each other in a cycle.

    def thread(job: JobContext) -> None:
        to = str(job.payload.get("to", ""))
        if to not in companies:
            companies[to] = company_by_number(session, to)
        receive_recorded(
            session, job.payload, company=companies[to], base_url=base_url, now=batch.now
        )

    for job in sorted(batch.jobs, key=_thread_order):
        if not isolated:
            thread(job)
            done.append(job.id)
            continue
        try:
            with session.begin_nested():
                thread(job)
        except Exception as exc:  # one bad text must not hold up the rest
            error = "".join(traceback.format_exception_only(exc)).strip()
            log.warning("inbound text job %s failed: %s", job.id, error)
            batch.retry(job.id, error)
            continue
        done.append(job.id)
    for to, company in companies.items():
        if company is None:
            log.warning("inbound texts to %s dropped: no company has that number", to)
    if done:
        outbox = cast(Table, OutboxJob.__table__)
        session.execute(update(outbox).where(any_of(session, outbox.c.id, done)).values(payload={}))
