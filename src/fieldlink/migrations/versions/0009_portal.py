"""customer portal: logins and login requests, sessions, login attempts, service
requests, uploads and the customer's id at the card processor

Revision ID: 0009_portal
Revises: 0008_customer_web
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldlink.db import UTCDateTime

revision: str = "0009_portal"
down_revision: str | None = "0008_customer_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(table: str, col: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [col], [f"{target}.id"], name=op.f(f"fk_{table}_{col}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "portal_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("login_id", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=True),
        sa.Column("request_name", sa.String(length=200), nullable=True),
        sa.Column("request_email", sa.String(length=320), nullable=True),
        sa.Column("request_phone", sa.String(length=20), nullable=True),
        sa.Column("request_address", sa.Text(), nullable=True),
        sa.Column("request_note", sa.Text(), nullable=True),
        sa.Column("requester_ip", sa.String(length=64), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("last_login_at", UTCDateTime(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("portal_accounts", "company_id", "companies"),
        _fk("portal_accounts", "customer_id", "customers", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_accounts")),
        sa.UniqueConstraint(
            "company_id", "login_id", name=op.f("uq_portal_accounts_company_id_login_id")
        ),
    )
    op.create_index(op.f("ix_portal_accounts_company_id"), "portal_accounts", ["company_id"])
    op.create_index(op.f("ix_portal_accounts_customer_id"), "portal_accounts", ["customer_id"])

    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=400), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        _fk("portal_sessions", "company_id", "companies"),
        _fk("portal_sessions", "account_id", "portal_accounts", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_sessions_token_hash")),
    )
    op.create_index(op.f("ix_portal_sessions_account_id"), "portal_sessions", ["account_id"])

    op.create_table(
        "portal_login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("login_id", sa.String(length=80), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk("portal_login_attempts", "company_id", "companies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_login_attempts")),
    )
    op.create_index("ix_portal_login_attempts_ip_at", "portal_login_attempts", ["ip", "at"])
    op.create_index(
        "ix_portal_login_attempts_login_at",
        "portal_login_attempts",
        ["company_id", "login_id", "at"],
    )

    op.create_table(
        "portal_service_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("preferred_date", sa.Date(), nullable=True),
        sa.Column("schedule_type", sa.String(length=10), nullable=True),
        sa.Column("new_address", sa.Text(), nullable=True),
        sa.Column("sub_customer", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("portal_service_requests", "company_id", "companies"),
        _fk("portal_service_requests", "customer_id", "customers", "CASCADE"),
        _fk("portal_service_requests", "account_id", "portal_accounts", "SET NULL"),
        _fk("portal_service_requests", "job_id", "jobs", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_service_requests")),
    )
    op.create_index(
        op.f("ix_portal_service_requests_company_id"), "portal_service_requests", ["company_id"]
    )
    op.create_index(
        op.f("ix_portal_service_requests_job_id"), "portal_service_requests", ["job_id"]
    )

    op.create_table(
        "portal_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("portal_uploads", "company_id", "companies"),
        _fk("portal_uploads", "customer_id", "customers", "CASCADE"),
        _fk("portal_uploads", "account_id", "portal_accounts", "SET NULL"),
        _fk("portal_uploads", "job_id", "jobs", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_uploads")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_portal_uploads_storage_key")),
    )
    op.create_index(op.f("ix_portal_uploads_company_id"), "portal_uploads", ["company_id"])
    op.create_index(op.f("ix_portal_uploads_customer_id"), "portal_uploads", ["customer_id"])

    op.create_table(
        "processor_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("processor", sa.String(length=20), nullable=False),
        sa.Column("ref", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("processor_customers", "company_id", "companies"),
        _fk("processor_customers", "customer_id", "customers", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processor_customers")),
        sa.UniqueConstraint(
            "customer_id", "processor", name=op.f("uq_processor_customers_customer_id_processor")
        ),
    )
    op.create_index(
        op.f("ix_processor_customers_company_id"), "processor_customers", ["company_id"]
    )


def downgrade() -> None:
    op.drop_table("processor_customers")
    op.drop_table("portal_uploads")
    op.drop_table("portal_service_requests")
    op.drop_table("portal_login_attempts")
    op.drop_table("portal_sessions")
    op.drop_table("portal_accounts")
