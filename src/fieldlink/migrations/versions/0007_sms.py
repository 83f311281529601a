"""company SMS number, conversation threads and their texts, opt-in requests

Revision ID: 0007_sms
Revises: 0006_messaging
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fieldlink.db import UTCDateTime

revision: str = "0007_sms"
down_revision: str | None = "0006_messaging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_T = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, col: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [col], [f"{target}.id"], name=op.f(f"fk_{table}_{col}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "sms_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("area_code", sa.String(length=5), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("provisioned_at", UTCDateTime(), nullable=True),
        _fk("sms_numbers", "company_id", "companies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_numbers")),
        sa.UniqueConstraint("company_id", name=op.f("uq_sms_numbers_company_id")),
        sa.UniqueConstraint("number", name=op.f("uq_sms_numbers_number")),
    )

    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("assigned_user_id", sa.Integer(), nullable=True),
        sa.Column("route_reason", sa.String(length=40), nullable=True),
        sa.Column("keyword_status", sa.String(length=20), nullable=False),
        sa.Column("last_message_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _fk("conversations", "company_id", "companies"),
        _fk("conversations", "customer_id", "customers", "SET NULL"),
        _fk("conversations", "contact_id", "contacts", "SET NULL"),
        _fk("conversations", "assigned_user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("company_id", "phone", name=op.f("uq_conversations_company_id_phone")),
    )
    op.create_index(op.f("ix_conversations_customer_id"), "conversations", ["customer_id"])

    op.create_table(
        "conversation_assignees",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        _fk("conversation_assignees", "conversation_id", "conversations", "CASCADE"),
        _fk("conversation_assignees", "user_id", "users", "CASCADE"),
        _fk("conversation_assignees", "company_id", "companies"),
        sa.PrimaryKeyConstraint(
            "conversation_id", "user_id", name=op.f("pk_conversation_assignees")
        ),
    )
    op.create_index(
        "ix_conversation_assignees_company_user",
        "conversation_assignees",
        ["company_id", "user_id"],
    )

    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("keyword", sa.String(length=20), nullable=True),
        sa.Column("likely_opt_out", sa.Boolean(), nullable=False),
        sa.Column("opt_out_confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("auto_reply", sa.Text(), nullable=True),
        sa.Column("routed_user_ids", JSON_T, nullable=False),
        sa.Column("route_reason", sa.String(length=40), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk("conversation_messages", "company_id", "companies"),
        _fk("conversation_messages", "conversation_id", "conversations", "CASCADE"),
        _fk("conversation_messages", "message_id", "messages", "SET NULL"),
        _fk("conversation_messages", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        # MessageSid is unique: a provider's retry of one webhook is found, not stored twice.
        sa.UniqueConstraint(
            "company_id",
            "provider_sid",
            name=op.f("uq_conversation_messages_company_id_provider_sid"),
        ),
    )
    op.create_index(
        "ix_conversation_messages_conversation_at",
        "conversation_messages",
        ["conversation_id", "at"],
    )

    op.create_table(
        "opt_in_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("contact_method_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("requester_ip", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("answer_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        _fk("opt_in_requests", "company_id", "companies"),
        _fk("opt_in_requests", "contact_method_id", "contact_methods", "SET NULL"),
        _fk("opt_in_requests", "message_id", "messages", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_in_requests")),
    )
    op.create_index("ix_opt_in_requests_company_phone", "opt_in_requests", ["company_id", "phone"])
    op.create_index(
        "ix_opt_in_requests_company_created", "opt_in_requests", ["company_id", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_opt_in_requests_company_created", table_name="opt_in_requests")
    op.drop_index("ix_opt_in_requests_company_phone", table_name="opt_in_requests")
    op.drop_table("opt_in_requests")
    op.drop_index("ix_conversation_messages_conversation_at", table_name="conversation_messages")
    op.drop_table("conversation_messages")
    op.drop_index("ix_conversation_assignees_company_user", table_name="conversation_assignees")
    op.drop_table("conversation_assignees")
    op.drop_index(op.f("ix_conversations_customer_id"), table_name="conversations")
    op.drop_table("conversations")
    op.drop_table("sms_numbers")
