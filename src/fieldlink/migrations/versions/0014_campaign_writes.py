"""messages: drop the last foreign key (contact_method_id); campaign idempotency on integers

Revision ID: 0014_campaign_writes
Revises: 0013_message_writes

Every campaign row paid for a foreign-key trigger on ``contact_method_id`` (an index probe
and a ``FOR KEY SHARE`` lock on the contact method): about 12% of a campaign row's cost.
Contact methods really are deleted (the API, a contact's delete, erasure), so what
``ON DELETE SET NULL`` did is now done by ``customers.methods.release_messages``: a
still-queued message to the method is suppressed (``no_recipient``) with a history row,
and the id is cleared on the others. The delivery worker treats an id that points at a
missing method as ``no_recipient``.

A campaign's messages are kept to one per recipient by ``campaign_id`` (new) and the
customer (email) or contact method (texts), in two partial unique indexes, instead of the
text ``idempotency_key`` ``campaign:<id>:<recipient>``, whose index entry cost about 30%
of a campaign row; their keys stay NULL. Existing campaign messages get ``campaign_id``
(from ``subject_ref``) so a send in progress during the upgrade still never doubles.
Measured in benchmarks/README.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_campaign_writes"
down_revision: str | None = "0013_message_writes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK = "fk_messages_contact_method_id_contact_methods"
# (index, recipient column, channel) of the campaign uniqueness indexes.
CAMPAIGN_INDEXES = (
    ("uq_messages_campaign_customer", "customer_id", "email"),
    ("uq_messages_campaign_method", "contact_method_id", "sms"),
)


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
    # Earlier campaigns' messages: subject_ref is 'campaign:<id>' (10 characters before it).
    op.execute(
        "UPDATE messages SET campaign_id = CAST(substr(subject_ref, 10) AS INTEGER) "
        "WHERE touchpoint = 'campaign' AND subject_ref LIKE 'campaign:%'"
    )
    for name, column, channel in CAMPAIGN_INDEXES:
        where = sa.text(f"campaign_id IS NOT NULL AND channel = '{channel}'")
        op.create_index(
            name,
            "messages",
            ["campaign_id", column],
            unique=True,
            postgresql_where=where,
            sqlite_where=where,
        )


def downgrade() -> None:
    # The text keys back, as 0013's code wrote them (campaign:<id>:<customer or method>).
    for _, column, channel in CAMPAIGN_INDEXES:
        op.execute(
            f"UPDATE messages SET idempotency_key = subject_ref || ':' || CAST({column} AS "
            f"VARCHAR), requested_key = subject_ref || ':' || CAST({column} AS VARCHAR) "
            f"WHERE campaign_id IS NOT NULL AND channel = '{channel}' "
            "AND idempotency_key IS NULL"
        )
    for name, _, _ in CAMPAIGN_INDEXES:
        op.drop_index(name, table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("campaign_id")
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
