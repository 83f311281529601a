"""The SQL audience (consent/audience.py) and the pure rules (consent/rules.py) agree.

Hypothesis builds random companies — settings, customers with flags and tags, locations
with blank or missing parts, methods with every flag, odd email strings, suppressions —
and for every channel checks that the allowed (customer, method/location) pairs, the
reasons blocking each candidate, the customers with no candidate, the per-reason counts
and marketing email's one-address-per-customer choice are the same both ways.
Each example runs in a savepoint that is rolled back, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from fieldlink.consent import audience
from fieldlink.consent.audience import NO_RECIPIENT_CODE
from fieldlink.consent.models import Suppression
from fieldlink.consent.rules import (
    CHANNELS,
    AddressFacts,
    CompanyConsent,
    CustomerFacts,
    MethodFacts,
    decide,
)
from tests.factories.customers import (
    make_company,
    make_contact,
    make_customer,
    make_location,
    make_method,
)

EMAILS = ["ann@example.com", "bob@example.org", "cy@mail.example.net", "bad", "a@b", "x@@y.com"]
ODD = st.text(alphabet="ab@. _%", min_size=0, max_size=7)
TAGS = ["Opted In", "Email Dormant", "VIP"]


@dataclass
class MethodSpec:
    kind: str
    value: str
    phone_type: str | None
    marketing_updates: bool
    job_notifications: bool
    marketing_sms_status: str


@dataclass
class CustomerSpec:
    do_not_mail: bool
    do_not_service: bool
    do_not_send_promotional_emails: bool
    tags: frozenset[str]
    locations: list[tuple[str, str, str | None]] = field(default_factory=list)
    methods: list[MethodSpec] = field(default_factory=list)


def _methods() -> st.SearchStrategy[MethodSpec]:
    email = st.builds(
        MethodSpec,
        kind=st.just("email"),
        value=st.one_of(st.sampled_from(EMAILS), ODD),
        phone_type=st.none(),
        marketing_updates=st.booleans(),
        job_notifications=st.booleans(),
        marketing_sms_status=st.just("none"),
    )
    phone = st.builds(
        MethodSpec,
        kind=st.just("phone"),
        value=st.sampled_from(["+19195550100", "+19195550101"]),
        phone_type=st.sampled_from(["mobile", "mobile", "landline", "other", None]),
        marketing_updates=st.booleans(),
        job_notifications=st.booleans(),
        marketing_sms_status=st.sampled_from(["none", "pending", "opted_in", "opted_out"]),
    )
    return st.one_of(email, phone)


_part = st.sampled_from(["12 Oak St", "Raleigh", "", " ", "27601"])
customers_st = st.builds(
    CustomerSpec,
    do_not_mail=st.booleans(),
    do_not_service=st.booleans(),
    do_not_send_promotional_emails=st.booleans(),
    tags=st.frozensets(st.sampled_from(TAGS)),
    locations=st.lists(st.tuples(_part, _part, st.one_of(st.none(), _part)), max_size=2),
    methods=st.lists(_methods(), max_size=4),
)
world_st = st.tuples(
    st.builds(
        CompanyConsent,
        marketing_suite=st.booleans(),
        double_opt_in=st.booleans(),
        dormant_email_suppression=st.booleans(),
    ),
    st.lists(customers_st, min_size=1, max_size=6),
    st.frozensets(st.one_of(st.sampled_from(EMAILS), ODD), max_size=3),
)


def _build(
    session: Session, specs: list[CustomerSpec], suppressed: frozenset[str]
) -> tuple[int, dict[int, tuple[CustomerFacts, dict[int, MethodFacts], dict[int, AddressFacts]]]]:
    company_id = make_company(session).id
    for email in suppressed:
        session.add(Suppression(company_id=company_id, email=email, reason="manual"))
    world = {}
    for spec in specs:
        customer = make_customer(
            session,
            company_id=company_id,
            tags=tuple(spec.tags),
            do_not_mail=spec.do_not_mail,
            do_not_service=spec.do_not_service,
            do_not_send_promotional_emails=spec.do_not_send_promotional_emails,
        )
        contact = make_contact(session, company_id=company_id, customer_id=customer.id)
        methods = {}
        for m in spec.methods:
            row = make_method(
                session,
                company_id=company_id,
                customer_id=customer.id,
                contact_id=contact.id,
                kind=m.kind,
                value=m.value,
                phone_type=m.phone_type,
                marketing_updates=m.marketing_updates,
                job_notifications=m.job_notifications,
                marketing_sms_status=m.marketing_sms_status,
            )
            methods[row.id] = MethodFacts(
                kind=m.kind,
                value=m.value,
                phone_type=m.phone_type,
                marketing_updates=m.marketing_updates,
                job_notifications=m.job_notifications,
                marketing_sms_status=m.marketing_sms_status,
                suppressed=m.value in suppressed,
            )
        locations = {}
        for line1, city, postcode in spec.locations:
            loc = make_location(
                session,
                company_id=company_id,
                customer_id=customer.id,
                line1=line1,
                city=city,
                postcode=postcode,
            )
            locations[loc.id] = AddressFacts(line1=line1, city=city, postcode=postcode)
        facts = CustomerFacts(
            do_not_mail=spec.do_not_mail,
            do_not_service=spec.do_not_service,
            do_not_send_promotional_emails=spec.do_not_send_promotional_emails,
            tags=spec.tags,
        )
        world[customer.id] = (facts, methods, locations)
    session.flush()
    return company_id, world


def _check_channel(
    session: Session, company_id: int, consent: CompanyConsent, world, channel
) -> None:  # type: ignore[no-untyped-def]
    kind = "email" if channel.endswith("email") else "phone"
    expected_reasons: dict[tuple[int, int], set[str]] = {}
    without = 0
    for cid, (facts, methods, locations) in world.items():
        if channel == "direct_mail":
            targets = {lid: a for lid, a in locations.items()}
        else:
            targets = {mid: m for mid, m in methods.items() if m.kind == kind}
        if not targets:
            without += 1
            assert NO_RECIPIENT_CODE[channel] in decide(channel, consent, facts, None).codes
        for tid, target in targets.items():
            expected_reasons[(cid, tid)] = set(decide(channel, consent, facts, target).codes)

    rows = session.execute(audience.candidate_reasons(company_id, channel, consent)).mappings()
    got_reasons = {
        (r["customer_id"], r["target_id"]): {
            code for code, v in r.items() if code not in ("customer_id", "target_id") and v
        }
        for r in rows
    }
    assert got_reasons == expected_reasons, channel

    allowed = {pair for pair, reasons in expected_reasons.items() if not reasons}
    stmt = audience.eligible_recipients(company_id, channel, consent, one_per_customer=False)
    assert {(r[0], r[1]) for r in session.execute(stmt)} == allowed, channel

    first: dict[int, int] = {}
    for cid, tid in sorted(allowed):
        first.setdefault(cid, tid)
    stmt = audience.eligible_recipients(company_id, channel, consent, one_per_customer=True)
    assert {(r[0], r[1]) for r in session.execute(stmt)} == set(first.items()), channel

    counts = session.execute(audience.blocked_counts(company_id, channel, consent)).one()._asdict()
    assert counts.pop("candidates") == len(expected_reasons)
    assert counts.pop("allowed") == len(allowed)
    expected_counts = Counter(c for reasons in expected_reasons.values() for c in reasons)
    assert {k: v for k, v in counts.items() if v} == dict(expected_counts), channel
    got_without = session.scalar(audience.customers_without_recipient(company_id, channel))
    assert got_without == without, channel


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(world=world_st)
def test_sql_audience_and_pure_rules_agree_on_every_channel(session: Session, world) -> None:  # type: ignore[no-untyped-def]
    consent, specs, suppressed = world
    savepoint = session.begin_nested()
    try:
        company_id, built = _build(session, specs, suppressed)
        for channel in CHANNELS:
            _check_channel(session, company_id, consent, built, channel)
    finally:
        savepoint.rollback()
