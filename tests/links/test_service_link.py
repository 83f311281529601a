"""The service link /s/{token}: visit summary and the signed work acknowledgement."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.links.models import WorkAcknowledgement
from fieldlink.links.summary import text_hash
from fieldlink.messaging.models import Message
from tests.conftest import Tenant
from tests.factories.links import Visit, make_visit
from tests.links.helpers import form_of, token, url

# A real 1x1 PNG, as a canvas would send (smaller).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


@pytest.fixture
def visit(session: Session, tenant: Tenant) -> Visit:
    return make_visit(session, tenant.company_id)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _acks(session: Session, visit: Visit) -> list[WorkAcknowledgement]:
    session.expire_all()
    return list(
        session.scalars(
            select(WorkAcknowledgement).where(WorkAcknowledgement.job_id == visit.job.id)
        )
    )


def _sign(client: TestClient, link: str, **fields: str) -> object:
    page = client.get(link)
    data = form_of(page.text, "summary_sha256", "shown_lang")
    data.update({"name": "Pat Doe", "method": "typed", "agree": "yes", **fields})
    return client.post(link, data=data, follow_redirects=False)


def test_the_service_link_shows_the_visit_technician_work_and_documents(
    client: TestClient, visit: Visit
) -> None:
    page = client.get(url("s", visit.company.id, visit.job.id))
    assert page.status_code == 200
    text = page.text
    assert "Furnace Repair" in text and "120 Oak St" in text
    assert "Tom Torres" in text and "NATE-certified" in text and "cdn.example/tom.jpg" in text
    assert "Replaced the igniter" in text
    assert visit.invoice.number in text and visit.estimate.number in text
    assert 'href="http://testserver/i/' in text and 'href="http://testserver/e/' in text
    assert visit.company.website is not None and visit.company.website in text
    assert '<script src="/static/links/signature.js"' in text


def test_a_company_that_shows_itself_only_hides_the_technician(
    session: Session, client: TestClient, visit: Visit
) -> None:
    visit.company.settings = {"technician_identity": "company_only"}
    session.commit()
    page = client.get(url("s", visit.company.id, visit.job.id))
    assert page.status_code == 200
    assert "Tom Torres" not in page.text and "tom.jpg" not in page.text


@pytest.mark.parametrize("kind", ["s", "e", "i"])
def test_tampered_expired_wrong_kind_and_other_company_tokens_get_a_friendly_404(
    client: TestClient, visit: Visit, other_tenant: Tenant, kind: str
) -> None:
    object_id = {"s": visit.job.id, "e": visit.estimate.id, "i": visit.invoice.id}[kind]
    good = token(kind, visit.company.id, object_id)
    body, _, mac = good.partition(".")
    bad = [
        f"{body}.{mac[:-2]}xx",  # tampered signature
        f"{_b64(f'{kind}:{visit.company.id}:{object_id + 1}:9999999999')}.{mac}",  # moved
        token(kind, visit.company.id, object_id, age=timedelta(days=61)),  # expired
        token("s" if kind != "s" else "e", visit.company.id, object_id),  # another kind
        token(kind, other_tenant.company_id, object_id),  # another company's claim
        token(kind, visit.company.id, 2**31 + 5),  # out of range id
        "garbage",
    ]
    for t in bad:
        response = client.get(f"/{kind}/{t}")
        assert response.status_code == 404, t
        assert "Link not found" in response.text
        assert "Pat Doe" not in response.text and visit.invoice.number not in response.text
        assert "Traceback" not in response.text


def test_signing_with_a_typed_name_stores_the_record_and_shows_it(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    response = _sign(client, link, name="  Pat   Doe ")
    assert response.status_code == 303  # type: ignore[attr-defined]
    [ack] = _acks(session, visit)
    assert ack.signer_name == "Pat Doe" and ack.signature_method == "typed"
    assert ack.signature_png is None
    assert "Replaced the igniter" in ack.summary_text and "Pat Doe" in ack.summary_text
    assert ack.summary_sha256 == text_hash(ack.summary_text)
    assert (ack.ip, ack.user_agent) == ("testclient", "testclient")
    shown = client.get(link + "?signed=1")
    assert "Thank you! Your signature was recorded" in shown.text
    assert "Signed by Pat Doe" in shown.text and ack.summary_sha256 in shown.text
    assert 'id="sign-form"' not in shown.text


def test_a_drawn_signature_is_kept_as_png(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    assert _sign(client, link, method="drawn", signature=PNG_URL).status_code == 303  # type: ignore[attr-defined]
    [ack] = _acks(session, visit)
    assert ack.signature_method == "drawn" and ack.signature_png == PNG
    assert PNG_URL in client.get(link).text  # shown back as an image


def test_signing_twice_keeps_the_first_record_unchanged(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    page = client.get(link)
    data = form_of(page.text, "summary_sha256", "shown_lang")
    first = {**data, "name": "Pat Doe", "method": "typed", "agree": "yes"}
    assert client.post(link, data=first, follow_redirects=False).status_code == 303
    [ack] = _acks(session, visit)
    signed_at = ack.signed_at
    # The same form again (a double click) and another name from another tab.
    second = {**data, "name": "Someone Else", "method": "typed", "agree": "yes"}
    assert client.post(link, data=second, follow_redirects=False).status_code == 303
    [again] = _acks(session, visit)
    assert (again.id, again.signer_name, again.signed_at) == (ack.id, "Pat Doe", signed_at)
    thanks = session.scalars(
        select(Message).where(
            Message.touchpoint == "work_acknowledgement", Message.status == "queued"
        )
    ).all()
    assert len(thanks) == 1 and thanks[0].to == visit.email.value


@pytest.mark.parametrize(
    ("fields", "field_error"),
    [
        ({"name": "  "}, "Please type your full name."),
        ({"agree": ""}, "Please confirm that the work was carried out."),
        ({"method": "drawn", "signature": ""}, "Please sign in the box"),
        (
            {"method": "drawn", "signature": "data:image/png;base64,bm90IGEgcG5n"},
            "could not be read",
        ),
        ({"method": "drawn", "signature": "data:image/png;base64,@@@"}, "could not be read"),
        ({"method": "smoke"}, "Please choose how you want to sign."),
        ({"name": "x" * 201}, "Please shorten your name"),
    ],
)
def test_a_bad_signing_form_is_shown_again_with_the_reason_and_stores_nothing(
    session: Session, client: TestClient, visit: Visit, fields: dict[str, str], field_error: str
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    response = _sign(client, link, **fields)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert field_error in response.text  # type: ignore[attr-defined]
    assert _acks(session, visit) == []


def test_a_summary_changed_after_opening_must_be_read_again(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    page = client.get(link)
    data = form_of(page.text, "summary_sha256", "shown_lang")
    visit.job.description = "Replaced the whole furnace."
    session.commit()
    response = client.post(
        link, data={**data, "name": "Pat Doe", "method": "typed", "agree": "yes"}
    )
    assert response.status_code == 409
    assert "changed since you opened" in response.text and "whole furnace" in response.text
    assert _acks(session, visit) == []


def test_signing_without_the_csrf_token_is_refused(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    client.get(link)
    response = client.post(link, data={"name": "Pat Doe", "method": "typed", "agree": "yes"})
    assert response.status_code == 403
    assert _acks(session, visit) == []


def test_the_service_link_in_spanish_signs_the_spanish_text(
    session: Session, client: TestClient, visit: Visit
) -> None:
    link = url("s", visit.company.id, visit.job.id)
    page = client.get(link + "?lang=es")
    assert "Resumen de su visita" in page.text
    data = form_of(page.text, "summary_sha256", "shown_lang")
    assert data["shown_lang"] == "es"
    client.post(link, data={**data, "name": "Ana Pérez", "method": "typed", "agree": "yes"})
    [ack] = _acks(session, visit)
    assert ack.language == "es" and "Trabajo realizado" in ack.summary_text
