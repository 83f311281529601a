"""``/office/settings/users`` (owners and admins): the team, adding a user (who gets an
emailed link to choose a password), re-sending that link, deactivating."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from starlette.responses import Response

from fieldlink.accounts.models import User
from fieldlink.accounts.schemas import UserIn, UserPatch
from fieldlink.accounts.service import create_user, get_user, update_user
from fieldlink.db import MAX_ID, utcnow
from fieldlink.errors import FieldlinkError
from fieldlink.office import auth
from fieldlink.office.web import AdminOnly, OfficeRoute, PostedForm, Staff, page, settings_of_app
from fieldlink.pages import csrf
from fieldlink.pages.i18n import N_
from fieldlink.web.deps import DbSession

router = APIRouter(route_class=OfficeRoute, include_in_schema=False)
ROLES = {
    "owner": N_("Owner"),
    "admin": N_("Admin"),
    "dispatcher": N_("Dispatcher"),
    "technician": N_("Technician"),
}
NOTICES = {
    "invited": N_("User added. They were emailed a link to choose a password."),
    "resent": N_("A new link to choose a password was emailed."),
    "deactivated": N_("User deactivated and signed out."),
}
UserId = Path(ge=1, le=MAX_ID)


def _page(
    request: Request,
    staff: Staff,
    session: DbSession,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    users = session.scalars(
        select(User).where(User.company_id == staff.company_id).order_by(User.name, User.id)
    ).all()
    return page(
        request,
        staff,
        "office/users.html",
        {
            "users": users,
            "roles": ROLES,
            "errors": errors or {},
            "form": form or {},
            "notice": NOTICES.get(request.query_params.get("notice") or ""),
        },
        status=status,
    )


@router.get("/office/settings/users", response_class=HTMLResponse)
def users_page(request: Request, staff: AdminOnly, session: DbSession) -> HTMLResponse:
    return _page(request, staff, session)


@router.post("/office/settings/users", response_class=Response, dependencies=[Depends(csrf.verify)])
def add_user(request: Request, staff: AdminOnly, session: DbSession, form: PostedForm) -> Response:
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    data = {
        "name": fields.get("name", "").strip(),
        "email": fields.get("email", "").strip(),
        "phone": fields.get("phone", "").strip() or None,
        "role": fields.get("role", ""),
    }
    try:
        user = create_user(session, company_id=staff.company_id, data=UserIn.model_validate(data))
        auth.send_invite(
            session,
            company=staff.company,
            user=user,
            base_url=settings_of_app(request).base_url,
            now=utcnow(),
        )
    except (ValidationError, FieldlinkError) as exc:
        session.rollback()
        if isinstance(exc, ValidationError):
            errors = {
                str(e["loc"][0]): str(e["msg"]).removeprefix("Value error, ") for e in exc.errors()
            }
        else:
            errors = {"email": exc.detail}
        return _page(request, staff, session, errors=errors, form=fields, status=422)
    return RedirectResponse("/office/settings/users?notice=invited", status_code=303)


@router.post(
    "/office/settings/users/{user_id}/invite",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def resend_invite(
    request: Request, staff: AdminOnly, session: DbSession, user_id: int = UserId
) -> Response:
    user = get_user(session, company_id=staff.company_id, user_id=user_id)
    auth.send_invite(
        session,
        company=staff.company,
        user=user,
        base_url=settings_of_app(request).base_url,
        now=utcnow(),
    )
    return RedirectResponse("/office/settings/users?notice=resent", status_code=303)


@router.post(
    "/office/settings/users/{user_id}/deactivate",
    response_class=Response,
    dependencies=[Depends(csrf.verify)],
)
def deactivate(staff: AdminOnly, session: DbSession, user_id: int = UserId) -> Response:
    user = get_user(session, company_id=staff.company_id, user_id=user_id)
    if user.id != staff.user.id:  # nobody locks themselves out by a slip
        update_user(session, user=user, patch=UserPatch(active=False))
        auth.end_all_sessions(session, user=user)
    return RedirectResponse("/office/settings/users?notice=deactivated", status_code=303)
