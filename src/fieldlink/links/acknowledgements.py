"""Signing the work acknowledgement on the service link, and reading the signed records."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.jobs.models import Job
from fieldlink.links.models import WorkAcknowledgement
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging import documents
from fieldlink.pages.i18n import N_

PNG_PREFIX = "data:image/png;base64,"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 256 * 1024
MAX_NAME = 200


@dataclass(frozen=True)
class Signature:
    """What the form sent, checked: the typed name and, when drawn, the PNG bytes."""

    name: str
    method: str
    png: bytes | None


class SignatureInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def parse_signature(*, name: str, method: str, data_url: str, agreed: bool) -> Signature:
    """Check the signing form; raise :class:`SignatureInvalid` naming the field at fault.

    A drawn signature must be a PNG data URL of reasonable size; the typed-name method (for
    keyboard and screen-reader users, or anyone who prefers it) needs no drawing.
    """
    name = " ".join(name.split())
    if not name:
        raise SignatureInvalid("name", N_("Please type your full name."))
    if len(name) > MAX_NAME:
        raise SignatureInvalid("name", N_("Please shorten your name to 200 characters."))
    if not agreed:
        raise SignatureInvalid("agree", N_("Please confirm that the work was carried out."))
    if method == "typed":
        return Signature(name, "typed", None)
    if method != "drawn":
        raise SignatureInvalid("method", N_("Please choose how you want to sign."))
    if not data_url.startswith(PNG_PREFIX):
        raise SignatureInvalid(
            "signature",
            N_("Please sign in the box, or choose to sign with your typed name."),
        )
    encoded = data_url[len(PNG_PREFIX) :]
    if len(encoded) > MAX_SIGNATURE_BYTES * 4 // 3 + 4:
        raise SignatureInvalid(
            "signature", N_("The signature is too large. Please clear it and sign again.")
        )
    try:
        png = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        png = b""
    if not png.startswith(PNG_MAGIC):
        raise SignatureInvalid(
            "signature", N_("The signature could not be read. Please clear it and sign again.")
        )
    return Signature(name, "drawn", png)


def acknowledgement_of(session: Session, *, job: Job) -> WorkAcknowledgement | None:
    return session.scalar(
        select(WorkAcknowledgement).where(
            WorkAcknowledgement.job_id == job.id,
            WorkAcknowledgement.company_id == job.company_id,
        )
    )


def sign(
    session: Session,
    *,
    company: Company,
    job: Job,
    signature: Signature,
    text: str,
    text_sha256: str,
    language: str,
    ip: str | None,
    user_agent: str | None,
    links: LinkMaker,
    now: datetime,
) -> tuple[WorkAcknowledgement, bool]:
    """Record the signed acknowledgement, once per job; ``(record, created)``.

    A second signing (another tab, a double click, a forwarded link) returns the first
    record unchanged. On creation the customer is thanked with their copy (touchpoint
    ``work_acknowledgement``) through the outbox.
    """
    existing = acknowledgement_of(session, job=job)
    if existing is not None:
        return existing, False
    record = WorkAcknowledgement(
        company_id=company.id,
        job_id=job.id,
        signer_name=signature.name,
        signature_method=signature.method,
        signature_png=signature.png,
        summary_text=text,
        summary_sha256=text_sha256,
        language=language,
        ip=ip[:45] if ip else None,
        user_agent=user_agent[:500] if user_agent else None,
        signed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(record)
            session.flush()
    except IntegrityError:
        # Two submissions raced: the unique job_id kept the first.
        existing = acknowledgement_of(session, job=job)
        assert existing is not None
        return existing, False
    customer = session.get(Customer, job.customer_id)
    assert customer is not None
    documents.send_document(
        session,
        company=company,
        touchpoint="work_acknowledgement",
        customer=customer,
        job=job,
        object_id=job.id,
        link_kind="s",
        amount=None,
        contact_ids=(),
        roles=(),
        links=links,
        now=now,
    )
    return record, True


def list_acknowledgements(session: Session, *, job: Job) -> list[WorkAcknowledgement]:
    return list(
        session.scalars(
            select(WorkAcknowledgement)
            .where(
                WorkAcknowledgement.job_id == job.id,
                WorkAcknowledgement.company_id == job.company_id,
            )
            .order_by(WorkAcknowledgement.id)
        )
    )
