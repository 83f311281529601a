"""Campaign test world: the ``acme`` tenant set up to send, fake transports, an
in-process worker over the test's transaction, and links signed like the app's."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import Company
from fieldlink.campaigns import handlers as campaign_handlers  # noqa: F401  (registers topics)
from fieldlink.campaigns.delivery import configure_links
from fieldlink.channels.registry import Channels, configure
from fieldlink.config import Settings
from fieldlink.links.tokens import LinkMaker
from fieldlink.messaging import handlers as messaging_handlers  # noqa: F401
from fieldlink.outbox.worker import Worker, WorkerConfig
from tests.conftest import Tenant
from tests.fakes.transports import FakeEmailTransport, FakeSmsTransport


@dataclass
class Shop:
    api: TestClient
    session: Session
    company: Company
    mail: FakeEmailTransport
    sms: FakeSmsTransport
    worker: Worker

    def run_worker(self) -> int:
        """Run every due job (campaign queueing, then deliveries) until none is left."""
        n = 0
        while taken := self.worker.run_once():
            n += taken
        self.session.expire_all()
        return n

    def campaign(self, **fields: Any) -> dict[str, Any]:
        body = {"name": "Spring tune-up", "channel": "email", **fields}
        body.setdefault("subject", "Spring tune-up special, {{ contact.first_name }}")
        body.setdefault("template", "Hi {{ contact.first_name }}, book your tune-up now.")
        r = self.api.post("/v1/campaigns", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture
def shop(
    api: TestClient,
    tenant: Tenant,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> Iterator[Shop]:
    company = session.get(Company, tenant.company_id)
    assert company is not None
    company.sender_email = "offers@acme.example"
    company.sender_name = "Acme Heating & Air"
    company.postal_address = "120 Oak St, Raleigh, NC 27601"
    company.sms_number = "+19195550199"
    company.sms_registration = "approved"
    session.commit()
    mail, sms = FakeEmailTransport(), FakeSmsTransport()
    configure(Channels(email=mail, sms=sms, base_url=settings.base_url))
    configure_links(LinkMaker(settings.base_url, settings.secret_key.get_secret_value()))
    worker = Worker(
        session_factory,
        name="t",
        rng=random.Random(3),
        config=WorkerConfig(backoff_base=0.0, backoff_cap=0.0, batch_size=50),
    )
    yield Shop(api, session, company, mail, sms, worker)
