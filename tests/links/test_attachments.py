"""Photos and documents of a visit, added through the API and shown on the service link."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import Tenant
from tests.factories.links import Visit, make_visit
from tests.links.helpers import url

PHOTO = "https://files.acme.example/jobs/1/furnace-after.jpg"
REPORT = "https://files.acme.example/jobs/1/combustion-report.pdf"


@pytest.fixture
def visit(session: Session, tenant: Tenant) -> Visit:
    return make_visit(session, tenant.company_id)


def test_photos_and_documents_show_on_the_service_link(
    client: TestClient, api: TestClient, visit: Visit
) -> None:
    path = f"/v1/jobs/{visit.job.id}/attachments"
    photo = api.post(path, json={"kind": "photo", "title": "Furnace after repair", "url": PHOTO})
    assert photo.status_code == 201, photo.text
    api.post(path, json={"kind": "document", "title": "Combustion report", "url": REPORT})
    assert [a["title"] for a in api.get(path).json()["items"]] == [
        "Furnace after repair",
        "Combustion report",
    ]
    page = client.get(url("s", visit.company.id, visit.job.id)).text
    assert f'src="{PHOTO}" alt="Furnace after repair"' in page
    assert f'href="{REPORT}"' in page and "Combustion report" in page
    deleted = api.delete(f"{path}/{photo.json()['id']}")
    assert deleted.status_code == 204
    assert PHOTO not in client.get(url("s", visit.company.id, visit.job.id)).text


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "photo", "title": "x", "url": "http://files.example/x.jpg"},
        {"kind": "photo", "title": "x", "url": "javascript:alert(1)"},
        {"kind": "video", "title": "x", "url": PHOTO},
        {"kind": "photo", "title": "", "url": PHOTO},
    ],
)
def test_bad_attachments_are_refused(api: TestClient, visit: Visit, body: dict[str, str]) -> None:
    response = api.post(f"/v1/jobs/{visit.job.id}/attachments", json=body)
    assert response.status_code == 422


def test_another_companys_job_and_attachments_answer_404(
    api: TestClient, rival_api: TestClient, visit: Visit
) -> None:
    path = f"/v1/jobs/{visit.job.id}/attachments"
    made = api.post(path, json={"kind": "photo", "title": "t", "url": PHOTO}).json()
    assert rival_api.get(path).status_code == 404
    assert (
        rival_api.post(path, json={"kind": "photo", "title": "t", "url": PHOTO}).status_code == 404
    )
    assert rival_api.delete(f"{path}/{made['id']}").status_code == 404
    assert len(api.get(path).json()["items"]) == 1
