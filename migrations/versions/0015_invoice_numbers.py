"""invoice numbers distinct from patient numbers: prefixes equal to the institution's code get INV- in front

Invoices already issued keep their numbers (they are on paper and in the payers' books); the next ones start
INV-. A prefix someone chose that differs from the code is left as it is.

Revision ID: 0015_invoice_numbers
Revises: 0010_number_lookups
Create Date: 2026-12-03 12:00:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0015_invoice_numbers"
down_revision = "0013_waivers_estimates"
branch_labels = None
depends_on = None

MARK = "INV-"


def _pairs(bind):
    return bind.execute(
        sa.text(
            "SELECT s.institution_id, s.invoice_prefix, i.code FROM billing_settings s "
            "JOIN medical_institutions i ON i.id = s.institution_id"
        )
    ).all()


def upgrade():
    bind = op.get_bind()
    for institution_id, prefix, code in _pairs(bind):
        code = "".join(c for c in (code or "").upper() if c.isalnum())
        if prefix and prefix.upper() == code and len(MARK + prefix) <= 12:
            bind.execute(
                sa.text("UPDATE billing_settings SET invoice_prefix = :p WHERE institution_id = :i"),
                {"p": MARK + prefix, "i": institution_id},
            )


def downgrade():
    bind = op.get_bind()
    for institution_id, prefix, code in _pairs(bind):
        code = "".join(c for c in (code or "").upper() if c.isalnum())
        if prefix == MARK + code:
            bind.execute(
                sa.text("UPDATE billing_settings SET invoice_prefix = :p WHERE institution_id = :i"),
                {"p": code, "i": institution_id},
            )
