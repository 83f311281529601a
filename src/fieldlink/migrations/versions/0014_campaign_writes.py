"""messages: drop the last foreign key (contact_method_id)

Revision ID: 0014_campaign_writes
Revises: 0013_message_writes

Every campaign row paid for a foreign-key trigger on ``contact_method_id`` (an index probe
and a ``FOR KEY SHARE`` lock on the contact method): about 12% of a campaign row's cost.
Contact methods really are deleted (the API, a contact's delete, erasure), so what
``ON DELETE SET NULL`` did is now done by ``customers.methods.release_messages``: a
still-queued message to the method is suppressed (``no_recipient``) with a history row,
and the id is cleared on the others. The delivery worker treats an id that points at a
missing method as ``no_recipient``. Measured in benchmarks/README.md.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_campaign_writes"
down_revision: str | None = "0013_message_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_messages_contact_method_id_contact_methods"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    # Ids of methods deleted since the upgrade would fail the constraint: clear them, as
    # ON DELETE SET NULL would have.
    op.execute(
        "UPDATE messages SET contact_method_id = NULL WHERE contact_method_id IS NOT NULL "
        "AND contact_method_id NOT IN (SELECT id FROM contact_methods)"
    )
    with op.batch_alter_table("messages") as batch:
        batch.create_foreign_key(
            FK, "contact_methods", ["contact_method_id"], ["id"], ondelete="SET NULL"
        )
