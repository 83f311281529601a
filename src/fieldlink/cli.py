"""The ``fieldlink`` command line."""

from __future__ import annotations

import json
from typing import Any

import typer

from fieldlink.config import get_settings
from fieldlink.db import make_engine, make_sessionmaker, session_scope
from fieldlink.errors import FieldlinkError

app = typer.Typer(
    help="fieldlink: customer engagement for field-service businesses.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
company_app = typer.Typer(help="Companies (tenants).", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys.", no_args_is_help=True)
user_app = typer.Typer(help="Office users (staff sign-in).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(company_app, name="company")
app.add_typer(apikey_app, name="apikey")
app.add_typer(user_app, name="user")

JsonOpt = typer.Option(False, "--json", help="Print machine-readable JSON.")


def _emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    typer.echo(json.dumps(data, default=str) if as_json else human)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=2)


def _factory() -> Any:
    return make_sessionmaker(make_engine(get_settings().database_url))


@db_app.command("upgrade")
def db_upgrade(as_json: bool = JsonOpt) -> None:
    """Run migrations on FIELDLINK_DATABASE_URL."""
    from fieldlink.migrate import upgrade

    url = get_settings().database_url
    try:
        upgrade(make_engine(url))
    except Exception as exc:  # a clear line, not a traceback, for a wrong URL or a down server
        _fail(f"could not migrate {_redact(url)}: {exc.__class__.__name__}: {exc}")
    _emit(
        as_json,
        {"database": _redact(url), "status": "up to date"},
        f"Database {_redact(url)} is up to date.",
    )


@company_app.command("create")
def company_create(
    name: str = typer.Option(..., "--name", help="Company name"),
    code: str = typer.Option(..., "--code", help="Public company code (portal login)"),
    sms_area_code: str | None = typer.Option(None, "--sms-area-code"),
    as_json: bool = JsonOpt,
) -> None:
    """Create a company and its first API key; with --sms-area-code, a worker provisions
    the company's SMS number in that area code."""
    from fieldlink.accounts.service import create_api_key, create_company
    from fieldlink.db import utcnow
    from fieldlink.sms.provisioning import request_number

    try:
        with session_scope(_factory()) as session:
            company = create_company(
                session, name=name, company_code=code, sms_area_code=sms_area_code
            )
            _key, raw = create_api_key(session, company=company)
            if sms_area_code:
                request_number(session, company=company, area_code=sms_area_code, now=utcnow())
            out = {"id": company.id, "company_code": company.company_code, "api_key": raw}
    except FieldlinkError as exc:
        _fail(exc.detail)
    _emit(
        as_json,
        out,
        f"Company {out['id']} ({out['company_code']}) created.\n"
        f"API key (shown once): {out['api_key']}",
    )


@apikey_app.command("create")
def apikey_create(
    company: str = typer.Option(..., "--company", help="Company code or id"),
    name: str = typer.Option("default", "--name"),
    as_json: bool = JsonOpt,
) -> None:
    """Make a new API key for a company."""
    from fieldlink.accounts.service import create_api_key

    try:
        with session_scope(_factory()) as session:
            found = _company(session, company)
            key, raw = create_api_key(session, company=found, name=name)
            out = {"id": key.id, "company_code": found.company_code, "api_key": raw}
    except FieldlinkError as exc:
        _fail(exc.detail)
    _emit(as_json, out, f"API key {out['id']} (shown once): {out['api_key']}")


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: int = typer.Argument(..., help="Id of the key"),
    company: str = typer.Option(..., "--company", help="Company code or id"),
    as_json: bool = JsonOpt,
) -> None:
    """Revoke an API key at once."""
    from fieldlink.accounts.service import revoke_api_key

    try:
        with session_scope(_factory()) as session:
            key = revoke_api_key(session, company=_company(session, company), key_id=key_id)
            out = {"id": key.id, "revoked_at": key.revoked_at}
    except FieldlinkError as exc:
        _fail(exc.detail)
    _emit(as_json, out, f"API key {key_id} revoked.")


@user_app.command("create")
def user_create(
    company: str = typer.Option(..., "--company", help="Company code or id"),
    email: str = typer.Option(..., "--email"),
    name: str = typer.Option(..., "--name"),
    role: str = typer.Option("owner", "--role", help="owner, admin, dispatcher or technician"),
    password: str = typer.Option(
        ...,
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="FIELDLINK_NEW_USER_PASSWORD",
        help="Prompted for when not given",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Create an office user who signs in at /office/ (e.g. the first owner)."""
    from fieldlink.office.auth import create_staff_user

    try:
        with session_scope(_factory()) as session:
            found = _company(session, company)
            user = create_staff_user(
                session, company=found, name=name, email=email, role=role, password=password
            )
            out = {
                "id": user.id,
                "company_code": found.company_code,
                "email": user.email,
                "role": user.role,
            }
    except FieldlinkError as exc:
        _fail(
            exc.errors[0]["field"] + ": " + exc.errors[0]["message"] if exc.errors else exc.detail
        )
    _emit(
        as_json, out, f"User {out['id']} ({out['email']}, {out['role']}) can sign in at /office/."
    )


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(1, "--workers", help="Uvicorn worker processes"),
) -> None:
    """Run the HTTP server."""
    import uvicorn

    from fieldlink.ops.logs import logging_config
    from fieldlink.ops.metrics import prepare_multiprocess

    settings = get_settings()
    if workers > 1:
        prepare_multiprocess()  # /metrics adds up every worker process
    uvicorn.run(
        "fieldlink.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,  # fieldlink logs each request itself, with its request id
    )


@app.command("worker")
def worker(
    concurrency: int = typer.Option(1, "--concurrency", help="Worker threads in this process"),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Serve this process's Prometheus metrics on the port"
    ),
) -> None:
    """Deliver from the outbox until SIGTERM (finishes the job in hand, then exits)."""
    from fieldlink.channels.registry import configure, from_settings
    from fieldlink.handlers import load_handlers
    from fieldlink.ops.logs import configure_logging
    from fieldlink.ops.metrics import instrument, serve_metrics
    from fieldlink.outbox.worker import WorkerConfig, run_workers

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)  # httpx quiet: a line per text
    if metrics_port is not None:
        serve_metrics(metrics_port)
    url = settings.database_url
    if url.startswith("sqlite") and concurrency > 1:
        typer.secho("SQLite takes one writer at a time: running one worker thread.", err=True)
        concurrency = 1
    load_handlers()
    configure(instrument(from_settings(settings)))  # provider latency and errors
    config = WorkerConfig(
        visibility_timeout=settings.worker_visibility_timeout, batch_size=settings.worker_batch_size
    )
    # No pre-ping: it costs a round trip per job, and a worker already survives a dropped
    # connection (the job is retried after its visibility timeout).
    factory = make_sessionmaker(make_engine(url, pool_pre_ping=False))
    from fieldlink.app import freeze_startup_objects

    freeze_startup_objects()  # as the server does: full collections skip start-up state
    run_workers(factory, concurrency=concurrency, config=config)


@app.command("doctor")
def doctor(
    company: str | None = typer.Option(None, "--company", help="Only this company (code or id)"),
    strict: bool = typer.Option(False, "--strict", help="Fail on warnings too"),
    as_json: bool = JsonOpt,
) -> None:
    """Pre-flight checks: settings, providers, database and migrations, and per company the
    SMS number, sender identity, postal address and template lint. Exit 1 on an error."""
    from fieldlink.ops.doctor import run_doctor

    code = run_doctor(get_settings(), _factory(), company=company, strict=strict, as_json=as_json)
    raise typer.Exit(code=code)


@app.command("purge")
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count, change nothing"),
    as_json: bool = JsonOpt,
) -> None:
    """Apply retention: drop message bodies older than FIELDLINK_MESSAGE_RETENTION_DAYS,
    delete finished outbox rows older than FIELDLINK_OUTBOX_RETENTION_DAYS and expired
    idempotency keys."""
    from fieldlink.db import utcnow
    from fieldlink.ops.retention import purge as run_purge

    settings = get_settings()
    with session_scope(_factory()) as session:
        done = run_purge(
            session,
            now=utcnow(),
            message_retention_days=settings.message_retention_days,
            outbox_retention_days=settings.outbox_retention_days,
            dry_run=dry_run,
        )
    verb = "would purge" if dry_run else "purged"
    _emit(
        as_json,
        done.as_dict(),
        f"{verb}: {done.message_bodies} message bodies, {done.conversation_texts} "
        f"conversation texts, {done.outbox_rows} outbox rows, {done.idempotency_keys} "
        "idempotency keys",
    )


@app.command("demo")
def demo(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    database: str = typer.Option(
        "sqlite:///fieldlink-demo.db",
        "--database",
        help="Where the demo data lives (recreated each run)",
    ),
    no_serve: bool = typer.Option(False, "--no-serve", help="Seed and print, do not serve"),
    as_json: bool = JsonOpt,
) -> None:
    """Seed a demo business in an embedded database, start the server and print how to use it."""
    from fieldlink.demo import run_demo

    run_demo(host=host, port=port, database=database, serve=not no_serve, as_json=as_json)


def _company(session: Any, ref: str) -> Any:
    from sqlalchemy import select

    from fieldlink.accounts.models import Company
    from fieldlink.errors import NotFound

    stmt = select(Company).where(
        Company.id == int(ref) if ref.isdigit() else Company.company_code == ref.lower()
    )
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(f"no company {ref!r}; create one with 'fieldlink company create'")
    return found


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


def main() -> None:
    app()
