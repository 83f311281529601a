"""Uploads: type decided by content, size limited, stored outside the web root by a random
key, served only to the customer who owns them."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldlink.portal.models import PortalUpload
from tests.conftest import Tenant
from tests.portal.helpers import Seed, csrf_of, logged_in, seed, set_portal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
PDF = b"%PDF-1.7\n" + b"x" * 200


@pytest.fixture
def upload_dir(client: TestClient, tmp_path: Path) -> Path:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(  # type: ignore[attr-defined]
        update={"upload_dir": str(tmp_path / "uploads"), "upload_max_bytes": 1024 * 1024}
    )
    return tmp_path / "uploads"


@pytest.fixture
def s(session: Session, tenant: Tenant) -> Seed:
    result = seed(session, tenant.company_id)
    set_portal(session, result.company, allow_uploads=True)
    session.commit()
    return result


def _upload(web: TestClient, s: Seed, name: str, data: bytes, mime: str, **fields: str) -> object:
    token = csrf_of(web.get(f"/portal/{s.code}/uploads").text)
    return web.post(
        f"/portal/{s.code}/uploads",
        data={"csrf_token": token, **fields},
        files={"file": (name, data, mime)},
        follow_redirects=False,
    )


def test_upload_a_photo_and_get_it_back(
    client: TestClient, session: Session, s: Seed, upload_dir: Path
) -> None:
    web = logged_in(client, s)
    response = _upload(web, s, "../../etc/furnace.png", PNG, "image/png", note="Model plate")
    assert response.status_code == 303  # type: ignore[attr-defined]
    row = session.scalar(select(PortalUpload))
    assert row is not None
    assert row.filename == "furnace.png" and row.content_type == "image/png"
    assert row.size == len(PNG) and row.customer_id == s.customer.id
    stored = upload_dir / str(s.company.id) / row.storage_key
    assert stored.read_bytes() == PNG
    assert "furnace" not in row.storage_key  # never a name the customer chose
    page = web.get(f"/portal/{s.code}/uploads")
    assert "furnace.png" in page.text and "Model plate" in page.text
    download = web.get(f"/portal/{s.code}/uploads/{row.id}")
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["x-content-type-options"] == "nosniff"
    listed = web.get(f"/portal/{s.code}/api/uploads").json()["items"]
    assert [i["filename"] for i in listed] == ["furnace.png"]


def test_a_pdf_is_served_as_an_attachment(
    client: TestClient, session: Session, s: Seed, upload_dir: Path
) -> None:
    web = logged_in(client, s)
    _upload(web, s, "warranty.pdf", PDF, "application/pdf")
    row = session.scalar(select(PortalUpload))
    assert row is not None
    download = web.get(f"/portal/{s.code}/uploads/{row.id}")
    assert download.headers["content-disposition"].startswith("attachment")


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("evil.html", b"<script>alert(1)</script>", "image/png"),  # lies about its type
        ("run.exe", b"MZ\x90\x00" + b"\x00" * 100, "application/octet-stream"),
        ("empty.png", b"", "image/png"),
    ],
)
def test_other_types_are_refused_and_nothing_is_kept(
    client: TestClient,
    session: Session,
    s: Seed,
    upload_dir: Path,
    name: str,
    data: bytes,
    mime: str,
) -> None:
    web = logged_in(client, s)
    response = _upload(web, s, name, data, mime)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert session.scalar(select(PortalUpload)) is None
    assert not any(upload_dir.rglob("*")) or not any(p.is_file() for p in upload_dir.rglob("*"))


def test_a_file_over_the_limit_is_refused(
    client: TestClient, session: Session, s: Seed, upload_dir: Path
) -> None:
    web = logged_in(client, s)
    big = PNG + b"\x00" * (2 * 1024 * 1024)
    response = _upload(web, s, "big.png", big, "image/png")
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "too large" in response.text  # type: ignore[attr-defined]
    assert session.scalar(select(PortalUpload)) is None


def test_a_file_just_over_the_limit_is_caught_while_copying(
    client: TestClient, session: Session, s: Seed, upload_dir: Path
) -> None:
    web = logged_in(client, s)
    response = _upload(web, s, "edge.png", PNG + b"\x00" * (1024 * 1024), "image/png")
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert session.scalar(select(PortalUpload)) is None
    assert not any(p.is_file() for p in upload_dir.rglob("*"))


def test_uploads_are_served_only_to_their_owner(
    client: TestClient, session: Session, s: Seed, upload_dir: Path, other_tenant: Tenant
) -> None:
    web = logged_in(client, s)
    _upload(web, s, "mine.png", PNG, "image/png")
    row = session.scalar(select(PortalUpload))
    assert row is not None
    neighbour = seed(session, s.company.id, prefix="n-")
    other = TestClient(client.app)
    logged_in(other, neighbour)
    assert other.get(f"/portal/{s.code}/uploads/{row.id}").status_code == 404
    anonymous = TestClient(client.app)
    response = anonymous.get(f"/portal/{s.code}/uploads/{row.id}", follow_redirects=False)
    assert response.status_code == 303
    assert client.get(f"/static/../{upload_dir.name}/{row.storage_key}").status_code == 404


def test_uploads_switched_off_refuse_posts_and_downloads(
    client: TestClient, session: Session, s: Seed, upload_dir: Path
) -> None:
    web = logged_in(client, s)
    _upload(web, s, "mine.png", PNG, "image/png")
    row = session.scalar(select(PortalUpload))
    assert row is not None
    token = csrf_of(web.get(f"/portal/{s.code}/dashboard").text)
    set_portal(session, s.company, allow_uploads=False)
    session.commit()
    assert web.get(f"/portal/{s.code}/uploads/{row.id}").status_code == 404
    response = web.post(
        f"/portal/{s.code}/uploads",
        data={"csrf_token": token},
        files={"file": ("x.png", PNG, "image/png")},
    )
    assert response.status_code == 404


def test_the_office_lists_and_downloads_uploads_of_its_own_customers(
    client: TestClient,
    session: Session,
    s: Seed,
    upload_dir: Path,
    api: TestClient,
    rival_api: TestClient,
) -> None:
    web = logged_in(client, s)
    _upload(web, s, "plate.png", PNG, "image/png", job_id=str(s.old_job.id))
    listed = api.get("/v1/portal-uploads", params={"customer_id": s.customer.id}).json()
    [item] = listed["items"]
    assert item["filename"] == "plate.png" and item["job_id"] == s.old_job.id
    assert "storage_key" not in item
    file = api.get(f"/v1/portal-uploads/{item['id']}/file")
    assert file.status_code == 200 and file.content == PNG
    assert file.headers["content-disposition"].startswith("attachment")
    assert rival_api.get("/v1/portal-uploads").json()["items"] == []
    assert rival_api.get(f"/v1/portal-uploads/{item['id']}/file").status_code == 404
