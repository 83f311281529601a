"""customer web: work acknowledgements, job photos and documents, reschedule requests

Revision ID: 0008_customer_web
Revises: 0007_sms
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from fieldlink.db import UTCDateTime

revision: str = "0008_customer_web"
down_revision: str | None = "0007_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_T = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "work_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("signature_method", sa.String(length=10), nullable=False),
        sa.Column("signature_png", sa.LargeBinary(), nullable=True),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.Column("summary_sha256", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_work_acknowledgements_company_id_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_work_acknowledgements_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_acknowledgements")),
        sa.UniqueConstraint("job_id", name=op.f("uq_work_acknowledgements_job_id")),
    )
    op.create_index(
        op.f("ix_work_acknowledgements_company_id"),
        "work_acknowledgements",
        ["company_id"],
        unique=False,
    )

    op.create_table(
        "reschedule_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("preferred_dates", JSON_T, nullable=False),
        sa.Column("time_of_day", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("submission_key", sa.String(length=80), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_reschedule_requests_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.id"],
            name=op.f("fk_reschedule_requests_company_id_companies"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_reschedule_requests_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reschedule_requests")),
        sa.UniqueConstraint(
            "company_id",
            "submission_key",
            name=op.f("uq_reschedule_requests_company_id_submission_key"),
        ),
    )
    op.create_index(
        op.f("ix_reschedule_requests_appointment_id"),
        "reschedule_requests",
        ["appointment_id"],
        unique=False,
    )

    op.create_table(
        "job_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"], ["companies.id"], name=op.f("fk_job_attachments_company_id_companies")
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_attachments_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_attachments")),
    )
    op.create_index(op.f("ix_job_attachments_job_id"), "job_attachments", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_attachments_job_id"), table_name="job_attachments")
    op.drop_table("job_attachments")
    op.drop_index(op.f("ix_reschedule_requests_appointment_id"), table_name="reschedule_requests")
    op.drop_table("reschedule_requests")
    op.drop_index(op.f("ix_work_acknowledgements_company_id"), table_name="work_acknowledgements")
    op.drop_table("work_acknowledgements")
