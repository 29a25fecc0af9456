"""web push: staff members' push subscriptions (one per browser), and "push" as a notification channel

Revision ID: 0019_push_subscriptions
Revises: 0015_invoice_numbers
Create Date: 2026-12-03 15:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_push_subscriptions"
down_revision = "0018_oauth_webhooks"
branch_labels = None
depends_on = None

BEFORE = ["email", "sms", "in_app"]
AFTER = [*BEFORE, "push"]
TABLES = ("notification_preferences", "notification_templates", "notifications")


def _sql(values):
    return f"channel IN ({', '.join(repr(v) for v in values)})"


def _channels(values):
    for table in TABLES:
        name = f"ck_{table}_notification_channel"
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(name), type_="check")
            batch_op.create_check_constraint(op.f(name), _sql(values))


def upgrade():
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=100), nullable=False),
        sa.Column("browser", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint("endpoint", name=op.f("uq_push_subscriptions_endpoint")),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscriptions_user_id"), ["user_id"], unique=False)
    _channels(AFTER)


def downgrade():
    op.execute("DELETE FROM notification_logs WHERE notification_id IN (SELECT id FROM notifications WHERE channel = 'push')")
    op.execute("DELETE FROM notifications WHERE channel = 'push'")
    _channels(BEFORE)
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_user_id"))
    op.drop_table("push_subscriptions")
