"""invariants in the database: CHECK constraints on every status and kind column; the audit log's route

Revision ID: 0012_invariants_and_audit_routes
Revises: 0010_number_lookups
Create Date: 2026-12-03 12:00:00.000000

The value lists are the Python enums' values as of this revision, written out (a migration must mean the same
thing forever); tests/security/test_invariants.py fails when a model's enum and the migrated database differ,
so a new value comes with a migration that replaces its constraint.
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0012_invariants_and_audit_routes"
down_revision = "0011_requested_work"
branch_labels = None
depends_on = None

#: table -> [(constraint, column, allowed values)]
ALLOWED = {
    "accounts_receivable": [
        ("ck_accounts_receivable_payer", "payer", ["patient", "insurer"]),
    ],
    "appointments": [
        ("ck_appointments_appointment_status", "status", ["booked", "checked_in", "completed", "cancelled", "no_show"]),
    ],
    "billing_items": [
        ("ck_billing_items_item_status", "status", ["unbilled", "billed", "cancelled"]),
    ],
    "claim_audit_trails": [
        (
            "ck_claim_audit_trails_status_one_of",
            "status",
            [
                "draft",
                "submitted",
                "pending_review",
                "approved",
                "partially_approved",
                "rejected",
                "disputed",
                "paid",
                "void",
            ],
        ),
    ],
    "claim_items": [
        ("ck_claim_items_decision_one_of", "decision", ["approved", "adjusted", "rejected"]),
    ],
    "claim_statuses": [
        (
            "ck_claim_statuses_from_status_one_of",
            "from_status",
            [
                "draft",
                "submitted",
                "pending_review",
                "approved",
                "partially_approved",
                "rejected",
                "disputed",
                "paid",
                "void",
            ],
        ),
        (
            "ck_claim_statuses_to_status_one_of",
            "to_status",
            [
                "draft",
                "submitted",
                "pending_review",
                "approved",
                "partially_approved",
                "rejected",
                "disputed",
                "paid",
                "void",
            ],
        ),
    ],
    "claims": [
        (
            "ck_claims_claim_status",
            "status",
            [
                "draft",
                "submitted",
                "pending_review",
                "approved",
                "partially_approved",
                "rejected",
                "disputed",
                "paid",
                "void",
            ],
        ),
    ],
    "clinical_orders": [
        ("ck_clinical_orders_order_kind", "kind", ["pharmacy", "lab", "radiology"]),
        ("ck_clinical_orders_order_status", "status", ["ordered", "dispensed", "resulted", "cancelled"]),
    ],
    "commission_payments": [
        ("ck_commission_payments_method_kind", "method", ["cash", "card", "bank_transfer", "mobile_money", "cheque"]),
    ],
    "coverages": [
        ("ck_coverages_coverage_status", "status", ["active", "suspended", "lapsed", "cancelled"]),
    ],
    "disputes": [
        ("ck_disputes_dispute_status", "status", ["open", "upheld", "dismissed"]),
        (
            "ck_disputes_claim_status_before_one_of",
            "claim_status_before",
            [
                "draft",
                "submitted",
                "pending_review",
                "approved",
                "partially_approved",
                "rejected",
                "disputed",
                "paid",
                "void",
            ],
        ),
    ],
    "financial_settlements": [
        ("ck_financial_settlements_method_kind", "method", ["cash", "card", "bank_transfer", "mobile_money", "cheque"]),
    ],
    "invoices": [
        ("ck_invoices_invoice_kind", "kind", ["invoice", "credit_note"]),
        ("ck_invoices_invoice_status", "status", ["draft", "issued", "partially_paid", "paid", "void"]),
    ],
    "medical_personnel": [
        (
            "ck_medical_personnel_personnel_kind",
            "kind",
            ["clinician", "nurse", "pharmacist", "lab_technician", "radiographer", "staff"],
        ),
    ],
    "notification_preferences": [
        ("ck_notification_preferences_notification_channel", "channel", ["email", "sms", "in_app"]),
    ],
    "notification_templates": [
        ("ck_notification_templates_notification_channel", "channel", ["email", "sms", "in_app"]),
    ],
    "notifications": [
        ("ck_notifications_notification_channel", "channel", ["email", "sms", "in_app"]),
        (
            "ck_notifications_notification_status",
            "status",
            ["queued", "sending", "sent", "delivered", "failed", "dead", "skipped", "unsure"],
        ),
    ],
    "payment_methods": [
        ("ck_payment_methods_method_kind", "kind", ["cash", "card", "bank_transfer", "mobile_money", "cheque"]),
    ],
    "payment_transactions": [
        ("ck_payment_transactions_transaction_kind", "kind", ["payment", "refund", "credit"]),
        ("ck_payment_transactions_payer", "payer", ["patient", "insurer"]),
    ],
    "payments": [
        ("ck_payments_payment_kind", "kind", ["invoice", "claim", "premium"]),
        ("ck_payments_method_kind", "method", ["cash", "card", "bank_transfer", "mobile_money", "cheque"]),
    ],
    "preauthorizations": [
        ("ck_preauthorizations_preauth_status", "status", ["requested", "approved", "declined"]),
    ],
    "premium_rates": [
        ("ck_premium_rates_member_type", "member_type", ["principal", "dependant"]),
    ],
    "reconciliation_records": [
        (
            "ck_reconciliation_records_reconciliation_status",
            "status",
            ["matched", "underpaid", "overpaid", "unpaid", "unclaimed"],
        ),
    ],
    "refunds": [
        ("ck_refunds_refund_status", "status", ["pending_approval", "approved", "rejected"]),
    ],
    "schemes": [
        ("ck_schemes_scheme_status", "status", ["draft", "active", "retired"]),
    ],
    "user_invitations": [
        (
            "ck_user_invitations_user_role",
            "role",
            ["admin", "receptionist", "billing_clerk", "adjudicator", "finance_officer", "auditor", "integration"],
        ),
    ],
    "users": [
        (
            "ck_users_user_role",
            "role",
            ["admin", "receptionist", "billing_clerk", "adjudicator", "finance_officer", "auditor", "integration"],
        ),
    ],
}


def _sql(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.String(length=200), nullable=True))
    for table, checks in ALLOWED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, column, values in checks:
                batch_op.create_check_constraint(op.f(name), _sql(column, values))


def downgrade():
    for table, checks in ALLOWED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _column, _values in checks:
                batch_op.drop_constraint(op.f(name), type_="check")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_column("route")
