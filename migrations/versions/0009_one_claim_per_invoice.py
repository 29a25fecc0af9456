"""claims: one claim per invoice (a voided claim makes room for its replacement)

Revision ID: 0009_one_claim_per_invoice
Revises: 0008_preauth_requester
Create Date: 2026-12-03 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_one_claim_per_invoice'
down_revision = '0008_preauth_requester'
branch_labels = None
depends_on = None

OPEN = "invoice_id IS NOT NULL AND status != 'void'"


def upgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(
            'uq_claims_one_per_invoice',
            ['invoice_id'],
            unique=True,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )


def downgrade():
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index('uq_claims_one_per_invoice')
