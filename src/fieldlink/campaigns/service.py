"""Campaign use cases: create, edit, send (now or at a time), cancel.

Sending only records the intent and publishes ``campaigns.send``; the worker resolves the
audience and writes the messages set-based (``queueing.py``), so a million-customer send
answers at once and survives a crash half-way (the repeat writes nothing twice).
"""

from __future__ import annotations

import typing
from datetime import datetime

from sqlalchemy import Table, insert, literal, select, update
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.campaigns.content import SAMPLE, render_campaign
from fieldlink.campaigns.models import Campaign
from fieldlink.campaigns.queueing import snapshot
from fieldlink.campaigns.schemas import CampaignIn, CampaignPatch
from fieldlink.db import get_scoped
from fieldlink.errors import Conflict, ValidationFailed
from fieldlink.messaging.models import Message, MessageEvent
from fieldlink.messaging.reasons import reason
from fieldlink.messaging.templates import TemplateInvalid
from fieldlink.outbox.publish import publish

SEND_TOPIC = "campaigns.send"
FINISH_TOPIC = "campaigns.finish"
CANCELLED = reason("campaign_cancelled", "The campaign was cancelled before this was sent.")


def get_campaign(session: Session, *, company_id: int, campaign_id: int) -> Campaign:
    campaign: Campaign = get_scoped(session, Campaign, campaign_id, company_id, "campaign")
    return campaign


def _check_template(company: Company, campaign: Campaign) -> None:
    if campaign.channel == "direct_mail":
        return
    try:
        render_campaign(
            company,
            channel=campaign.channel,
            subject=campaign.subject,
            template=campaign.template,
            recipient=SAMPLE,
        )
    except TemplateInvalid as exc:
        raise ValidationFailed("template", str(exc), code="template_invalid") from exc


def create_campaign(
    session: Session, *, company: Company, data: CampaignIn, now: datetime
) -> Campaign:
    """A draft campaign; its template must render with sample data."""
    campaign = Campaign(
        company_id=company.id,
        name=data.name,
        channel=data.channel,
        subject=data.subject,
        template=data.template,
        audience=data.audience.model_dump(mode="json", exclude_none=True),
        scheduled_at=data.scheduled_at,
        status="draft",
        snapshot={},
        queued=0,
        created_at=now,
        updated_at=now,
    )
    _check_template(company, campaign)
    session.add(campaign)
    session.flush()
    return campaign


def update_campaign(
    session: Session, *, company: Company, campaign: Campaign, patch: CampaignPatch, now: datetime
) -> Campaign:
    """Edit a draft or a scheduled campaign (a new time moves its send)."""
    data = patch.model_dump(exclude_unset=True)
    if "status" in data:
        raise ValidationFailed(
            "status", "status is read-only: POST /send or /cancel", code="status_read_only"
        )
    if campaign.status not in ("draft", "scheduled"):
        raise Conflict(
            f"a {campaign.status} campaign can't be edited", code="campaign_not_editable"
        )
    for key in ("name", "subject", "template", "scheduled_at"):
        if key in data:
            setattr(campaign, key, data[key])
    if patch.audience is not None:
        campaign.audience = patch.audience.model_dump(mode="json", exclude_none=True)
    if "name" in data and not campaign.name:
        raise ValidationFailed("name", "a campaign needs a name")
    _check_template(company, campaign)
    campaign.updated_at = now
    if campaign.status == "scheduled" and "scheduled_at" in data:
        _publish_send(session, campaign, now=now)
    session.flush()
    return campaign


def _sender_problems(company: Company, campaign: Campaign) -> list[dict[str, str]]:
    """What stops the company sending this campaign at all."""
    problems: list[dict[str, str]] = []
    if campaign.channel == "email":
        if not company.sender_email:
            problems.append(reason("no_sender_email"))
        if not (company.postal_address or "").strip():
            # CAN-SPAM §7704(a)(5)(A)(iii): a valid physical postal address in every email.
            problems.append(
                reason("no_postal_address", "Set the company's postal address for the footer.")
            )
        if not (campaign.subject or "").strip():
            problems.append(reason("no_subject", "An email campaign needs a subject."))
    if campaign.channel == "marketing_sms":
        if not company.sms_number:
            problems.append(reason("no_sms_number"))
        elif company.sms_registration in ("pending", "rejected"):
            problems.append(reason("sender_not_registered"))
    if campaign.channel != "direct_mail" and not campaign.template.strip():
        problems.append(reason("no_template", "The campaign has no message."))
    return problems


def warnings(company: Company, campaign: Campaign) -> list[dict[str, str]]:
    """Sender problems, plus the SMS-registration warning while it is unknown."""
    found = _sender_problems(company, campaign)
    if campaign.channel == "marketing_sms" and company.sms_registration == "unknown":
        found.append(
            reason(
                "sender_registration_unknown",
                "Carrier registration of the SMS number is unknown; unregistered texts "
                "may be filtered.",
            )
        )
    settings = settings_of(company)
    dormant = settings.dormant_email_suppression and campaign.channel == "email"
    if dormant and not settings.email_tracking:
        found.append(
            reason(
                "dormant_needs_tracking",
                "Dormant emails can't be detected with tracking off; none are tagged.",
            )
        )
    return found


def send_campaign(
    session: Session, *, company: Company, campaign: Campaign, now: datetime
) -> Campaign:
    """Send now, or at ``scheduled_at`` if that is later. Repeating it changes nothing."""
    if campaign.status in ("scheduled", "sending", "sent"):
        return campaign
    if campaign.status == "cancelled":
        raise Conflict("the campaign was cancelled", code="campaign_cancelled")
    problems = _sender_problems(company, campaign)
    if problems:
        raise Conflict("; ".join(p["message"] for p in problems), code=problems[0]["code"])
    _check_template(company, campaign)
    campaign.updated_at = now
    if campaign.channel == "direct_mail":
        # Nothing to deliver: the office prints the labels (direct-mail.pdf / .csv).
        campaign.snapshot = snapshot(session, company=company, campaign=campaign)
        campaign.status, campaign.started_at, campaign.finished_at = "sent", now, now
        return campaign
    if campaign.scheduled_at is not None and campaign.scheduled_at > now:
        campaign.status = "scheduled"
    else:
        campaign.status, campaign.started_at = "sending", now
    _publish_send(session, campaign, now=now)
    session.flush()
    return campaign


def _publish_send(session: Session, campaign: Campaign, *, now: datetime) -> None:
    at = campaign.scheduled_at if campaign.status == "scheduled" else None
    stamp = at.isoformat() if at else "now"
    publish(
        session,
        SEND_TOPIC,
        dedupe_key=f"{campaign.ref}:send:{stamp}",
        run_at=at or now,
        campaign_id=campaign.id,
        at=stamp,
    )


def cancel_campaign(
    session: Session, *, company: Company, campaign: Campaign, now: datetime
) -> Campaign:
    """Stop the campaign: every message not yet handed to a provider is suppressed with
    ``campaign_cancelled`` (set-based); what was sent stays sent. Repeating is harmless."""
    if campaign.status == "cancelled":
        return campaign
    if campaign.status == "sent":
        raise Conflict("the campaign was already sent", code="campaign_already_sent")
    campaign.status, campaign.cancelled_at, campaign.updated_at = "cancelled", now, now
    session.flush()
    # Set-based for a million rows: suppress what is still queued, then write its history
    # from the rows this call stamped (updated_at = now).
    session.execute(
        update(Message)
        .where(
            Message.company_id == company.id,
            Message.subject_ref == campaign.ref,
            Message.status == "queued",
        )
        .values(status="suppressed", reasons=[CANCELLED], updated_at=now)
        .execution_options(synchronize_session=False)
    )
    M = typing.cast(Table, Message.__table__)
    session.execute(
        insert(typing.cast(Table, MessageEvent.__table__)).from_select(
            ["company_id", "message_id", "status", "detail", "at"],
            select(
                M.c.company_id,
                M.c.id,
                literal("suppressed"),
                literal("campaign cancelled"),
                M.c.updated_at,
            ).where(
                M.c.company_id == company.id,
                M.c.subject_ref == campaign.ref,
                M.c.status == "suppressed",
                M.c.updated_at == now,
            ),
        )
    )
    return campaign
