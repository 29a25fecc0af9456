"""manual decisions and estimates: a rejected claim line's waivable amounts (M02), an invoice's payer split basis

Revision ID: 0013_waivers_estimates
Revises: 0010_number_lookups
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_waivers_estimates'
down_revision = "0014_one_patient_member_numbers"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('claim_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('waivable', sa.JSON(), nullable=True))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('split_basis', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_column('split_basis')
    with op.batch_alter_table('claim_items', schema=None) as batch_op:
        batch_op.drop_column('waivable')
