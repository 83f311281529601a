"""REST routes for campaigns: ``/v1/campaigns`` and its actions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select

from fieldlink.campaigns import engagement, labels, queries, service
from fieldlink.campaigns.audience import CONSENT_CHANNEL, audience_filter
from fieldlink.campaigns.content import SAMPLE, render_campaign
from fieldlink.campaigns.models import Campaign
from fieldlink.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignPreviewOut,
    CampaignReportOut,
    RenderedSample,
)
from fieldlink.campaigns.tracking import CampaignLinks
from fieldlink.consent import queries as consent_queries
from fieldlink.consent.schemas import RecipientOut
from fieldlink.customers.models import Customer
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import ValidationFailed
from fieldlink.web.deps import CurrentTenant, DbSession, Links
from fieldlink.web.pagination import Page, page_params, paginate

router = APIRouter(prefix="/v1", tags=["campaigns"])


def _out(campaign: Campaign) -> CampaignOut:
    return CampaignOut.model_validate(campaign)


def _get(session: DbSession, tenant: CurrentTenant, campaign_id: int) -> Campaign:
    return service.get_campaign(session, company_id=tenant.company_id, campaign_id=campaign_id)


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def create_campaign(body: CampaignIn, tenant: CurrentTenant, session: DbSession) -> CampaignOut:
    """A draft campaign. ``template`` is a Jinja2 template with ``company``, ``customer``
    and ``contact`` (``contact.first_name``…); texts get opt-out wording appended, emails
    the company's postal address and an unsubscribe link."""
    campaign = service.create_campaign(session, company=tenant.company, data=body, now=utcnow())
    return _out(campaign)


@router.get("/campaigns")
def list_campaigns(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    status: str | None = Query(None, max_length=20),
) -> dict[str, Any]:
    stmt = select(Campaign).where(Campaign.company_id == tenant.company_id)
    if status:
        stmt = stmt.where(Campaign.status == status)
    return paginate(session, stmt, Campaign.id, page, _out)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: int, tenant: CurrentTenant, session: DbSession) -> CampaignOut:
    return _out(_get(session, tenant, campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
def patch_campaign(
    campaign_id: int, body: CampaignPatch, tenant: CurrentTenant, session: DbSession
) -> CampaignOut:
    """Edit a draft or scheduled campaign; ``status`` changes only through /send and /cancel."""
    campaign = _get(session, tenant, campaign_id)
    service.update_campaign(
        session, company=tenant.company, campaign=campaign, patch=body, now=utcnow()
    )
    return _out(campaign)


@router.post("/campaigns/{campaign_id}/preview", response_model=CampaignPreviewOut)
def preview_campaign(
    campaign_id: int,
    tenant: CurrentTenant,
    session: DbSession,
    sample_size: int = Query(10, ge=0, le=100),
) -> CampaignPreviewOut:
    """Who the campaign would reach now: eligible count, blocked counts by reason code, a
    sample, the message rendered with sample data (texts: GSM-7/UCS-2 segments), and
    anything that would stop it sending (``warnings``)."""
    campaign = _get(session, tenant, campaign_id)
    result = consent_queries.preview_audience(
        session,
        company=tenant.company,
        channel=CONSENT_CHANNEL[campaign.channel],
        filter=audience_filter(campaign.audience),
        sample_size=sample_size,
    )
    rendered = None
    if campaign.channel != "direct_mail" and campaign.template.strip():
        r = render_campaign(
            tenant.company,
            channel=campaign.channel,
            subject=campaign.subject,
            template=campaign.template,
            recipient=SAMPLE,
        )
        rendered = RenderedSample(
            subject=r.subject, body=r.body, segments=r.segments, encoding=r.encoding
        )
    return CampaignPreviewOut(
        channel=campaign.channel,
        eligible=result.eligible,
        blocked=result.blocked,
        sample=[RecipientOut(**row) for row in result.sample],
        rendered=rendered,
        warnings=service.warnings(tenant.company, campaign),
    )


@router.post("/campaigns/{campaign_id}/send", response_model=CampaignOut, status_code=202)
def send_campaign(campaign_id: int, tenant: CurrentTenant, session: DbSession) -> CampaignOut:
    """Send now, or at ``scheduled_at`` if later (status ``scheduled``). The audience is
    resolved and queued by a worker; a repeated send changes nothing. 409 with the reason
    code when the company can't send it (no sender email, no postal address…)."""
    campaign = _get(session, tenant, campaign_id)
    service.send_campaign(session, company=tenant.company, campaign=campaign, now=utcnow())
    return _out(campaign)


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignOut)
def cancel_campaign(campaign_id: int, tenant: CurrentTenant, session: DbSession) -> CampaignOut:
    """Stop it: nothing not yet sent will be; what was sent stays in the report."""
    campaign = _get(session, tenant, campaign_id)
    service.cancel_campaign(session, company=tenant.company, campaign=campaign, now=utcnow())
    return _out(campaign)


@router.get("/campaigns/{campaign_id}/report", response_model=CampaignReportOut)
def campaign_report(
    campaign_id: int, tenant: CurrentTenant, session: DbSession
) -> CampaignReportOut:
    """Sent, delivered, failed, suppressed by reason (at send and at delivery),
    unsubscribes, unique opens and clicks."""
    campaign = _get(session, tenant, campaign_id)
    return CampaignReportOut(**queries.report(session, campaign=campaign))


def _direct_mail(session: DbSession, tenant: CurrentTenant, campaign_id: int) -> Campaign:
    campaign = _get(session, tenant, campaign_id)
    if campaign.channel != "direct_mail":
        raise ValidationFailed(
            "campaign_id", "this is not a direct-mail campaign", code="not_direct_mail"
        )
    return campaign


@router.get(
    "/campaigns/{campaign_id}/direct-mail.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def direct_mail_csv(campaign_id: int, tenant: CurrentTenant, session: DbSession) -> Response:
    """Every eligible recipient (one per customer, first valid address) as CSV."""
    campaign = _direct_mail(session, tenant, campaign_id)
    rows = queries.mailing_list(session, company=tenant.company, campaign=campaign)
    body = "".join(labels.csv_rows(rows))
    filename = f"campaign-{campaign.id}-mailing-list.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/campaigns/{campaign_id}/direct-mail.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def direct_mail_pdf(campaign_id: int, tenant: CurrentTenant, session: DbSession) -> Response:
    """Print-ready address labels, Avery 5160 (30 per US-letter page, 3 × 10, 2.625" × 1")."""
    campaign = _direct_mail(session, tenant, campaign_id)
    rows = queries.mailing_list(session, company=tenant.company, campaign=campaign)
    filename = f"campaign-{campaign.id}-labels-avery-5160.pdf"
    return Response(
        labels.labels_pdf(rows),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post("/customers/{customer_id}/email-opt-in", status_code=202, tags=["consent"])
def request_email_opt_in(
    customer_id: int, tenant: CurrentTenant, session: DbSession, links: Links
) -> dict[str, Any]:
    """Double opt-in: email the customer a signed link; confirming it (``/o/{token}``)
    adds the ``Opted In`` tag. 409 if the customer has no email address or unsubscribed."""
    customer: Customer = get_scoped(session, Customer, customer_id, tenant.company_id, "customer")
    message = engagement.request_email_opt_in(
        session, company=tenant.company, customer=customer, links=CampaignLinks(links), now=utcnow()
    )
    return {"message_id": message.id, "to": message.to, "status": message.status}
