"""REST routes: /v1/customers, /v1/locations, /v1/contacts and /v1/contact-methods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fieldlink.customers import methods as method_service
from fieldlink.customers import queries, service
from fieldlink.customers.models import Contact, ContactMethod, Location
from fieldlink.customers.schemas import (
    MAX_ID,
    ContactIn,
    ContactOut,
    ContactPatch,
    CustomerDetail,
    CustomerIn,
    CustomerOut,
    CustomerPatch,
    CustomerType,
    LocationIn,
    LocationOut,
    LocationPatch,
    MethodIn,
    MethodOut,
    MethodPatch,
)
from fieldlink.db import get_scoped, utcnow
from fieldlink.errors import ValidationFailed
from fieldlink.web.deps import CurrentTenant, DbSession
from fieldlink.web.pagination import Page, page_params

router = APIRouter(prefix="/v1", tags=["customers"])


def office_actor(request: Request, tenant: CurrentTenant) -> str:
    """Who the consent history names for a change made through the office API.

    The key's first 12 characters are its stored, displayable prefix, never the secret.
    """
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    return f"api key {token[:12]}"


Actor = Annotated[str, Depends(office_actor)]
# A path id beyond the 32-bit column range is a 422, not a database overflow.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


# -- customers ---------------------------------------------------------------------------


@router.post("/customers", response_model=CustomerDetail, status_code=201)
def create_customer(
    body: CustomerIn, tenant: CurrentTenant, session: DbSession, actor: Actor
) -> CustomerDetail:
    customer = service.create_customer(
        session, company=tenant.company, data=body, actor=actor, now=utcnow()
    )
    return queries.customer_detail(session, customer)


@router.get("/customers")
def list_customers(
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
    q: str | None = Query(None, max_length=200, description="Name or email/phone contains"),
    type: CustomerType | None = Query(None),
    tag: str | None = Query(None, max_length=100),
    city: str | None = Query(None, max_length=100),
    postcode: str | None = Query(None, max_length=20),
) -> dict[str, Any]:
    filters = {"q": q, "tag": tag, "city": city, "postcode": postcode}
    for name, value in filters.items():
        if value is not None and "\x00" in value:
            raise ValidationFailed(name, "must not contain NUL characters")
    return queries.list_customers(
        session,
        company_id=tenant.company_id,
        page=page,
        q=q,
        type=type,
        tag=tag,
        city=city,
        postcode=postcode,
        region=tenant.company.country,
    )


@router.get("/customers/{customer_id}", response_model=CustomerDetail)
def get_customer(customer_id: PathId, tenant: CurrentTenant, session: DbSession) -> CustomerDetail:
    customer = service.get_customer(session, company_id=tenant.company_id, customer_id=customer_id)
    return queries.customer_detail(session, customer)


@router.patch("/customers/{customer_id}", response_model=CustomerOut)
def patch_customer(
    customer_id: PathId,
    body: CustomerPatch,
    tenant: CurrentTenant,
    session: DbSession,
    actor: Actor,
) -> CustomerOut:
    customer = service.get_customer(session, company_id=tenant.company_id, customer_id=customer_id)
    service.update_customer(session, customer=customer, patch=body, actor=actor, now=utcnow())
    return queries.customer_out(session, customer)


# -- locations ---------------------------------------------------------------------------


@router.post("/customers/{customer_id}/locations", response_model=LocationOut, status_code=201)
def create_location(
    customer_id: PathId, body: LocationIn, tenant: CurrentTenant, session: DbSession
) -> Location:
    customer = service.get_customer(session, company_id=tenant.company_id, customer_id=customer_id)
    return service.create_location(session, company=tenant.company, customer=customer, data=body)


@router.get("/customers/{customer_id}/locations")
def list_locations(
    customer_id: PathId,
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    service.get_customer(session, company_id=tenant.company_id, customer_id=customer_id)
    return queries.list_locations(session, customer_id=customer_id, page=page)


@router.get("/locations/{location_id}", response_model=LocationOut)
def get_location(location_id: PathId, tenant: CurrentTenant, session: DbSession) -> Location:
    location: Location = get_scoped(session, Location, location_id, tenant.company_id, "location")
    return location


@router.patch("/locations/{location_id}", response_model=LocationOut)
def patch_location(
    location_id: PathId, body: LocationPatch, tenant: CurrentTenant, session: DbSession
) -> Location:
    location = get_scoped(session, Location, location_id, tenant.company_id, "location")
    return service.update_location(session, location=location, patch=body)


# -- contacts ----------------------------------------------------------------------------


@router.post("/customers/{customer_id}/contacts", response_model=ContactOut, status_code=201)
def create_contact(
    customer_id: PathId, body: ContactIn, tenant: CurrentTenant, session: DbSession, actor: Actor
) -> ContactOut:
    customer = service.get_customer(session, company_id=tenant.company_id, customer_id=customer_id)
    contact = service.create_contact(
        session,
        company=tenant.company,
        customer=customer,
        data=body,
        with_new_customer=False,
        actor=actor,
        now=utcnow(),
    )
    return queries.contact_out(session, contact)


@router.get("/customers/{customer_id}/contacts")
def list_contacts(
    customer_id: PathId,
    tenant: CurrentTenant,
    session: DbSession,
    page: Page = Depends(page_params),
) -> dict[str, Any]:
    service.get_customer(session, company_id=tenant.company_id, customer_id=customer_id)
    return queries.list_contacts(session, customer_id=customer_id, page=page)


@router.get("/contacts/{contact_id}", response_model=ContactOut)
def get_contact(contact_id: PathId, tenant: CurrentTenant, session: DbSession) -> ContactOut:
    contact = get_scoped(session, Contact, contact_id, tenant.company_id, "contact")
    return queries.contact_out(session, contact)


@router.patch("/contacts/{contact_id}", response_model=ContactOut)
def patch_contact(
    contact_id: PathId, body: ContactPatch, tenant: CurrentTenant, session: DbSession
) -> ContactOut:
    contact = get_scoped(session, Contact, contact_id, tenant.company_id, "contact")
    service.update_contact(session, contact=contact, patch=body)
    return queries.contact_out(session, contact)


@router.delete("/contacts/{contact_id}", status_code=204)
def delete_contact(contact_id: PathId, tenant: CurrentTenant, session: DbSession) -> Response:
    contact = get_scoped(session, Contact, contact_id, tenant.company_id, "contact")
    service.delete_contact(session, contact=contact, now=utcnow())
    return Response(status_code=204)


# -- contact methods ---------------------------------------------------------------------


@router.post("/contacts/{contact_id}/methods", response_model=MethodOut, status_code=201)
def create_method(
    contact_id: PathId, body: MethodIn, tenant: CurrentTenant, session: DbSession, actor: Actor
) -> ContactMethod:
    contact = get_scoped(session, Contact, contact_id, tenant.company_id, "contact")
    return method_service.add_method(
        session,
        contact=contact,
        data=body,
        region=tenant.company.country,
        with_new_customer=False,
        actor=actor,
        now=utcnow(),
    )


@router.get("/contact-methods/{method_id}", response_model=MethodOut)
def get_method(method_id: PathId, tenant: CurrentTenant, session: DbSession) -> ContactMethod:
    method: ContactMethod = get_scoped(
        session, ContactMethod, method_id, tenant.company_id, "contact method"
    )
    return method


@router.patch("/contact-methods/{method_id}", response_model=MethodOut)
def patch_method(
    method_id: PathId, body: MethodPatch, tenant: CurrentTenant, session: DbSession, actor: Actor
) -> ContactMethod:
    method = get_scoped(session, ContactMethod, method_id, tenant.company_id, "contact method")
    return method_service.update_method(
        session,
        method=method,
        patch=body,
        region=tenant.company.country,
        actor=actor,
        now=utcnow(),
    )


@router.delete("/contact-methods/{method_id}", status_code=204)
def delete_method(method_id: PathId, tenant: CurrentTenant, session: DbSession) -> Response:
    method = get_scoped(session, ContactMethod, method_id, tenant.company_id, "contact method")
    method_service.delete_method(session, method=method, now=utcnow())
    return Response(status_code=204)
