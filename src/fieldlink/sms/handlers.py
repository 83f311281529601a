"""Outbox handler ``sms.provision_number``: buy the company's number from the provider."""

from __future__ import annotations

from sqlalchemy import select

from fieldlink.accounts.models import Company
from fieldlink.channels.base import TransportError
from fieldlink.channels.registry import current
from fieldlink.outbox.registry import JobContext, RetryLater, handler
from fieldlink.sms.models import SmsNumber
from fieldlink.sms.provisioning import (
    PROVISION_TOPIC,
    provider_name,
    record_failure,
    record_number,
)


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
