"""REST routes for the office: ``/v1/portal-accounts`` (customer logins and requests)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from fieldlink.config import Settings
from fieldlink.customers.api import PathId
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import NotFound
from fieldlink.portal import accounts, uploads
from fieldlink.portal.models import PortalAccount, PortalServiceRequest, PortalUpload
from fieldlink.portal.schemas import (
    PortalAccountIn,
    PortalAccountOut,
    PortalAccountPatch,
    PortalServiceRequestOut,
    PortalUploadOut,
)
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params, paginate

router = APIRouter(prefix="/v1", tags=["portal"])


def account_out(account: PortalAccount) -> PortalAccountOut:
    now = utcnow()
    return PortalAccountOut.model_validate(
        {
            **{c: getattr(account, c) for c in PortalAccountOut.model_fields if c != "locked"},
            "locked": account.locked_until is not None and account.locked_until > now,
        }
    )


@router.get("/portal-accounts")
def list_portal_accounts(
    tenant: CurrentTenant,
    session: DbSession,
    status: Literal["requested", "active", "rejected", "disabled"] | None = None,
    customer_id: int | None = Query(None, ge=1, le=2**31 - 1),
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    """Logins of the company's customers; `status=requested` lists requests to approve."""

    stmt = select(PortalAccount).where(PortalAccount.company_id == tenant.company_id)
    if status is not None:
        stmt = stmt.where(PortalAccount.status == status)
    if customer_id is not None:
        stmt = stmt.where(PortalAccount.customer_id == customer_id)
    return paginate(session, stmt, PortalAccount.id, page, account_out)


@router.post("/portal-accounts", response_model=PortalAccountOut, status_code=201)
def create_portal_account(
    body: PortalAccountIn, tenant: CurrentTenant, session: DbSession
) -> PortalAccountOut:
    """Create a login for a customer. Give the customer the company code, the portal
    address (`/portal/{company_code}/`), the login id and the password."""
    account = accounts.create_login(
        session,
        company_id=tenant.company_id,
        customer_id=body.customer_id,
        login_id=body.login_id,
        password=body.password,
        language=body.language,
        now=utcnow(),
    )
    return account_out(account)


@router.get("/portal-accounts/{account_id}", response_model=PortalAccountOut)
def get_portal_account(
    account_id: PathId, tenant: CurrentTenant, session: DbSession
) -> PortalAccountOut:
    return account_out(
        accounts.get_account(session, company_id=tenant.company_id, account_id=account_id)
    )


@router.patch("/portal-accounts/{account_id}", response_model=PortalAccountOut)
def update_portal_account(
    account_id: PathId, body: PortalAccountPatch, tenant: CurrentTenant, session: DbSession
) -> PortalAccountOut:
    """Approve a request (`{"status": "active", "customer_id": …}`), reject or disable a
    login, reset its password or unlock it after failed logins."""
    account = accounts.get_account(session, company_id=tenant.company_id, account_id=account_id)
    accounts.update_login(
        session, account=account, changes=body.model_dump(exclude_unset=True), now=utcnow()
    )
    return account_out(account)


@router.get("/portal-uploads")
def list_portal_uploads(
    tenant: CurrentTenant,
    session: DbSession,
    customer_id: int | None = Query(None, ge=1, le=2**31 - 1),
    job_id: int | None = Query(None, ge=1, le=2**31 - 1),
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    """Files customers uploaded in the portal (photos, PDFs), oldest first."""
    stmt = select(PortalUpload).where(PortalUpload.company_id == tenant.company_id)
    if customer_id is not None:
        stmt = stmt.where(PortalUpload.customer_id == customer_id)
    if job_id is not None:
        stmt = stmt.where(PortalUpload.job_id == job_id)
    return paginate(session, stmt, PortalUpload.id, page, PortalUploadOut.model_validate)


@router.get("/portal-uploads/{upload_id}/file", response_class=FileResponse)
def portal_upload_file(
    upload_id: PathId, request: Request, tenant: CurrentTenant, session: DbSession
) -> FileResponse:
    """The uploaded file itself (as an attachment)."""
    upload: PortalUpload = get_scoped(
        session, PortalUpload, upload_id, tenant.company_id, "portal upload"
    )
    settings: Settings = request.app.state.settings
    path = uploads.storage_path(settings.upload_dir, upload.company_id, upload.storage_key)
    if not path.is_file():
        raise NotFound(f"portal upload {upload_id} has no file", code="portal_upload_not_found")
    return FileResponse(
        path,
        media_type=upload.content_type,
        filename=upload.filename,
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get("/portal-service-requests")
def list_portal_service_requests(
    tenant: CurrentTenant,
    session: DbSession,
    customer_id: int | None = Query(None, ge=1, le=2**31 - 1),
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    """Service requests customers made in the portal; each opened an unassigned job."""
    stmt = select(PortalServiceRequest).where(PortalServiceRequest.company_id == tenant.company_id)
    if customer_id is not None:
        stmt = stmt.where(PortalServiceRequest.customer_id == customer_id)
    return paginate(
        session, stmt, PortalServiceRequest.id, page, PortalServiceRequestOut.model_validate
    )
