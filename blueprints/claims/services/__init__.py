"""Claims' public face: intake (by hand, from an invoice, from integrations), submission and deciding with the
engine (one claim or a batch, set-based), adjudicators' approve / reject / override, payments seen on claims,
reading, the reads the payment domain needs, and the usage insurance shows on cover checks. Disputes, decision
letters, reconciliation and the insurers' dashboard are modules of their own (``services.disputes`` ...).

Other domains import this package only (``from blueprints.claims import services as claims``) and read claims as
plain values: ``claim_summaries`` / ``claim_summary`` (``ClaimSummary``), ``payable_claims``, ``approved_claims``
(``PayableClaim``), ``payable``, ``claim_ids_for_invoice``. ``claims_query`` is the claims domain's own (its
pages and API page it); no other domain filters on it. The claims domain's own code reads its rows with
``claim_row``, ``items_of``, ``history_of``, ``decisions_of``."""

from blueprints.claims.services import dashboard, disputes, letters, reconciliation, suspects
from blueprints.claims.services.access import DECIDERS, PROVIDER_WRITERS, for_decider
from blueprints.claims.services.decisions import record_decision
from blueprints.claims.services.finding import adjudicators_notes, find_claims, last_paid_on, reason_words
from blueprints.claims.services.intake import (
    MAX_ITEMS,
    MAX_QUANTITY,
    ClaimInput,
    ItemInput,
    claim_from_invoice,
    create_claim,
    update_draft,
)
from blueprints.claims.services.payments import record_payment_event, record_refund_event
from blueprints.claims.services.reading import (
    LIST_COLUMNS,
    QUEUE_COLUMNS,
    SORTS,
    TO_PAY,
    UNSENT,
    claim_numbers,
    claim_row,
    claims_query,
    decisions_of,
    history_of,
    items_by_claim,
    items_of,
    next_pending,
)
from blueprints.claims.services.review import BulkResult, approve_claim, bulk_approve, reject_claim
from blueprints.claims.services.submission import (
    BATCH,
    SPAN,
    decide_claims,
    decide_submitted,
    decides_in_background,
    decision_request,
    process_claim,
    redecision,
    submit_claim,
)
from blueprints.claims.services.summaries import (
    ClaimSummary,
    PayableClaim,
    approved_claims,
    claim_ids_for_invoice,
    claim_summaries,
    claim_summary,
    payable,
    payable_claims,
)
from blueprints.claims.services.transitions import move_claim
from blueprints.claims.services.usage import register, usage_for
from blueprints.claims.services.voids import Chain, chain_of, chains, void_claim
from blueprints.claims.services.waiting import work_waiting

__all__ = [
    "BATCH",
    "SPAN",
    "adjudicators_notes",
    "DECIDERS",
    "find_claims",
    "for_decider",
    "MAX_ITEMS",
    "MAX_QUANTITY",
    "PROVIDER_WRITERS",
    "LIST_COLUMNS",
    "QUEUE_COLUMNS",
    "SORTS",
    "TO_PAY",
    "UNSENT",
    "BulkResult",
    "Chain",
    "chain_of",
    "chains",
    "ClaimInput",
    "ClaimSummary",
    "ItemInput",
    "PayableClaim",
    "approve_claim",
    "approved_claims",
    "bulk_approve",
    "claim_from_invoice",
    "claim_ids_for_invoice",
    "claim_numbers",
    "claim_row",
    "claim_summaries",
    "claim_summary",
    "claims_query",
    "create_claim",
    "dashboard",
    "decide_claims",
    "decide_submitted",
    "decides_in_background",
    "decision_request",
    "decisions_of",
    "disputes",
    "history_of",
    "items_by_claim",
    "items_of",
    "last_paid_on",
    "letters",
    "move_claim",
    "next_pending",
    "payable",
    "payable_claims",
    "process_claim",
    "reason_words",
    "reconciliation",
    "record_decision",
    "record_payment_event",
    "record_refund_event",
    "redecision",
    "register",
    "reject_claim",
    "submit_claim",
    "suspects",
    "update_draft",
    "usage_for",
    "void_claim",
    "work_waiting",
]
