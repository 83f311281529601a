"""The consent rules of ``rules.py`` as SQL, for whole audiences in one query.

A campaign to a million customers is a query, not a Python loop (DESIGN.md principle 3).
Each channel's rule is a list of *blockers*: ``(reason code, SQL condition true when it
blocks)``, built over one FROM clause of candidates — a customer's contact methods of the
channel's kind, or its locations for direct mail. The same blockers give the eligible
recipients (no blocker true) and the per-reason counts of a preview, so the two can't
drift apart; ``tests/consent/test_agreement.py`` proves they match ``rules.decide``.

Optional facts (tags, suppression) are LEFT JOINs on unique keys, never correlated
subqueries in the select list, so PostgreSQL plans them as hash (anti-)joins. "Absent"
tests a *join key* column (``sup.email IS NULL``), not the primary key: PostgreSQL turns
a LEFT JOIN into an anti-join only when the NULL test is on a column the join condition
mentions, and without that it estimated 1 row and chose nested loops (20x slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)

from fieldlink.consent.models import Suppression
from fieldlink.consent.rules import (
    EMAIL_DORMANT_TAG,
    OPTED_IN_TAG,
    Channel,
    CompanyConsent,
)
from fieldlink.customers.models import ContactMethod, Customer, CustomerTag, Location

C = Customer.__table__
M = ContactMethod.__table__
L = Location.__table__
T = CustomerTag.__table__
S = Suppression.__table__

# What a customer lacks when it has no candidate at all for the channel.
NO_RECIPIENT_CODE: dict[str, str] = {
    "direct_mail": "no_postal_address",
    "marketing_email": "no_email_address",
    "transactional_email": "no_email_address",
    "transactional_sms": "no_mobile_number",
    "marketing_sms": "no_mobile_number",
}


@dataclass(frozen=True)
class AudienceFilter:
    """Which customers an audience starts from; every given criterion must match.

    Within one criterion any value matches (``tags=("VIP", "Gold")`` = either tag).
    Cities compare case-insensitively. For direct mail, city and postcode select the
    locations themselves; for other channels, customers with a location there.
    """

    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    postcodes: tuple[str, ...] = ()
    # Further conditions on the customers table (``customers.c``), e.g. a campaign's
    # job-history criteria or a batch's customer-id range; ANDed like the rest.
    conditions: tuple[ColumnElement[bool], ...] = ()


@dataclass(frozen=True)
class _Candidates:
    source: FromClause
    target_id: ColumnElement[Any]
    value: ColumnElement[Any]
    where: list[ColumnElement[bool]]
    blockers: list[tuple[str, ColumnElement[bool]]]


def eligible_recipients(
    company_id: int,
    channel: Channel,
    settings: CompanyConsent,
    filter: AudienceFilter | None = None,
    *,
    one_per_customer: bool | None = None,
) -> Select[Any]:
    """``(customer_id, method_id | location_id, value)`` of everyone ``channel`` may reach.

    ``one_per_customer`` defaults to on for marketing email: "one email per customer
    record receives a campaign (the first eligible method in a stable order)" — the
    lowest method id (ServiceTitan; DESIGN.md).
    """
    cand = _candidates(company_id, channel, settings, filter or AudienceFilter())
    label = "location_id" if channel == "direct_mail" else "method_id"
    stmt = select(
        C.c.id.label("customer_id"), cand.target_id.label(label), cand.value.label("value")
    ).select_from(cand.source)
    stmt = stmt.where(*cand.where, *(not_(cond) for _, cond in cand.blockers))
    if one_per_customer is None:
        one_per_customer = channel == "marketing_email"
    if not one_per_customer:
        return stmt
    ranked = stmt.add_columns(
        func.row_number().over(partition_by=C.c.id, order_by=cand.target_id).label("rank")
    ).subquery("ranked")
    return select(ranked.c.customer_id, ranked.c[label], ranked.c.value).where(ranked.c.rank == 1)


def tune_for_bulk_read(connection: Connection) -> None:
    """Per-transaction PostgreSQL settings for whole-audience reads (no-op elsewhere).

    A million-customer audience hashes ~1M rows per join: with the default 4 MB
    ``work_mem`` each hash spills to disk in 8 batches, and JIT compilation adds ~0.2 s
    to every query; ``SET LOCAL`` confines both changes to the caller's transaction.
    Measured in benchmarks/README.md.
    """
    if connection.dialect.name != "postgresql":
        return
    connection.exec_driver_sql("SET LOCAL work_mem = '64MB'")
    connection.exec_driver_sql("SET LOCAL jit = off")


def candidate_reasons(
    company_id: int,
    channel: Channel,
    settings: CompanyConsent,
    filter: AudienceFilter | None = None,
) -> Select[Any]:
    """Every candidate ``(customer_id, target_id, value)`` with one 0/1 column per reason
    code of the channel (1 = that blocker applies). For explanations and tests."""
    cand = _candidates(company_id, channel, settings, filter or AudienceFilter())
    columns = [case((cond, 1), else_=0).label(code) for code, cond in cand.blockers]
    return (
        select(C.c.id.label("customer_id"), cand.target_id.label("target_id"), *columns)
        .select_from(cand.source)
        .where(*cand.where)
    )


def blocked_counts(
    company_id: int,
    channel: Channel,
    settings: CompanyConsent,
    filter: AudienceFilter | None = None,
) -> Select[Any]:
    """One row: per reason code, how many candidates it blocks (a candidate blocked for
    two reasons counts under both), plus ``candidates`` and ``allowed`` totals."""
    cand = _candidates(company_id, channel, settings, filter or AudienceFilter())
    blocked_any = or_(false(), *(cond for _, cond in cand.blockers))
    columns = [
        func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(code)
        for code, cond in cand.blockers
    ]
    return (
        select(
            func.count().label("candidates"),
            func.coalesce(func.sum(case((blocked_any, 0), else_=1)), 0).label("allowed"),
            *columns,
        )
        .select_from(cand.source)
        .where(*cand.where)
    )


def customers_without_recipient(
    company_id: int, channel: Channel, filter: AudienceFilter | None = None
) -> Select[Any]:
    """Count of customers in the audience with no address/method of the channel's kind."""
    filter = filter or AudienceFilter()
    if channel == "direct_mail":
        has_any = exists().where(L.c.customer_id == C.c.id)
    else:
        kind = "email" if channel.endswith("email") else "phone"
        has_any = exists().where(M.c.customer_id == C.c.id, M.c.kind == kind)
    where = [C.c.company_id == company_id, *_customer_filter(filter), not_(has_any)]
    return select(func.count()).select_from(C).where(*where)


def _customer_blocks() -> list[tuple[str, ColumnElement[bool]]]:
    return [
        ("do_not_mail", C.c.do_not_mail),
        ("do_not_service", C.c.do_not_service),
    ]


def _candidates(
    company_id: int, channel: Channel, settings: CompanyConsent, filter: AudienceFilter
) -> _Candidates:
    where: list[ColumnElement[bool]] = [C.c.company_id == company_id]
    where += _customer_filter(filter, by_location=channel != "direct_mail")
    if channel == "direct_mail":
        source = L.join(C, C.c.id == L.c.customer_id)
        where += [L.c.company_id == company_id, *_location_filter(filter, L)]
        # Mirrors rules.is_valid_postal_address; trim(NULL) is NULL, so a missing postcode
        # is tested first or the row would vanish from the query instead of being blocked.
        valid = and_(
            L.c.postcode.is_not(None),
            *(func.trim(col) != "" for col in (L.c.line1, L.c.city, L.c.postcode)),
        )
        blockers = [("invalid_postal_address", not_(valid)), *_customer_blocks()]
        value = L.c.line1 + literal(", ") + L.c.city + literal(" ") + L.c.postcode
        return _Candidates(source, L.c.id, value, where, blockers)

    source = M.join(C, C.c.id == M.c.customer_id)
    where.append(M.c.company_id == company_id)
    if channel.endswith("email"):
        where.append(M.c.kind == "email")
        blockers = [("invalid_email_address", not_(_looks_like_email(M.c.value)))]
        if channel == "transactional_email":
            blockers += [
                ("no_job_notifications", not_(M.c.job_notifications)),
                ("do_not_service", C.c.do_not_service),
            ]
            return _Candidates(source, M.c.id, M.c.value, where, blockers)
        s = S.alias("sup")
        source = source.outerjoin(s, and_(s.c.company_id == company_id, s.c.email == M.c.value))
        blockers += [
            ("email_suppressed", s.c.email.is_not(None)),
            ("no_marketing_updates", not_(M.c.marketing_updates)),
            *_customer_blocks(),
            ("do_not_send_promotional_emails", C.c.do_not_send_promotional_emails),
        ]
        if settings.double_opt_in:
            t = T.alias("tag_opted_in")
            source = source.outerjoin(t, and_(t.c.customer_id == C.c.id, t.c.tag == OPTED_IN_TAG))
            blockers.append(("missing_opted_in_tag", t.c.customer_id.is_(None)))
        if settings.dormant_email_suppression:
            t = T.alias("tag_dormant")
            source = source.outerjoin(
                t, and_(t.c.customer_id == C.c.id, t.c.tag == EMAIL_DORMANT_TAG)
            )
            blockers.append(("email_dormant", t.c.customer_id.is_not(None)))
        return _Candidates(source, M.c.id, M.c.value, where, blockers)

    where.append(M.c.kind == "phone")
    not_mobile = or_(M.c.phone_type.is_(None), M.c.phone_type != "mobile")
    blockers = [("not_a_mobile_number", not_mobile)]
    if channel == "transactional_sms":
        blockers.append(("no_job_notifications", not_(M.c.job_notifications)))
        if settings.marketing_suite:
            blockers.append(("no_marketing_updates", not_(M.c.marketing_updates)))
    else:
        blockers += [
            ("no_marketing_updates", not_(M.c.marketing_updates)),
            ("no_marketing_sms_opt_in", M.c.marketing_sms_status != "opted_in"),
        ]
    blockers += _customer_blocks()
    return _Candidates(source, M.c.id, M.c.value, where, blockers)


def _looks_like_email(value: Any) -> ColumnElement[bool]:
    # Mirrors rules.looks_like_email exactly (the agreement test checks odd strings).
    return and_(value.like("%_@_%._%"), not_(value.like("%@%@%")), not_(value.like("% %")))


def _customer_filter(
    filter: AudienceFilter, *, by_location: bool = True
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = list(filter.conditions)
    if filter.types:
        where.append(C.c.type.in_(filter.types))
    if filter.tags:
        where.append(exists().where(T.c.customer_id == C.c.id, T.c.tag.in_(filter.tags)))
    if by_location and (filter.cities or filter.postcodes):
        loc = L.alias("filter_location")
        where.append(exists().where(loc.c.customer_id == C.c.id, *_location_filter(filter, loc)))
    return where


def _location_filter(filter: AudienceFilter, loc: Any) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filter.cities:
        where.append(func.lower(loc.c.city).in_([c.lower() for c in filter.cities]))
    if filter.postcodes:
        where.append(loc.c.postcode.in_(filter.postcodes))
    return where


__all__ = [
    "NO_RECIPIENT_CODE",
    "AudienceFilter",
    "blocked_counts",
    "candidate_reasons",
    "customers_without_recipient",
    "eligible_recipients",
    "tune_for_bulk_read",
]
