"""campaigns, campaign events (opens, clicks, unsubscribes), messages by subject_ref

Revision ID: 0010_campaigns
Revises: 0009_portal
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fieldlink.db import UTCDateTime

revision: str = "0010_campaigns"
down_revision: str | None = "0009_portal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_T = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(table: str, col: str, target: str, ondelete: str | None = None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [col], [f"{target}.id"], name=op.f(f"fk_{table}_{col}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("audience", JSON_T, nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("snapshot", JSON_T, nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("last_slot_at", UTCDateTime(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("queued_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("cancelled_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _fk("campaigns", "company_id", "companies"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_index(op.f("ix_campaigns_company_id"), "campaigns", ["company_id"])
    op.create_table(
        "campaign_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        _fk("campaign_events", "company_id", "companies"),
        _fk("campaign_events", "campaign_id", "campaigns", "CASCADE"),
        _fk("campaign_events", "message_id", "messages", "SET NULL"),
        _fk("campaign_events", "customer_id", "customers", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_events")),
    )
    op.create_index("ix_campaign_events_campaign_kind", "campaign_events", ["campaign_id", "kind"])
    op.create_index(op.f("ix_campaign_events_message_id"), "campaign_events", ["message_id"])
    op.create_index(op.f("ix_campaign_events_customer_id"), "campaign_events", ["customer_id"])
    op.create_index("ix_messages_company_subject_ref", "messages", ["company_id", "subject_ref"])


def downgrade() -> None:
    op.drop_index("ix_messages_company_subject_ref", table_name="messages")
    op.drop_table("campaign_events")
    op.drop_table("campaigns")
