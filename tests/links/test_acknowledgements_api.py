"""GET /v1/jobs/{id}/acknowledgements: the signed records, for the company's own jobs only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.factories.links import make_visit
from tests.links.helpers import form_of, url
from tests.links.test_service_link import PNG_URL


def test_the_signed_acknowledgement_is_readable_through_the_api(
    session: Session, client: TestClient, api: TestClient, tenant: Tenant
) -> None:
    visit = make_visit(session, tenant.company_id)
    assert api.get(f"/v1/jobs/{visit.job.id}/acknowledgements").json()["items"] == []
    link = url("s", visit.company.id, visit.job.id)
    data = form_of(client.get(link).text, "summary_sha256", "shown_lang")
    client.post(
        link,
        data={**data, "name": "Pat Doe", "method": "drawn", "signature": PNG_URL, "agree": "yes"},
    )
    body = api.get(f"/v1/jobs/{visit.job.id}/acknowledgements").json()
    [item] = body["items"]
    assert body["next_cursor"] is None
    assert item["job_id"] == visit.job.id and item["signer_name"] == "Pat Doe"
    assert item["signature_method"] == "drawn" and item["signature_png"] == PNG_URL
    assert item["summary_sha256"] == data["summary_sha256"]
    assert "Replaced the igniter" in item["summary_text"]
    assert item["ip"] == "testclient" and item["signed_at"].endswith(("+00:00", "Z"))


def test_another_companys_job_answers_404(
    session: Session, api: TestClient, rival_api: TestClient, tenant: Tenant
) -> None:
    visit = make_visit(session, tenant.company_id)
    response = rival_api.get(f"/v1/jobs/{visit.job.id}/acknowledgements")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert api.get("/v1/jobs/999999/acknowledgements").status_code == 404


def test_the_api_needs_a_key(client: TestClient) -> None:
    assert client.get("/v1/jobs/1/acknowledgements").status_code == 401
