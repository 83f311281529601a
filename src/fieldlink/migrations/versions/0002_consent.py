"""consent engine: index consent history by subject (an address's suppression history)

The audience queries read whole tenants with hash joins and need no new index: customers,
contact methods, tags and suppressions are already indexed by company, customer and
(company, email) — see benchmarks/README.md for the plans and figures.

Revision ID: 0002_consent
Revises: e3a82c862a06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_consent"
down_revision: str | None = "e3a82c862a06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_events_company_subject", ["company_id", "subject"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_company_subject")
