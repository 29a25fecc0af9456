"""Payment's public face: recording payments (invoices, claims, premiums) through a gateway adapter,
reversals, refunds with approval above a threshold, settlements of approved claims with their PDF advice,
payment methods, agents and commissions. Money movement is append-only: nothing here updates or deletes an
amount.

Each payment publishes ``payment.recorded`` (billing balances, claim statuses and reconciliation follow);
each refund and reversal publishes ``refund.recorded``. What is still owed is computed from this
domain's own rows (authoritative and synchronous), under a lock per paid thing.

One module per concept: ``payments``, ``balances`` (what is still owed), ``refunds``, ``settlements`` (and
``printing``, their advice), ``commissions`` (agents, rates, statements), ``methods`` (and ``gateways``);
``rules`` holds what they share (who moves money, the day it is dated, the audit line).
"""

from blueprints.payment.services.balances import Owed, owed
from blueprints.payment.services.commissions import (
    Statement,
    agent_statement,
    agents_of,
    agents_query,
    assign_agent,
    commission_rates,
    commissions_query,
    create_agent,
    get_agent,
    open_balances,
    pay_commissions,
    set_commission_rate,
)
from blueprints.payment.services.methods import (
    DETAIL_FIELDS,
    REFERENCE_RULES,
    add_method,
    get_method,
    methods_of,
    methods_query,
    set_method_active,
)
from blueprints.payment.services.payments import (
    PaymentInput,
    get_payment,
    original_of,
    payment_numbers,
    payments_by_id,
    payments_of_invoice,
    payments_query,
    record_payment,
    reversal_of,
    reverse_payment,
)
from blueprints.payment.services.printing import pdf_filename, settlement_html, settlement_pdf
from blueprints.payment.services.refunds import (
    DEFAULT_REFUND_THRESHOLD,
    decide_refund,
    get_refund,
    refund_threshold,
    refundable,
    refunds_of,
    refunds_query,
    request_refund,
)
from blueprints.payment.services.rules import APPROVERS, CASHIERS
from blueprints.payment.services.settlements import (
    SettlementLine,
    find_settlements,
    get_settlement,
    paid_claims,
    payments_of_settlements,
    settle,
    settlement_payments,
    settlement_preview,
    settlements_query,
)
from blueprints.payment.services.waiting import work_waiting

__all__ = [
    "APPROVERS",
    "CASHIERS",
    "DEFAULT_REFUND_THRESHOLD",
    "DETAIL_FIELDS",
    "REFERENCE_RULES",
    "Owed",
    "PaymentInput",
    "SettlementLine",
    "Statement",
    "add_method",
    "agent_statement",
    "agents_of",
    "agents_query",
    "assign_agent",
    "commission_rates",
    "commissions_query",
    "create_agent",
    "decide_refund",
    "get_agent",
    "get_method",
    "get_payment",
    "get_refund",
    "get_settlement",
    "methods_of",
    "methods_query",
    "open_balances",
    "original_of",
    "owed",
    "paid_claims",
    "pay_commissions",
    "payment_numbers",
    "payments_by_id",
    "payments_of_invoice",
    "payments_query",
    "pdf_filename",
    "record_payment",
    "refund_threshold",
    "refundable",
    "refunds_of",
    "refunds_query",
    "request_refund",
    "reversal_of",
    "reverse_payment",
    "set_commission_rate",
    "set_method_active",
    "settle",
    "settlement_html",
    "settlement_payments",
    "settlement_pdf",
    "settlement_preview",
    "settlements_query",
    "find_settlements",
    "payments_of_settlements",
    "work_waiting",
]
