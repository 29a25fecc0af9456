"""claims: voids keep their reason, who and when; a replacement claim names the claim it replaces (one each)

Revision ID: 0017_claim_replacements
Revises: 0015_invoice_numbers
Create Date: 2026-12-03 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_claim_replacements"
down_revision = "0016_review_triggers"
branch_labels = None
depends_on = None

OPEN = "replaces_id IS NOT NULL AND status != 'void'"


def upgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("replaces_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("void_reason", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("voided_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_claims_replaces_id_claims"), "claims", ["replaces_id"], ["id"])
        batch_op.create_check_constraint(op.f("ck_claims_replaces_another"), "replaces_id IS NULL OR replaces_id <> id")
        batch_op.create_index(
            "uq_claims_one_replacement",
            ["replaces_id"],
            unique=True,
            sqlite_where=sa.text(OPEN),
            postgresql_where=sa.text(OPEN),
        )
    # Claims voided before this revision: their reason, who and when from the status history.
    op.execute(
        "UPDATE claims SET void_reason = (SELECT s.note FROM claim_statuses s WHERE s.claim_id = claims.id "
        "AND s.to_status = 'void' ORDER BY s.id DESC LIMIT 1), voided_at = (SELECT s.at FROM claim_statuses s "
        "WHERE s.claim_id = claims.id AND s.to_status = 'void' ORDER BY s.id DESC LIMIT 1), voided_by_id = "
        "(SELECT s.by_id FROM claim_statuses s WHERE s.claim_id = claims.id AND s.to_status = 'void' "
        "ORDER BY s.id DESC LIMIT 1) WHERE status = 'void'"
    )


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("uq_claims_one_replacement")
        batch_op.drop_constraint(op.f("ck_claims_replaces_another"), type_="check")
        batch_op.drop_constraint(op.f("fk_claims_replaces_id_claims"), type_="foreignkey")
        batch_op.drop_column("voided_by_id")
        batch_op.drop_column("voided_at")
        batch_op.drop_column("void_reason")
        batch_op.drop_column("replaces_id")
