"""Pre-flight checks: what would make messages silently not go out, found before they don't.

Used by ``fieldlink doctor`` (exits non-zero on any error) and ``GET /v1/company/preflight``
(the same checks for one company, as warnings the office can act on). The template lint is
a pure function (:func:`lint_template`) so the template and campaign editors can call it too.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.config import DEV_SECRET, Settings
from fieldlink.db import utcnow
from fieldlink.messaging.models import TemplateOverride
from fieldlink.messaging.service import MARKETING_TOUCHPOINTS
from fieldlink.messaging.templates import DEFAULTS, TemplateInvalid, render, sample_variables

Severity = Literal["error", "warning"]

# Public link shorteners: US carriers filter texts carrying them (CTIA Short Code Monitoring
# Handbook; T-Mobile and AT&T A2P filtering), so a text with one often never arrives.
SHORTENERS = (
    "bit.ly",
    "bitly.com",
    "tinyurl.com",
    "goo.gl",
    "ow.ly",
    "t.co",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "t.ly",
    "s.id",
)
_SHORTENER_RE = re.compile(
    r"(?:https?://)?(?:www\.)?(" + "|".join(re.escape(s) for s in SHORTENERS) + r")/\S+",
    re.IGNORECASE,
)
# CTIA Messaging Principles and Best Practices (5.1.2): recurring marketing texts say how
# to opt out. "Reply STOP to opt out" or any text naming the STOP keyword counts.
_OPT_OUT_RE = re.compile(r"\b(STOP|STOPALL|UNSUBSCRIBE|OPT[ -]?OUT)\b", re.IGNORECASE)
SEGMENT_WARNING = 3  # each segment is billed; past three, carriers and readers lose patience


@dataclass(frozen=True)
class Check:
    """One finding. ``code`` is stable snake_case; ``subject`` says what it is about."""

    code: str
    severity: Severity
    message: str
    subject: str = "installation"
    company_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lint_template(
    *, touchpoint: str, channel: str, subject: str | None, body: str, label: str | None = None
) -> list[Check]:
    """Problems of one template: it must render with the documented variables (an unknown
    variable is an error), marketing SMS must carry opt-out wording, texts must not use public
    link shorteners and should stay within a few segments."""
    where = label or f"template {touchpoint}/{channel}"
    try:
        # Also as a company showing no technician identity (technician is then None).
        render(subject, body, sample_variables(with_technician=False), channel=channel)
        rendered = render(subject, body, sample_variables(), channel=channel)
    except TemplateInvalid as exc:
        return [Check("template_invalid", "error", f"{where}: {exc}", where)]
    found: list[Check] = []
    if channel == "sms":
        if rendered.segments and rendered.segments > SEGMENT_WARNING:
            found.append(
                Check(
                    "sms_too_many_segments",
                    "warning",
                    f"{where}: renders to {rendered.segments} {rendered.encoding} segments "
                    f"(each is billed; keep it to {SEGMENT_WARNING} or fewer)",
                    where,
                )
            )
        if touchpoint in MARKETING_TOUCHPOINTS and not _OPT_OUT_RE.search(rendered.body):
            found.append(
                Check(
                    "marketing_sms_without_opt_out",
                    "error",
                    f"{where}: marketing texts must say how to opt out (e.g. 'Reply STOP to "
                    "opt out') — CTIA",
                    where,
                )
            )
    shortener = _SHORTENER_RE.search(rendered.body)
    if shortener:
        found.append(
            Check(
                "link_shortener",
                "error" if channel == "sms" else "warning",
                f"{where}: uses the public link shortener {shortener.group(1)}; carriers and "
                "spam filters block them — use the company's own domain",
                where,
            )
        )
    return found


def check_installation(settings: Settings, session: Session | None) -> list[Check]:
    """Settings and database: provider credentials, secrets, migrations."""
    found: list[Check] = []
    if settings.secret_key.get_secret_value() == DEV_SECRET:
        found.append(
            Check(
                "secret_key_default",
                "error",
                "FIELDLINK_SECRET_KEY is the development default: anyone can forge links",
            )
        )
    if settings.sms_provider == "log":
        found.append(
            Check(
                "sms_provider_log",
                "warning",
                "FIELDLINK_SMS_PROVIDER is 'log': texts are written to the log, not sent",
            )
        )
    elif not settings.twilio_account_sid or not settings.twilio_auth_token.get_secret_value():
        found.append(
            Check(
                "sms_credentials_missing",
                "error",
                "FIELDLINK_TWILIO_ACCOUNT_SID and FIELDLINK_TWILIO_AUTH_TOKEN must be set "
                "for the twilio provider (texts fail and webhooks are refused without them)",
            )
        )
    if settings.email_provider == "log":
        found.append(
            Check(
                "email_provider_log",
                "warning",
                "FIELDLINK_EMAIL_PROVIDER is 'log': emails are written to the log, not sent",
            )
        )
    elif not settings.smtp_url:
        found.append(
            Check(
                "smtp_url_missing",
                "error",
                "FIELDLINK_SMTP_URL must be set for the smtp provider",
            )
        )
    if not settings.email_webhook_secret.get_secret_value():
        found.append(
            Check(
                "email_webhook_secret_missing",
                "warning",
                "FIELDLINK_EMAIL_WEBHOOK_SECRET is empty: bounce and complaint webhooks are "
                "refused, so bad addresses are never suppressed",
            )
        )
    if not settings.base_url.startswith("https://"):
        found.append(
            Check(
                "base_url_not_https",
                "warning",
                f"FIELDLINK_BASE_URL is {settings.base_url}: customer links and one-click "
                "unsubscribe (RFC 8058) need a public https URL",
            )
        )
    if session is not None:
        found.extend(_database_checks(session))
    return found


def _database_checks(session: Session) -> list[Check]:
    from fieldlink.migrate import pending_revisions

    try:
        session.execute(text("SELECT 1"))
        pending = pending_revisions(session.connection())
    except Exception as exc:
        return [
            Check(
                "database_unavailable",
                "error",
                f"the database did not answer: {exc.__class__.__name__}",
            )
        ]
    if pending:
        return [
            Check(
                "migrations_pending",
                "error",
                f"migrations pending ({', '.join(pending)}): run 'fieldlink db upgrade'",
            )
        ]
    return _outbox_checks(session)


STALLED_AFTER = timedelta(minutes=5)


def _outbox_checks(session: Session, now: datetime | None = None) -> list[Check]:
    """Jobs that have been due for a while mean no worker is taking them: messages are not
    sent and inbound texts (``sms.receive``) are kept but not threaded or forwarded."""
    from fieldlink.outbox.models import OutboxJob

    cutoff = (now or utcnow()) - STALLED_AFTER
    rows = session.execute(
        select(OutboxJob.topic, func.count(), func.min(OutboxJob.run_at))
        .where(OutboxJob.status == "pending", OutboxJob.run_at <= cutoff)
        .group_by(OutboxJob.topic)
        .order_by(OutboxJob.topic)
    ).all()
    if not rows:
        return []
    waiting = ", ".join(f"{topic} {count}" for topic, count, _ in rows)
    oldest = min(row[2] for row in rows)
    return [
        Check(
            "outbox_stalled",
            "warning",
            f"outbox jobs due for over {int(STALLED_AFTER.total_seconds() // 60)} minutes "
            f"({waiting}; the oldest since {oldest:%Y-%m-%d %H:%M} UTC): is a "
            "'fieldlink worker' running? Until one is, messages are not sent and inbound "
            "texts are not threaded or forwarded",
        )
    ]


def check_company(session: Session, company: Company) -> list[Check]:
    """What keeps this company's messages from going out, or out lawfully."""
    subject = f"company {company.company_code}"
    marketing = settings_of(company).marketing_suite

    def add(code: str, severity: Severity, message: str) -> None:
        found.append(Check(code, severity, message, subject, company.id))

    found: list[Check] = []
    if not company.sms_number:
        add("no_sms_number", "error", "no SMS number: every text is held (no_sms_number)")
    if company.sms_registration in ("pending", "rejected"):
        add(
            "sender_not_registered",
            "error",
            f"SMS registration is {company.sms_registration}: texts are held until approved",
        )
    elif company.sms_registration == "unknown":
        add(
            "sms_registration_unknown",
            "warning",
            "SMS registration (10DLC / toll-free verification) is unknown: carriers filter "
            "unregistered traffic",
        )
    if not company.sender_email:
        add("no_sender_email", "error", "no sender email: every email is held (no_sender_email)")
    if not company.sender_name:
        add("no_sender_name", "warning", "no sender name: emails come from the company name")
    if not company.postal_address:
        # CAN-SPAM (15 U.S.C. 7704(a)(5)): commercial email carries a valid postal address.
        add(
            "no_postal_address",
            "error" if marketing else "warning",
            "no postal address: marketing email must carry one (CAN-SPAM)",
        )
    if not company.business_phone:
        add(
            "no_business_phone",
            "warning",
            "no business phone: HELP replies and forwarded calls have nowhere to point",
        )
    overrides = session.scalars(
        select(TemplateOverride)
        .where(TemplateOverride.company_id == company.id)
        .order_by(TemplateOverride.touchpoint, TemplateOverride.channel, TemplateOverride.language)
    )
    for t in overrides:
        label = f"template {t.touchpoint}/{t.channel}/{t.language}"
        for check in lint_template(
            touchpoint=t.touchpoint, channel=t.channel, subject=t.subject, body=t.body, label=label
        ):
            found.append(Check(check.code, check.severity, check.message, subject, company.id))
    return found


def lint_defaults() -> list[Check]:
    """The built-in templates, linted as the company's would be (they must stay clean)."""
    found: list[Check] = []
    for (touchpoint, channel), (subject, body) in sorted(DEFAULTS.items()):
        found.extend(
            lint_template(touchpoint=touchpoint, channel=channel, subject=subject, body=body)
        )
    return found


def has_errors(checks: list[Check]) -> bool:
    return any(c.severity == "error" for c in checks)
