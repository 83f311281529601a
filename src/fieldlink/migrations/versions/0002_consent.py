"""consent engine schema (placeholder; filled by the consent work)

Revision ID: 0002_consent
Revises: e3a82c862a06
"""

from collections.abc import Sequence

revision: str = "0002_consent"
down_revision: str | None = "e3a82c862a06"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
