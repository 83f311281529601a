"""Use cases for a company's own template wording: save (checked), reset."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.errors import ValidationFailed
from fieldlink.messaging import templates as tpl
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
