"""Customer link pages: service link and work acknowledgement ``/s/``, estimate ``/e/``.

The invoice page is in ``invoice_views.py``. Each page opens its token (a bad one is a
friendly 404), renders in the customer's language, and posts back to itself with a CSRF
token; a successful post redirects to the page (POST/redirect/GET).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fieldlink.accounts.models import Company
from fieldlink.customers.models import Customer
from fieldlink.db import utcnow
from fieldlink.jobs.models import Estimate, Job
from fieldlink.links import acknowledgements as acks
from fieldlink.links.access import links_of, open_link
from fieldlink.links.estimates import DECISIONS, MAX_COMMENT, AlreadyDecided, decide_estimate
from fieldlink.links.schemas import data_url
from fieldlink.links.summary import (
    display_lines,
    format_when,
    money,
    summary_text,
    text_hash,
    visit_summary,
)
from fieldlink.pages import csrf, i18n, render
from fieldlink.pages.i18n import N_
from fieldlink.web.deps import DbSession

router = APIRouter(tags=["pages"], include_in_schema=False)


# --- service link and work acknowledgement ---------------------------------------------


def _service_page(
    request: Request,
    session: Session,
    *,
    token: str,
    company: Company,
    job: Job,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    lang = i18n.choose(request)
    customer = session.get(Customer, job.customer_id)
    assert customer is not None
    summary = visit_summary(session, company=company, job=job, customer=customer, lang=lang)
    text = summary_text(summary, customer.name, lang)
    ack = acks.acknowledgement_of(session, job=job)
    links, now = links_of(request), utcnow()
    documents = [
        (
            N_("Estimate %(number)s"),
            e.number,
            money(e.total),
            links.url("e", company_id=company.id, object_id=e.id, now=now),
        )
        for e in summary.estimates
    ] + [
        (
            N_("Invoice %(number)s"),
            i.number,
            money(i.balance),
            links.url("i", company_id=company.id, object_id=i.id, now=now),
        )
        for i in summary.invoices
    ]
    context: dict[str, Any] = {
        "token": token,
        "summary": summary,
        "text": text,
        "text_sha256": text_hash(text),
        "customer": customer,
        "documents": documents,
        "ack": ack,
        "ack_signature": data_url(ack.signature_png) if ack else None,
        "ack_when": format_when(company, ack.signed_at, lang) if ack else None,
        "just_signed": request.query_params.get("signed") == "1",
        "errors": errors or {},
        "values": values or {},
        "notice": notice,
    }
    return render(request, "links/service.html", context, company=company, status=status)


@router.get("/s/{token}", response_class=HTMLResponse)
def service_link(token: str, request: Request, session: DbSession) -> HTMLResponse:
    company, job = open_link(session, request, kind="s", token=token, model=Job, now=utcnow())
    return _service_page(request, session, token=token, company=company, job=job)


@router.post("/s/{token}", response_class=Response, dependencies=[Depends(csrf.verify)])
def sign_service_link(
    token: str,
    request: Request,
    session: DbSession,
    name: str = Form(""),
    method: str = Form("typed"),
    signature: str = Form(""),
    agree: str = Form(""),
    summary_sha256: str = Form(""),
    shown_lang: str = Form(""),
) -> Response:
    now = utcnow()
    company, job = open_link(session, request, kind="s", token=token, model=Job, now=now)
    page: dict[str, Any] = dict(token=token, company=company, job=job)
    if acks.acknowledgement_of(session, job=job) is not None:
        # Signed before: show the first record; a second signature changes nothing.
        return RedirectResponse(f"/s/{token}", status_code=303)
    lang = i18n.normalise(shown_lang) or i18n.choose(request)
    customer = session.get(Customer, job.customer_id)
    assert customer is not None
    summary = visit_summary(session, company=company, job=job, customer=customer, lang=lang)
    text = summary_text(summary, customer.name, lang)
    values = {"name": name[:300], "method": method}
    if text_hash(text) != summary_sha256:
        # The office changed the job since the page was opened: the customer must see
        # and sign what will be stored, not an older text.
        notice = N_("The visit summary changed since you opened this page. Please read it again.")
        return _service_page(request, session, **page, status=409, values=values, notice=notice)
    try:
        parsed = acks.parse_signature(
            name=name, method=method, data_url=signature, agreed=agree == "yes"
        )
    except acks.SignatureInvalid as exc:
        return _service_page(
            request, session, **page, status=422, errors={exc.field: exc.message}, values=values
        )
    acks.sign(
        session,
        company=company,
        job=job,
        signature=parsed,
        text=text,
        text_sha256=summary_sha256,
        language=lang,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        links=links_of(request),
        now=now,
    )
    return RedirectResponse(f"/s/{token}?signed=1", status_code=303)


# --- estimate -------------------------------------------------------------------------


def _estimate_page(
    request: Request,
    *,
    token: str,
    company: Company,
    estimate: Estimate,
    status: int = 200,
    errors: dict[str, str] | None = None,
    comment: str = "",
    notice: str | None = None,
) -> HTMLResponse:
    lang = i18n.choose(request)
    context: dict[str, Any] = {
        "token": token,
        "estimate": estimate,
        "total": money(estimate.total),
        "lines": display_lines(estimate.lines),
        "decided_when": format_when(company, estimate.decided_at, lang)
        if estimate.decided_at
        else None,
        "just_decided": request.query_params.get("decided") == "1",
        "errors": errors or {},
        "comment": comment,
        "notice": notice,
        "max_comment": MAX_COMMENT,
    }
    return render(request, "links/estimate.html", context, company=company, status=status)


@router.get("/e/{token}", response_class=HTMLResponse)
def estimate_link(token: str, request: Request, session: DbSession) -> HTMLResponse:
    company, estimate = open_link(
        session, request, kind="e", token=token, model=Estimate, now=utcnow()
    )
    return _estimate_page(request, token=token, company=company, estimate=estimate)


@router.post("/e/{token}", response_class=Response, dependencies=[Depends(csrf.verify)])
def decide_estimate_link(
    token: str,
    request: Request,
    session: DbSession,
    decision: str = Form(""),
    comment: str = Form(""),
) -> Response:
    now = utcnow()
    company, estimate = open_link(session, request, kind="e", token=token, model=Estimate, now=now)
    page: dict[str, Any] = dict(token=token, company=company, estimate=estimate)
    if decision not in DECISIONS:
        errors = {"decision": N_("Please choose Approve or Decline.")}
        return _estimate_page(request, **page, status=422, errors=errors, comment=comment)
    if len(comment) > MAX_COMMENT:
        errors = {"comment": N_("Please shorten your comment to 2,000 characters.")}
        return _estimate_page(request, **page, status=422, errors=errors, comment=comment)
    try:
        decide_estimate(
            session, company=company, estimate=estimate, decision=decision, comment=comment, now=now
        )
    except AlreadyDecided:
        notice = N_("This estimate was already answered, so nothing was changed.")
        return _estimate_page(request, **page, status=409, notice=notice)
    return RedirectResponse(f"/e/{token}?decided=1", status_code=303)
