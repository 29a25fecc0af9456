"""FHIR Claim identifiers: the provider's own identifier of each Claim sent to /fhir, and the claim or
pre-authorisation it made, so the same Claim sent again is answered from the first time

Revision ID: 0020_fhir_claim_ids
Revises: 0015_invoice_numbers
Create Date: 2026-12-03 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0020_fhir_claim_ids"
down_revision = "0019_push_subscriptions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "fhir_claim_identifiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("institution_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.Column(
            "sent_as",
            sa.Enum("claim", "preauthorization", name="fhir_claim_sent_as", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "sent_as IN ('claim', 'preauthorization')", name=op.f("ck_fhir_claim_identifiers_fhir_claim_sent_as")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_claim_identifiers")),
        sa.UniqueConstraint("institution_id", "system", "value", name="uq_fhir_claim_identifier"),
    )


def downgrade():
    op.drop_table("fhir_claim_identifiers")
