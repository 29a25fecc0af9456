"""requested work: what a person asked for, recorded with the request; jobs only carry it. Notifications: when
an attempt began handing the message over

Revision ID: 0011_requested_work
Revises: 0010_number_lookups
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_requested_work'
down_revision = '0010_number_lookups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('requested_work',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=200), nullable=False),
    sa.Column('args', sa.JSON(), nullable=False),
    sa.Column('queue', sa.String(length=30), nullable=False),
    sa.Column('about_kind', sa.String(length=40), nullable=False),
    sa.Column('about_key', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'running', 'done', 'failed', name='requested_work_state', native_enum=False, length=20), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interrupted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.CheckConstraint("state IN ('waiting', 'running', 'done', 'failed')", name=op.f('ck_requested_work_requested_work_state')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_requested_work_attempts_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_requested_work'))
    )
    with op.batch_alter_table('requested_work', schema=None) as batch_op:
        batch_op.create_index('ix_requested_work_about', ['about_kind', 'about_key'], unique=False)
        batch_op.create_index('ix_requested_work_due', ['state', 'sent_at'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handover_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('handover_at')
    with op.batch_alter_table('requested_work', schema=None) as batch_op:
        batch_op.drop_index('ix_requested_work_due')
        batch_op.drop_index('ix_requested_work_about')
    op.drop_table('requested_work')
