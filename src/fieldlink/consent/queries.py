"""Read side of consent: a customer's eligibility, audience previews, history, suppressions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.accounts.service import settings_of
from fieldlink.consent import audience
from fieldlink.consent.audience import NO_RECIPIENT_CODE, AudienceFilter
from fieldlink.consent.models import ConsentEvent, Suppression
from fieldlink.consent.rules import (
    CHANNELS,
    AddressFacts,
    Channel,
    CompanyConsent,
    CustomerFacts,
    Decision,
    MethodFacts,
    decide,
)
from fieldlink.customers.models import ContactMethod, Customer, CustomerTag, Location
from fieldlink.db import any_of, get_scoped


@dataclass(frozen=True)
class Eligibility:
    channel: Channel
    method_id: int | None
    location_id: int | None
    decision: Decision


@dataclass(frozen=True)
class Preview:
    channel: Channel
    eligible: int
    blocked: dict[str, int]
    sample: list[dict[str, Any]]


def company_consent(company: Company) -> CompanyConsent:
    """The consent-relevant part of the company's settings, as plain facts."""
    s = settings_of(company)
    return CompanyConsent(
        marketing_suite=s.marketing_suite,
        double_opt_in=s.double_opt_in,
        dormant_email_suppression=s.dormant_email_suppression,
    )


def customer_facts(session: Session, customer: Customer) -> CustomerFacts:
    tags = session.scalars(select(CustomerTag.tag).where(CustomerTag.customer_id == customer.id))
    return customer_facts_from(customer, frozenset(tags))


def tags_of(session: Session, customer_ids: Iterable[int]) -> dict[int, frozenset[str]]:
    """The tags of many customers in a few queries (a batch's consent facts need them all)."""
    found: dict[int, set[str]] = {}
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 5000):
        for customer_id, tag in session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag).where(
                any_of(session, CustomerTag.customer_id, ids[start : start + 5000])
            )
        ):
            found.setdefault(customer_id, set()).add(tag)
    return {k: frozenset(v) for k, v in found.items()}


def customer_facts_from(customer: Customer, tags: frozenset[str]) -> CustomerFacts:
    """The customer's consent facts, with tags already read (batch delivery reads them for
    a whole batch in one query)."""
    return CustomerFacts(
        do_not_mail=customer.do_not_mail,
        do_not_service=customer.do_not_service,
        do_not_send_promotional_emails=customer.do_not_send_promotional_emails,
        tags=tags,
    )


def method_facts(method: ContactMethod, *, suppressed: bool) -> MethodFacts:
    return MethodFacts(
        kind=method.kind,
        value=method.value,
        phone_type=method.phone_type,
        marketing_updates=method.marketing_updates,
        job_notifications=method.job_notifications,
        marketing_sms_status=method.marketing_sms_status,
        suppressed=suppressed,
    )


def address_facts(location: Location) -> AddressFacts:
    return AddressFacts(line1=location.line1, city=location.city, postcode=location.postcode)


def customer_eligibility(
    session: Session, *, company: Company, customer_id: int
) -> list[Eligibility]:
    """Every contact method x channel (and every location for direct mail), decided.

    A channel the customer has no method (or location) for at all answers once, with
    ``method_id``/``location_id`` null and the reason ``no_email_address`` & co.
    """
    customer: Customer = get_scoped(session, Customer, customer_id, company.id, "customer")
    settings = company_consent(company)
    facts = customer_facts(session, customer)
    methods = session.scalars(
        select(ContactMethod)
        .where(ContactMethod.customer_id == customer.id)
        .order_by(ContactMethod.id)
    ).all()
    locations = session.scalars(
        select(Location).where(Location.customer_id == customer.id).order_by(Location.id)
    ).all()
    emails = [m.value for m in methods if m.kind == "email"]
    suppressed = set(
        session.scalars(
            select(Suppression.email).where(
                Suppression.company_id == company.id, Suppression.email.in_(emails)
            )
        )
    )
    out: list[Eligibility] = []
    for channel in CHANNELS:
        if channel == "direct_mail":
            for loc in locations:
                out.append(
                    Eligibility(
                        channel, None, loc.id, decide(channel, settings, facts, address_facts(loc))
                    )
                )
            if not locations:
                out.append(Eligibility(channel, None, None, decide(channel, settings, facts, None)))
            continue
        kind = "email" if channel.endswith("email") else "phone"
        for m in methods:
            mf = method_facts(m, suppressed=m.kind == "email" and m.value in suppressed)
            out.append(Eligibility(channel, m.id, None, decide(channel, settings, facts, mf)))
        if not any(m.kind == kind for m in methods):
            out.append(Eligibility(channel, None, None, decide(channel, settings, facts, None)))
    return out


def preview_audience(
    session: Session,
    *,
    company: Company,
    channel: Channel,
    filter: AudienceFilter,
    sample_size: int = 10,
) -> Preview:
    """How many the channel reaches, how many each reason blocks, and a sample.

    ``blocked`` holds every reason code of the channel (zeros included), counted per
    candidate method/location, plus the customers with nothing of the channel's kind
    (``no_email_address``…) and, for marketing email, ``one_email_per_customer``.
    """
    settings = company_consent(company)
    recipients = audience.eligible_recipients(company.id, channel, settings, filter).subquery()
    eligible = session.scalar(select(func.count()).select_from(recipients)) or 0
    counts = (
        session.execute(audience.blocked_counts(company.id, channel, settings, filter))
        .one()
        ._asdict()
    )
    allowed = int(counts.pop("allowed"))
    counts.pop("candidates")
    blocked: Counter[str] = Counter({code: int(n) for code, n in counts.items()})
    blocked[NO_RECIPIENT_CODE[channel]] += int(
        session.scalar(audience.customers_without_recipient(company.id, channel, filter)) or 0
    )
    if channel == "marketing_email":
        blocked["one_email_per_customer"] = allowed - eligible
    rows = session.execute(
        select(recipients).order_by(recipients.c.customer_id).limit(sample_size)
    ).all()
    sample = [
        {
            "customer_id": r.customer_id,
            "method_id": None if channel == "direct_mail" else r[1],
            "location_id": r[1] if channel == "direct_mail" else None,
            "value": r.value,
        }
        for r in rows
    ]
    return Preview(channel=channel, eligible=eligible, blocked=dict(blocked), sample=sample)


def consent_history_query(*, company_id: int, method: ContactMethod) -> Select[Any]:
    """Every consent event of a method, and the suppression-list events of its address
    (those name the address, not the method, since the list is per address)."""
    return select(ConsentEvent).where(
        ConsentEvent.company_id == company_id,
        or_(
            ConsentEvent.contact_method_id == method.id,
            and_(
                ConsentEvent.contact_method_id.is_(None),
                ConsentEvent.field == "suppression",
                ConsentEvent.subject == method.value,
            ),
        ),
    )


def suppressions_query(*, company_id: int, email: str | None = None) -> Select[Any]:
    stmt = select(Suppression).where(Suppression.company_id == company_id)
    if email:
        stmt = stmt.where(Suppression.email == email.strip().lower())
    return stmt
