"""Use cases for a company's own template wording: save (checked), reset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.errors import ValidationFailed
from fieldlink.messaging import templates as tpl
from fieldlink.messaging.layout import email_html
from fieldlink.messaging.models import TemplateOverride


def find_override(
    session: Session, *, company_id: int, touchpoint: str, channel: str, language: str
) -> TemplateOverride | None:
    return session.scalar(
        select(TemplateOverride).where(
            TemplateOverride.company_id == company_id,
            TemplateOverride.touchpoint == touchpoint,
            TemplateOverride.channel == channel,
            TemplateOverride.language == language,
        )
    )


def save_template(
    session: Session,
    *,
    company_id: int,
    touchpoint: str,
    channel: str,
    language: str,
    subject: str | None,
    body: str,
) -> TemplateOverride:
    """Store the wording after rendering it on sample data, with and without a technician,
    so a broken template is refused now rather than failing at send time."""
    if tpl.default_template(touchpoint, channel) is None:
        raise ValidationFailed(
            "channel", f"{touchpoint} is not sent by {channel}", code="no_such_template"
        )
    if channel == "email" and not subject:
        raise ValidationFailed("subject", "an email template needs a subject")
    subject = subject if channel == "email" else None
    for with_technician in (True, False):
        try:
            tpl.render(
                subject,
                body,
                tpl.sample_variables(with_technician=with_technician),
                channel=channel,
            )
        except tpl.TemplateInvalid as exc:
            field = "subject" if str(exc).startswith("subject") else "body"
            raise ValidationFailed(field, str(exc), code="template_invalid") from exc
    row = find_override(
        session, company_id=company_id, touchpoint=touchpoint, channel=channel, language=language
    )
    if row is None:
        row = TemplateOverride(
            company_id=company_id,
            touchpoint=touchpoint,
            channel=channel,
            language=language,
            body=body,
        )
        session.add(row)
    row.subject, row.body = subject, body
    session.info.pop("template_cache", None)
    session.flush()
    return row


def reset_template(
    session: Session, *, company_id: int, touchpoint: str, channel: str, language: str
) -> None:
    row = find_override(
        session, company_id=company_id, touchpoint=touchpoint, channel=channel, language=language
    )
    if row is not None:
        session.delete(row)
        session.info.pop("template_cache", None)
        session.flush()


def preview(
    company: Company,
    *,
    channel: str,
    subject: str | None,
    body: str,
    technician_identity: str | None = None,
    data: dict[str, Any] | None = None,
) -> tuple[tpl.Rendered, str | None]:
    """Render wording on sample data (or ``data``) as the company's customers would see it:
    the technician shown or not per the company's choice; emails also in the email layout.
    Raises ValidationFailed with the template's error."""
    identity = technician_identity or settings_of(company).technician_identity
    variables = tpl.sample_variables(
        company_name=company.name, with_technician=identity == "name_and_photo"
    )
    variables.update(data or {})
    try:
        out = tpl.render(subject if channel == "email" else None, body, variables, channel=channel)
    except tpl.TemplateInvalid as exc:
        raise ValidationFailed("body", str(exc), code="template_invalid") from exc
    return out, (email_html(company, out.body) if channel == "email" else None)
