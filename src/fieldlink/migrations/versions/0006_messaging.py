"""messages, their history, and per-company template overrides

Revision ID: 0006_messaging
Revises: 0005_outbox
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fieldlink.db import UTCDateTime

revision: str = "0006_messaging"
down_revision: str | None = "0005_outbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_T = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(col: str, table: str, ondelete: str | None = "SET NULL") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [col], [f"{table}.id"], name=op.f(f"fk_messages_{col}_{table}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("touchpoint", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("to", sa.String(length=320), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("contact_method_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("status_code_id", sa.Integer(), nullable=True),
        sa.Column("subject_ref", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reasons", JSON_T, nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=True),
        sa.Column("requested_key", sa.String(length=300), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("send_after", UTCDateTime(), nullable=True),
        sa.Column("send_by", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempt_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        _fk("company_id", "companies", None),
        _fk("customer_id", "customers"),
        _fk("contact_id", "contacts"),
        _fk("contact_method_id", "contact_methods"),
        _fk("user_id", "users"),
        _fk("job_id", "jobs"),
        _fk("appointment_id", "appointments"),
        _fk("status_code_id", "status_codes"),
        _fk("duplicate_of_id", "messages", None),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    where = sa.text("idempotency_key IS NOT NULL")
    op.create_index(
        "uq_messages_company_key",
        "messages",
        ["company_id", "idempotency_key"],
        unique=True,
        postgresql_where=where,
        sqlite_where=where,
    )
    op.create_index("ix_messages_company_customer", "messages", ["company_id", "customer_id"])
    op.create_index("ix_messages_company_appointment", "messages", ["company_id", "appointment_id"])
    op.create_index("ix_messages_provider_id", "messages", ["provider_id"])
    op.create_index(op.f("ix_messages_job_id"), "messages", ["job_id"])

    op.create_table(
        "message_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_message_events_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_message_events_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_events")),
    )
    op.create_index(op.f("ix_message_events_message_id"), "message_events", ["message_id"])

    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("touchpoint", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_message_templates_company_id_companies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint(
            "company_id",
            "touchpoint",
            "channel",
            "language",
            name=op.f("uq_message_templates_company_id_touchpoint_channel_language"),
        ),
    )


def downgrade() -> None:
    op.drop_table("message_templates")
    op.drop_index(op.f("ix_message_events_message_id"), table_name="message_events")
    op.drop_table("message_events")
    for name in (
        "ix_messages_job_id",
        "ix_messages_provider_id",
        "ix_messages_company_appointment",
        "ix_messages_company_customer",
        "uq_messages_company_key",
    ):
        op.drop_index(name, table_name="messages")
    op.drop_table("messages")
