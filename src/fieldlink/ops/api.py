"""REST routes: /v1/company/preflight, /v1/customers/{id}/export and /v1/customers/{id}/erase."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from fieldlink.config import Settings
from fieldlink.db import MAX_ID, utcnow
from fieldlink.ops import data_rights, preflight
from fieldlink.web.deps import CurrentTenant, DbSession

router = APIRouter(prefix="/v1", tags=["operations"])
CustomerId = Path(..., ge=1, le=MAX_ID)

# Installation findings a company may see (its messages depend on them); the others (the
# secret key, webhook secrets) are for the operator running `fieldlink doctor` only.
_TENANT_VISIBLE = frozenset(
    {
        "sms_provider_log",
        "sms_credentials_missing",
        "email_provider_log",
        "smtp_url_missing",
        "migrations_pending",
        "database_unavailable",
    }
)


class CheckOut(BaseModel):
    code: str
    severity: Literal["error", "warning"]
    message: str
    subject: str


class PreflightOut(BaseModel):
    ok: bool
    errors: int
    warnings: int
    checks: list[CheckOut]


class ErasureOut(BaseModel):
    customer_id: int
    contacts: int
    contact_methods_deleted: int
    locations: int
    messages_redacted: int
    conversations_deleted: int
    conversations_kept_for_opt_out: int
    consent_events_hashed: int
    payment_methods_deleted: int
    portal_logins_deleted: int
    uploads_deleted: int
    unthreaded_texts_deleted: int = 0


@router.get("/company/preflight", response_model=PreflightOut)
def get_preflight(request: Request, tenant: CurrentTenant, session: DbSession) -> PreflightOut:
    """What would keep this company's messages from going out (errors) or from being as
    good as they should (warnings): SMS number and registration, sender identity, postal
    address for marketing, template lint, provider set-up. `ok` is false on any error."""
    settings: Settings = request.app.state.settings
    checks = [
        c for c in preflight.check_installation(settings, session) if c.code in _TENANT_VISIBLE
    ] + preflight.check_company(session, tenant.company)
    return PreflightOut(
        ok=not preflight.has_errors(checks),
        errors=sum(c.severity == "error" for c in checks),
        warnings=sum(c.severity == "warning" for c in checks),
        checks=[
            CheckOut(code=c.code, severity=c.severity, message=c.message, subject=c.subject)
            for c in checks
        ],
    )


@router.get("/customers/{customer_id}/export")
def export_customer(
    tenant: CurrentTenant, session: DbSession, customer_id: int = CustomerId
) -> dict[str, Any]:
    """Everything held about the customer (right of access / portability), as JSON:
    `{exported_at, company_id, customer_id, data: {table: [rows]}}`."""
    return data_rights.export_customer(
        session, company_id=tenant.company_id, customer_id=customer_id, now=utcnow()
    )


@router.post("/customers/{customer_id}/erase", response_model=ErasureOut)
def erase_customer(
    request: Request, tenant: CurrentTenant, session: DbSession, customer_id: int = CustomerId
) -> ErasureOut:
    """Erase the customer's personal data (right to erasure). Consent evidence is kept with
    numbers and addresses hashed; suppressions and STOPs keep holding; invoices and payments
    stay with the anonymised record. Cannot be undone."""
    settings: Settings = request.app.state.settings
    erasure = data_rights.erase_customer(
        session,
        company_id=tenant.company_id,
        customer_id=customer_id,
        secret=settings.secret_key.get_secret_value(),
        now=utcnow(),
        upload_dir=settings.upload_dir,
    )
    return ErasureOut(**erasure.as_dict())
