"""customer web: signed work acknowledgements of the service link

Revision ID: 0008_customer_web
Revises: 0007_sms
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fieldlink.db import UTCDateTime

revision: str = "0008_customer_web"
down_revision: str | None = "0007_sms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def downgrade() -> None:
    op.drop_index(op.f("ix_work_acknowledgements_company_id"), table_name="work_acknowledgements")
    op.drop_table("work_acknowledgements")
