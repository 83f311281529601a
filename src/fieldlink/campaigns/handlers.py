"""Outbox handlers of campaigns: ``campaigns.send`` writes the messages, ``campaigns.finish``
marks the campaign sent once none of its messages is still on its way."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from fieldlink.accounts.models import Company
from fieldlink.campaigns.models import Campaign
from fieldlink.campaigns.queueing import queue_campaign
from fieldlink.campaigns.service import FINISH_TOPIC, SEND_TOPIC
from fieldlink.messaging.models import Message
from fieldlink.outbox.models import OutboxJob
from fieldlink.outbox.publish import publish
from fieldlink.outbox.registry import JobContext, RetryLater, handler

FINISH_CHECK_SECONDS = 30.0
CLAIM_FOR = timedelta(minutes=30)


@handler(SEND_TOPIC)
def send_campaign(ctx: JobContext) -> None:
    """Resolve the audience and queue its messages (idempotent: a rerun adds nothing).

    A job for an old schedule (the campaign was moved or cancelled) does nothing."""
    session, now = ctx.session, ctx.now
    campaign = session.get(Campaign, int(ctx.payload["campaign_id"]), with_for_update=True)
    if campaign is None or campaign.status in ("cancelled", "sent", "draft"):
        return
    if campaign.status == "scheduled":
        stamp = campaign.scheduled_at.isoformat() if campaign.scheduled_at else "now"
        if ctx.payload.get("at") != stamp:
            return  # superseded by a newer schedule, which has its own job
        campaign.status, campaign.started_at = "sending", now
    company = session.get(Company, campaign.company_id)
    assert company is not None
    # A million-recipient audience can take longer than the worker's visibility timeout:
    # hold the claim for a while, or another worker would start the same (idempotent,
    # but wasted) work in parallel.
    session.execute(
        update(OutboxJob)
        .where(OutboxJob.id == ctx.id, OutboxJob.locked_by == ctx.worker)
        .values(locked_until=now + CLAIM_FOR)
    )
    ctx.checkpoint()
    queue_campaign(session, campaign=campaign, company=company, now=now, checkpoint=ctx.checkpoint)
    if campaign.status == "sending":
        publish(
            session,
            FINISH_TOPIC,
            dedupe_key=f"{campaign.ref}:finish",
            run_at=max(now, campaign.last_slot_at or now) + timedelta(seconds=5),
            max_attempts=100_000,
            campaign_id=campaign.id,
        )


@handler(FINISH_TOPIC)
def finish_campaign(ctx: JobContext) -> None:
    """Mark the campaign sent when no message of it is queued or mid-send; else look again."""
    session = ctx.session
    campaign = session.get(Campaign, int(ctx.payload["campaign_id"]))
    if campaign is None or campaign.status != "sending":
        return
    open_messages = session.scalar(
        select(func.count()).where(
            Message.company_id == campaign.company_id,
            Message.subject_ref == campaign.ref,
            Message.status.in_(("queued", "sending")),
        )
    )
    if open_messages:
        raise RetryLater(f"{open_messages} messages still on their way", FINISH_CHECK_SECONDS)
    campaign.status, campaign.finished_at = "sent", ctx.now
