"""hospital: one registration per national id / member number and hospital; insurance: member number pattern

Revision ID: 0014_one_patient_member_numbers
Revises: 0010_number_lookups
Create Date: 2026-12-03 12:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0014_one_patient_member_numbers"
down_revision = "0012_invariants_and_audit_routes"
branch_labels = None
depends_on = None

LIVE_NATIONAL_ID = "national_id IS NOT NULL AND merged_into_id IS NULL"
LIVE_MEMBER_NUMBER = "member_number IS NOT NULL AND merged_into_id IS NULL"


def _refuse_existing_duplicates():
    """The unique indexes can't be built over duplicates already registered; say which, instead of a bare error.
    They are resolved by merging (the patient page's "Merge a duplicate"), which this migration won't guess at."""
    bind = op.get_bind()
    for column in ("national_id", "member_number"):
        rows = bind.execute(
            sa.text(
                f"SELECT institution_id, {column}, COUNT(*) FROM patients "
                f"WHERE {column} IS NOT NULL AND merged_into_id IS NULL "
                f"GROUP BY institution_id, {column} HAVING COUNT(*) > 1"
            )
        ).fetchall()
        if rows:
            listed = "; ".join(f"institution {i}: {count} patients share one {column}" for i, _v, count in rows[:20])
            raise RuntimeError(f"Duplicate patients must be merged before upgrading ({len(rows)} group(s)): {listed}.")


def upgrade():
    _refuse_existing_duplicates()
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(
            "uq_patients_national_id",
            ["institution_id", "national_id"],
            unique=True,
            sqlite_where=sa.text(LIVE_NATIONAL_ID),
            postgresql_where=sa.text(LIVE_NATIONAL_ID),
        )
        batch_op.create_index(
            "uq_patients_member_number",
            ["institution_id", "member_number"],
            unique=True,
            sqlite_where=sa.text(LIVE_MEMBER_NUMBER),
            postgresql_where=sa.text(LIVE_MEMBER_NUMBER),
        )
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("member_number_pattern", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("member_sequence", sa.Integer(), server_default="0", nullable=False))


def downgrade():
    with op.batch_alter_table("companies", schema=None) as batch_op:
        batch_op.drop_column("member_sequence")
        batch_op.drop_column("member_number_pattern")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("uq_patients_member_number")
        batch_op.drop_index("uq_patients_national_id")
