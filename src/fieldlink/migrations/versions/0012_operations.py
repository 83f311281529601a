"""operations schema changes (placeholder until the operations work lands)

Revision ID: 0012_operations
Revises: 0011_office
"""

from collections.abc import Sequence

revision: str = "0012_operations"
down_revision: str | None = "0011_office"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
