"""REST routes: /v1/company and /v1/users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from fieldlink.accounts import service
from fieldlink.accounts.models import User
from fieldlink.accounts.schemas import (
    Brand,
    CompanyOut,
    CompanyPatch,
    CompanySettings,
    Role,
    Sender,
    UserIn,
    UserOut,
    UserPatch,
)
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params, paginate

router = APIRouter(prefix="/v1", tags=["company"])


def company_out(company: Any) -> CompanyOut:
    return CompanyOut(
        id=company.id,
        name=company.name,
        company_code=company.company_code,
        brand=Brand(
            logo_url=company.logo_url,
            website=company.website,
            color=company.brand_color,
            remit_to=company.remit_to,
        ),
        business_phone=company.business_phone,
        sender=Sender(email=company.sender_email, name=company.sender_name),
        postal_address=company.postal_address,
        sms_number=company.sms_number,
        sms_area_code=company.sms_area_code,
        sms_registration=company.sms_registration,
        point_of_contact_user_id=company.point_of_contact_user_id,
        country=company.country,
        time_zone=company.time_zone,
        settings=service.settings_of(company),
        created_at=company.created_at,
    )


@router.get("/company", response_model=CompanyOut)
def get_company(tenant: CurrentTenant) -> CompanyOut:
    return company_out(tenant.company)


@router.patch("/company", response_model=CompanyOut)
def patch_company(body: CompanyPatch, tenant: CurrentTenant, session: DbSession) -> CompanyOut:
    company = service.update_company(session, company=tenant.company, patch=body)
    return company_out(company)


@router.post("/users", response_model=UserOut, status_code=201, tags=["users"])
def create_user(body: UserIn, tenant: CurrentTenant, session: DbSession) -> User:
    return service.create_user(session, company_id=tenant.company_id, data=body)


@router.get("/users", tags=["users"])
def list_users(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    role: Role | None = Query(None),
) -> dict[str, Any]:
    stmt = select(User).where(User.company_id == tenant.company_id)
    if role:
        stmt = stmt.where(User.role == role)
    return paginate(session, stmt, User.id, page, lambda u: UserOut.model_validate(u))


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"])
def get_user(user_id: int, tenant: CurrentTenant, session: DbSession) -> User:
    return service.get_user(session, company_id=tenant.company_id, user_id=user_id)


@router.patch("/users/{user_id}", response_model=UserOut, tags=["users"])
def patch_user(user_id: int, body: UserPatch, tenant: CurrentTenant, session: DbSession) -> User:
    user = service.get_user(session, company_id=tenant.company_id, user_id=user_id)
    return service.update_user(session, user=user, patch=body)


__all__ = ["CompanySettings", "router"]
