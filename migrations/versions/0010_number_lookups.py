"""the global search: patients and invoices by number alone

Revision ID: 0010_number_lookups
Revises: 0009_one_claim_per_invoice
Create Date: 2026-12-04 09:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_number_lookups'
down_revision = '0009_one_claim_per_invoice'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.create_index('ix_patients_number', ['patient_number'], unique=False)
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index('ix_invoices_number', ['number'], unique=False)


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_invoices_number')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_index('ix_patients_number')
