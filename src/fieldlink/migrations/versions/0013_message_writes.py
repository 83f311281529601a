"""messages: partial indexes on columns most messages leave empty; fewer foreign keys

Revision ID: 0013_message_writes
Revises: 0012_operations

A campaign writes its whole audience into ``messages`` in one statement, and every row
paid for three index entries (job, appointment, provider id) that campaign messages leave
NULL, and for nine foreign-key triggers. The three indexes become partial (``… IS NOT
NULL``); every query using them filters on a value, which implies NOT NULL. Foreign keys
are kept only where fieldlink deletes the parent row and relies on ``ON DELETE``: contact
methods (deleted with a contact, by erasure, by the API). The others point at rows that
are never deleted (companies; customers, whom erasure anonymises; users, jobs,
appointments, status codes, messages) or at contacts, whose one delete (``delete_contact``)
now clears ``messages.contact_id`` itself. Measured in benchmarks/README.md.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_message_writes"
down_revision: str | None = "0012_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column, referenced table, ON DELETE) of the foreign keys dropped here.
DROPPED = (
    ("company_id", "companies", None),
    ("customer_id", "customers", "SET NULL"),
    ("contact_id", "contacts", "SET NULL"),
    ("user_id", "users", "SET NULL"),
    ("job_id", "jobs", "SET NULL"),
    ("appointment_id", "appointments", "SET NULL"),
    ("status_code_id", "status_codes", "SET NULL"),
    ("duplicate_of_id", "messages", None),
)
# (name, columns, the column that must be set) of the indexes made partial.
PARTIAL = (
    ("ix_messages_job_id", ["job_id"], "job_id"),
    ("ix_messages_company_appointment", ["company_id", "appointment_id"], "appointment_id"),
    ("ix_messages_provider_id", ["provider_id"], "provider_id"),
)


def _fk_name(column: str, table: str) -> str:
    return f"fk_messages_{column}_{table}"


def upgrade() -> None:
    for name, columns, column in PARTIAL:
        op.drop_index(name, table_name="messages")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, "messages", columns, postgresql_where=where, sqlite_where=where)
    with op.batch_alter_table("messages") as batch:
        for column, table, _ in DROPPED:
            batch.drop_constraint(_fk_name(column, table), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        for column, table, ondelete in DROPPED:
            batch.create_foreign_key(
                _fk_name(column, table), table, [column], ["id"], ondelete=ondelete
            )
    for name, columns, _ in PARTIAL:
        op.drop_index(name, table_name="messages")
        op.create_index(name, "messages", columns)
