"""``fieldlink doctor``: every pre-flight check, printed; exit 1 when any is an error."""

from __future__ import annotations

import json

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fieldlink.accounts.models import Company
from fieldlink.config import Settings
from fieldlink.ops import preflight
from fieldlink.ops.preflight import Check


def collect(
    settings: Settings, factory: sessionmaker[Session], *, company: str | None
) -> list[Check]:
    with factory() as session:
        checks = preflight.check_installation(settings, session)
        if any(c.code in ("database_unavailable", "migrations_pending") for c in checks):
            return checks  # company checks need the current schema
        stmt = select(Company).order_by(Company.id)
        if company is not None:
            stmt = stmt.where(
                Company.id == int(company)
                if company.isdigit()
                else Company.company_code == company.lower()
            )
        companies = list(session.scalars(stmt))
        if company is not None and not companies:
            raise LookupError(f"no company {company!r}")
        for found in companies:
            checks.extend(preflight.check_company(session, found))
    return checks


def run_doctor(
    settings: Settings,
    factory: sessionmaker[Session],
    *,
    company: str | None,
    strict: bool,
    as_json: bool,
) -> int:
    try:
        checks = collect(settings, factory, company=company)
    except LookupError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        return 2
    failed = preflight.has_errors(checks) or (strict and bool(checks))
    if as_json:
        typer.echo(json.dumps({"ok": not failed, "checks": [c.as_dict() for c in checks]}))
        return 1 if failed else 0
    for c in checks:
        label = "ERROR" if c.severity == "error" else "warn "
        color = typer.colors.RED if c.severity == "error" else typer.colors.YELLOW
        typer.secho(f"{label} {c.subject}: {c.code}: {c.message}", fg=color)
    errors = sum(c.severity == "error" for c in checks)
    summary = f"{errors} error(s), {len(checks) - errors} warning(s)"
    if failed:
        typer.secho(f"doctor: NOT READY — {summary}", err=True, fg=typer.colors.RED, bold=True)
        return 1
    typer.echo(f"doctor: ready — {summary}")
    return 0
