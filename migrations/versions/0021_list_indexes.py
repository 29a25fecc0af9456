"""List-page indexes: each list's newest-first (or oldest-first) order read off an index, so a page costs the same
at 10,000 rows as at 10 (issue 16): the claims lists of a hospital and of an insurer, the work queue with its tie
break, and the invoices lists of a hospital and of an insurer.

On PostgreSQL the indexes are built CONCURRENTLY, outside the migration's transaction: a live site keeps writing
claims and invoices while they are built.

Revision ID: 0021_list_indexes
Revises: 0020_fhir_claim_ids
Create Date: 2026-12-04 23:45:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0021_list_indexes"
down_revision = "0020_fhir_claim_ids"
branch_labels = None
depends_on = None

#: (index, table, columns)
NEW = [
    ("ix_claims_institution_newest", "claims", ["institution_id", "id"]),
    ("ix_claims_company_newest", "claims", ["company_id", "id"]),
    ("ix_invoices_institution_newest", "invoices", ["institution_id", "created_at", "id"]),
    ("ix_invoices_company_newest", "invoices", ["company_id", "created_at", "id"]),
]
QUEUE = "ix_claims_company_status"
QUEUE_BEFORE = ["company_id", "status", "submitted_at"]
QUEUE_AFTER = ["company_id", "status", "submitted_at", "id"]


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _build(indexes: list[tuple[str, str, list[str]]]) -> None:
    if _postgresql():
        with op.get_context().autocommit_block():
            for name, table, columns in indexes:
                op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)
    else:
        for name, table, columns in indexes:
            op.create_index(name, table, columns)


def _drop(indexes: list[tuple[str, str, list[str]]]) -> None:
    if _postgresql():
        with op.get_context().autocommit_block():
            for name, table, _columns in indexes:
                op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
    else:
        for name, table, _columns in indexes:
            op.drop_index(name, table_name=table)


def _queue_index(columns: list[str]) -> None:
    """The work queue's index again with ``columns``. On PostgreSQL the new one is built before the old one goes,
    so the queue is never without one."""
    if not _postgresql():
        op.drop_index(QUEUE, table_name="claims")
        op.create_index(QUEUE, "claims", columns)
        return
    _build([(f"{QUEUE}_new", "claims", columns)])
    _drop([(QUEUE, "claims", [])])
    op.execute(f"ALTER INDEX {QUEUE}_new RENAME TO {QUEUE}")


def upgrade():
    _build(NEW)
    _queue_index(QUEUE_AFTER)


def downgrade():
    _queue_index(QUEUE_BEFORE)
    _drop(NEW)
