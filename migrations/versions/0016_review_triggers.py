"""review triggers: a scheme's random sample, suspect duplicate window and score, outlier factor; on claims the
triggers that fired with what they saw, the engine's proposed total, and the main diagnosis category

Revision ID: 0016_review_triggers
Revises: 0015_invoice_numbers
Create Date: 2026-12-03 15:00:00.000000

"""

import json

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016_review_triggers"
down_revision = "0015_invoice_numbers"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_sample_percent", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("duplicate_window_days", sa.Integer(), server_default="3", nullable=False))
        batch_op.add_column(sa.Column("duplicate_score_threshold", sa.Integer(), server_default="60", nullable=False))
        batch_op.add_column(sa.Column("variance_factor", sa.Numeric(precision=8, scale=2), nullable=True))
        batch_op.create_check_constraint(op.f("ck_schemes_review_sample_percent_range"), "review_sample_percent BETWEEN 0 AND 100")
        batch_op.create_check_constraint(op.f("ck_schemes_duplicate_window_days_range"), "duplicate_window_days BETWEEN 0 AND 365")
        batch_op.create_check_constraint(
            op.f("ck_schemes_duplicate_score_threshold_range"), "duplicate_score_threshold BETWEEN 1 AND 100"
        )
        batch_op.create_check_constraint(op.f("ck_schemes_variance_factor_positive"), "variance_factor IS NULL OR variance_factor > 0")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_codes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("review_details", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("proposed_approved", sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column("diagnosis_category", sa.String(length=3), nullable=True))
        batch_op.create_index(
            "ix_claims_provider_category", ["institution_id", "diagnosis_category", "service_date"], unique=False
        )
    bind = op.get_bind()
    for claim_id, codes in bind.execute(sa.text("SELECT id, diagnosis_codes FROM claims")).all():
        if isinstance(codes, str):
            codes = json.loads(codes or "[]")
        first = next((str(c).strip() for c in codes or () if str(c).strip()), "")
        if first:
            bind.execute(
                sa.text("UPDATE claims SET diagnosis_category = :c WHERE id = :i"), {"c": first[:3].upper(), "i": claim_id}
            )


def downgrade():
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_index("ix_claims_provider_category")
        batch_op.drop_column("diagnosis_category")
        batch_op.drop_column("proposed_approved")
        batch_op.drop_column("review_details")
        batch_op.drop_column("review_codes")
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_schemes_variance_factor_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_schemes_duplicate_score_threshold_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_schemes_duplicate_window_days_range"), type_="check")
        batch_op.drop_constraint(op.f("ck_schemes_review_sample_percent_range"), type_="check")
        batch_op.drop_column("variance_factor")
        batch_op.drop_column("duplicate_score_threshold")
        batch_op.drop_column("duplicate_window_days")
        batch_op.drop_column("review_sample_percent")
