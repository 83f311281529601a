"""``fieldlink demo``: seed "Acme Heating & Air" in an embedded database and serve it.

The data is deterministic (seeded random), so a newcomer and a test see the same story:
residential and commercial accounts, sub-customers, several contacts per account with
different roles, a Spanish-speaking household, a do-not-service account, an opted-out
number, a suppressed email, and today's and tomorrow's appointments.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company, User
from fieldlink.accounts.schemas import CompanySettings
from fieldlink.accounts.service import create_api_key, create_company
from fieldlink.config import Settings
from fieldlink.consent.models import ConsentEvent, Suppression
from fieldlink.customers.models import Contact, ContactMethod, Customer, CustomerTag, Location
from fieldlink.db import make_engine, make_sessionmaker, session_scope, utcnow
from fieldlink.demo_day import play_service_day
from fieldlink.jobs.models import Appointment, AppointmentTechnician, Invoice, Job
from fieldlink.links.tokens import LinkMaker
from fieldlink.portal.demo import add_demo_login

TZ = "America/New_York"
# Every demo user signs in to /office/ with this password (printed by `fieldlink demo`).
DEMO_PASSWORD = "acme-demo-password"
FIRST = [
    "Maria",
    "James",
    "Linda",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Allen",
    "Young",
    "King",
]
STREETS = [
    "Oak St",
    "Maple Ave",
    "Pine Rd",
    "Cedar Ln",
    "Elm St",
    "Glenwood Ave",
    "Hillsborough St",
    "Wade Ave",
    "Six Forks Rd",
    "Falls of Neuse Rd",
]
CITIES = [
    ("Raleigh", "27601"),
    ("Raleigh", "27609"),
    ("Cary", "27511"),
    ("Durham", "27701"),
    ("Apex", "27502"),
]
BUSINESSES = [
    "Triangle Dental Group",
    "Oakwood Apartments",
    "Capital Bistro",
    "Wake Family Clinic",
    "Brightside Elementary",
    "Northridge Storage",
]
JOB_TYPES = [
    "AC Tune-up",
    "Furnace Repair",
    "Heat Pump Install",
    "Duct Cleaning",
    "Thermostat Install",
    "Maintenance Visit",
]


@dataclass
class DemoResult:
    company_id: int
    company_code: str
    api_key: str
    customers: int
    appointments: int
    technicians: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    logins: list[dict[str, str]] = field(default_factory=list)


def seed_demo(session: Session, *, today: date | None = None) -> DemoResult:
    """Create the demo company and its data in the caller's unit of work."""
    rng = random.Random(20261123)
    zone = ZoneInfo(TZ)
    today = today or datetime.now(zone).date()
    company = create_company(
        session,
        name="Acme Heating & Air",
        company_code="acme",
        sms_area_code="919",
        logo_url="https://acme-heating.example/logo.png",
        website="https://acme-heating.example",
        brand_color="#c2410c",
        remit_to="Acme Heating & Air\n120 Trade St\nRaleigh, NC 27601",
        postal_address="120 Trade St, Raleigh, NC 27601",
        business_phone="+19195550100",
        sender_email="service@acme-heating.example",
        sender_name="Acme Heating & Air",
        sms_number="+19195550199",
        time_zone=TZ,
    )
    company.settings = CompanySettings(marketing_suite=False).model_dump()
    owner = _user(session, company, "Olivia Owens", "olivia@acme-heating.example", "owner")
    _user(session, company, "Dana Dispatch", "dana@acme-heating.example", "dispatcher")
    techs = [
        _user(
            session,
            company,
            "Tom Torres",
            "tom@acme-heating.example",
            "technician",
            "+19195550111",
            ["NATE-certified"],
        ),
        _user(
            session,
            company,
            "Priya Patel",
            "priya@acme-heating.example",
            "technician",
            "+19195550112",
            ["NATE-certified", "EPA 608"],
        ),
        _user(
            session,
            company,
            "Luis Ortega",
            "luis@acme-heating.example",
            "technician",
            "+19195550113",
            [],
        ),
    ]
    company.point_of_contact_user_id = owner.id
    _, raw_key = create_api_key(session, company=company, name="demo")

    customers: list[Customer] = []
    for i in range(50):
        commercial = i % 8 == 0
        if commercial:
            name = BUSINESSES[(i // 8) % len(BUSINESSES)]
        else:
            name = f"{rng.choice(FIRST)} {LAST[i % len(LAST)]}"
        customer = Customer(
            company_id=company.id, name=name, type="commercial" if commercial else "residential"
        )
        session.add(customer)
        customers.append(customer)
    session.flush()

    notes: list[str] = []
    # The stories the demo tells: each is a row a newcomer can look up.
    garcia = customers[1]
    garcia.name, garcia.language = "Familia García", "es"
    notes.append(f"customer {garcia.id} ({garcia.name}) reads Spanish")
    dns = customers[2]
    dns.do_not_service = True
    notes.append(f"customer {dns.id} ({dns.name}) is do-not-service: nothing is sent to them")
    session.add(CustomerTag(company_id=company.id, customer_id=customers[3].id, tag="Opted In"))
    sub = customers[9]
    sub.parent_id = customers[8].id
    notes.append(f"customer {sub.id} is a sub-customer of {customers[8].name}")

    for i, customer in enumerate(customers):
        city, postcode = CITIES[i % len(CITIES)]
        loc = Location(
            company_id=company.id,
            customer_id=customer.id,
            kind="service",
            line1=f"{100 + i * 7} {STREETS[i % len(STREETS)]}",
            city=city,
            region="NC",
            postcode=postcode,
            country="US",
            time_zone=TZ,
        )
        session.add(loc)
        session.flush()
        _contacts(session, company, customer, loc, i, rng)
    session.flush()

    opted_out = _first_mobile(session, customers[4])
    opted_out.marketing_sms_status = "opted_out"
    opted_out.marketing_sms_source = "keyword"
    opted_out.marketing_sms_evidence = "STOP"
    session.add(
        ConsentEvent(
            company_id=company.id,
            customer_id=customers[4].id,
            contact_method_id=opted_out.id,
            subject=opted_out.value,
            field="marketing_sms_status",
            old_value="none",
            new_value="opted_out",
            source="keyword",
            wording="STOP",
        )
    )
    notes.append(f"{opted_out.value} (customer {customers[4].id}) texted STOP")
    suppressed = _first_email(session, customers[5])
    session.add(
        Suppression(
            company_id=company.id,
            email=suppressed.value,
            reason="bounce",
            detail="550 mailbox unavailable",
        )
    )
    notes.append(f"{suppressed.value} is on the suppression list (hard bounce)")

    appointments = _schedule(session, company, customers, techs, today, rng)
    session.flush()
    return DemoResult(
        company_id=company.id,
        company_code=company.company_code,
        api_key=raw_key,
        customers=len(customers),
        appointments=appointments,
        technicians=[t.name for t in techs],
        notes=notes,
        logins=[
            {"email": u.email, "role": u.role, "password": DEMO_PASSWORD}
            for u in session.scalars(
                select(User).where(User.company_id == company.id).order_by(User.id)
            )
        ],
    )


def _user(
    session: Session,
    company: Company,
    name: str,
    email: str,
    role: str,
    phone: str | None = None,
    certs: list[str] | None = None,
) -> User:
    user = User(
        company_id=company.id,
        name=name,
        email=email,
        role=role,
        phone=phone,
        certifications=certs or [],
        password_hash=_demo_hash(),
        photo_url=f"https://acme-heating.example/team/{email.split('@')[0]}.jpg",
    )
    session.add(user)
    session.flush()
    return user


@cache
def _demo_hash() -> str:
    from fieldlink.office.passwords import hash_password

    return hash_password(DEMO_PASSWORD)


def _contacts(
    session: Session,
    company: Company,
    customer: Customer,
    loc: Location,
    i: int,
    rng: random.Random,
) -> None:
    first = customer.name.split()[0].lower().replace("í", "i")
    last = customer.name.split()[-1].lower().replace("í", "i")
    slug = f"{first}.{last}{i}"
    roles = ["owner"] if customer.type == "residential" else ["scheduling", "financial", "site"]
    if customer.type == "residential" and i % 3 == 0:
        roles.append("financial")  # the same person again, holding a second role
    for n, role in enumerate(roles):
        person = (
            customer.name
            if customer.type == "residential"
            else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        )
        contact = Contact(
            company_id=company.id,
            customer_id=customer.id,
            location_id=loc.id,
            name=person,
            role=role,
            primary=n == 0,
        )
        session.add(contact)
        session.flush()
        email = (
            f"{slug}.{role}@example.com" if customer.type == "commercial" else f"{slug}@example.com"
        )
        session.add(
            ContactMethod(
                company_id=company.id,
                customer_id=customer.id,
                contact_id=contact.id,
                kind="email",
                value=email,
                marketing_updates=True,
                job_notifications=True,
            )
        )
        if n == 0 or role == "site":
            phone = f"+1919555{2000 + i * 10 + n:04d}"
            session.add(
                ContactMethod(
                    company_id=company.id,
                    customer_id=customer.id,
                    contact_id=contact.id,
                    kind="phone",
                    value=phone,
                    phone_type="landline" if i % 11 == 10 else "mobile",
                    marketing_updates=True,
                    job_notifications=True,
                    marketing_sms_status="opted_in" if i % 5 == 0 else "none",
                    marketing_sms_source="web_form" if i % 5 == 0 else None,
                )
            )


def _first_mobile(session: Session, customer: Customer) -> ContactMethod:
    from sqlalchemy import select

    found = session.scalar(
        select(ContactMethod)
        .where(
            ContactMethod.customer_id == customer.id,
            ContactMethod.kind == "phone",
            ContactMethod.phone_type == "mobile",
        )
        .order_by(ContactMethod.id)
    )
    assert found is not None
    return found


def _first_email(session: Session, customer: Customer) -> ContactMethod:
    from sqlalchemy import select

    found = session.scalar(
        select(ContactMethod)
        .where(ContactMethod.customer_id == customer.id, ContactMethod.kind == "email")
        .order_by(ContactMethod.id)
    )
    assert found is not None
    return found


def _schedule(
    session: Session,
    company: Company,
    customers: list[Customer],
    techs: list[User],
    today: date,
    rng: random.Random,
) -> int:
    from sqlalchemy import select

    zone = ZoneInfo(TZ)
    slots = [
        (time(8), time(10), "am"),
        (time(10), time(12), "am"),
        (time(13), time(15), "pm"),
        (time(15), time(17), "pm"),
    ]
    count = 0
    for day_offset in (0, 1):
        day = today + timedelta(days=day_offset)
        for n, tech in enumerate(techs):
            for s, (start, end, kind) in enumerate(slots):
                customer = customers[(day_offset * 12 + n * 4 + s + 3) % len(customers)]
                loc_id = session.scalar(
                    select(Location.id).where(Location.customer_id == customer.id)
                )
                job = Job(
                    company_id=company.id,
                    customer_id=customer.id,
                    location_id=loc_id,
                    job_type=rng.choice(JOB_TYPES),
                    status="scheduled",
                    po_number=f"PO-{4000 + count}" if customer.type == "commercial" else None,
                    custom_fields={"gate_code": "1234"} if s == 0 else {},
                )
                session.add(job)
                session.flush()
                appt = Appointment(
                    company_id=company.id,
                    job_id=job.id,
                    window_start=datetime.combine(day, start, zone).astimezone(UTC),
                    window_end=datetime.combine(day, end, zone).astimezone(UTC),
                    schedule_type=kind,
                    status="scheduled",
                )
                session.add(appt)
                session.flush()
                session.add(
                    AppointmentTechnician(
                        appointment_id=appt.id, user_id=tech.id, company_id=company.id
                    )
                )
                if day_offset == 0 and n == 0 and s == 1:
                    # Two technicians on one job: "Traveling" from both must send one notice.
                    session.add(
                        AppointmentTechnician(
                            appointment_id=appt.id, user_id=techs[1].id, company_id=company.id
                        )
                    )
                count += 1
    # A finished job from last week with an open invoice, for the payment story.
    past = Job(
        company_id=company.id,
        customer_id=customers[6].id,
        job_type="Furnace Repair",
        status="completed",
        completed_at=datetime.now(UTC) - timedelta(days=6),
    )
    session.add(past)
    session.flush()
    session.add(
        Invoice(
            company_id=company.id,
            customer_id=customers[6].id,
            job_id=past.id,
            number="INV-1001",
            status="sent",
            total=Decimal("289.00"),
            balance=Decimal("289.00"),
            lines=[{"description": "Igniter replacement", "quantity": "1", "unit_price": "289.00"}],
        )
    )
    return count


def run_demo(*, host: str, port: int, database: str, serve: bool, as_json: bool) -> None:
    """Recreate the demo database, seed it, print how to use it, then serve."""
    from fieldlink.migrate import upgrade

    url = make_url(database)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(url.database + suffix).unlink(missing_ok=True)
    engine = make_engine(database)
    upgrade(engine)
    base = f"http://{host}:{port}"
    settings = Settings(database_url=database, base_url=base)
    links = LinkMaker(base_url=base, secret=settings.secret_key.get_secret_value())
    with session_scope(make_sessionmaker(engine)) as session:
        result = seed_demo(session)
        company = session.get(Company, result.company_id)
        assert company is not None
        result.notes += play_service_day(session, company=company, links=links, now=utcnow())
        portal_login = add_demo_login(session, company=company, base_url=base)
    info: dict[str, Any] = {
        "database": database,
        "api": f"{base}/v1",
        "docs": f"{base}/docs",
        "api_key": result.api_key,
        "company_code": result.company_code,
        "customers": result.customers,
        "appointments": result.appointments,
        "technicians": result.technicians,
        "stories": result.notes,
        "try": f"curl -H 'Authorization: Bearer {result.api_key}' {base}/v1/company",
        "message_log": f"{base}/v1/messages?status=suppressed",
        "office": f"{base}/office/login",
        "office_logins": result.logins,
        "portal": portal_login,
    }
    if as_json:
        print(json.dumps(info), flush=True)
    else:
        print(_banner(info), flush=True)
    engine.dispose()
    if serve:
        _serve(database, host, port)


def _banner(info: dict[str, Any]) -> str:
    lines = [
        "fieldlink demo: Acme Heating & Air is ready",
        f"  database      {info['database']} (recreated on every run)",
        f"  API           {info['api']}",
        f"  API docs      {info['docs']}",
        f"  API key       {info['api_key']}",
        f"  company code  {info['company_code']}",
        f"  seeded        {info['customers']} customers, {info['appointments']} appointments"
        f" today and tomorrow, technicians {', '.join(info['technicians'])}",
        "  stories:",
        *[f"    - {s}" for s in info["stories"]],
        f"  try:          {info['try']}",
        f"  why not sent: {info['message_log']}  (same header; the worker in this process",
        "                delivers the rest to the log sink: watch below)",
        f"  office        {info['office']}  (password {DEMO_PASSWORD} for every user)",
        *[f"    {u['role']:<11} {u['email']}" for u in info["office_logins"]],
        *(
            [
                f"  portal        {info['portal']['url']}  login {info['portal']['login_id']}"
                f" / {info['portal']['password']} ({info['portal']['customer']})"
            ]
            if info.get("portal")
            else []
        ),
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def _serve(database: str, host: str, port: int) -> None:
    """Server and worker in one process: the embedded set-up of DESIGN.md principle 5."""
    import threading

    import uvicorn

    from fieldlink.app import create_app
    from fieldlink.handlers import load_handlers
    from fieldlink.outbox.worker import Worker

    settings = Settings(database_url=database, base_url=f"http://{host}:{port}")
    load_handlers()
    worker = Worker(make_sessionmaker(make_engine(database)), name="demo-worker")
    thread = threading.Thread(target=worker.run, name="demo-worker", daemon=True)
    thread.start()
    try:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
    finally:
        worker.stop()
        thread.join(timeout=10)
