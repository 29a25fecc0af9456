"""``ExplanationOfBenefit`` read and search (a claim and its decision, for members' statements) and
``PaymentReconciliation`` read and search (settlements: one detail per claim paid). Roles as /api/v1's claims
and settlements; another tenant's record is a 404.

| call                                               | roles                                              |
|----------------------------------------------------|----------------------------------------------------|
| GET /fhir/ExplanationOfBenefit[/{id}]              | claims' READERS (``web.claims``)                   |
| GET /fhir/PaymentReconciliation[/{id}]             | settlements' READERS: ADMIN, BILLING_CLERK,        |
|                                                    | FINANCE_OFFICER, AUDITOR, INTEGRATION              |
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import request

from blueprints.fhir import claim_reads, systems
from blueprints.fhir.eob import explanation_of_benefit
from blueprints.fhir.gateway import (
    FhirError,
    bp,
    page_args,
    refuse_unknown_params,
    register_capability,
    respond,
    searchset,
    token_param,
)
from blueprints.fhir.reconciliation import payment_reconciliation
from blueprints.fhir.web.claims import READERS, _claim_id, claims_searched
from blueprints.hospital import services as hospital
from blueprints.payment import services as payment
from medcover import clock
from medcover.api import tenant
from medcover.rbac import Role, allow

SETTLEMENT_READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
EOB_SEARCH = {"patient": "token", "claim": "reference"}
RECONCILIATION_SEARCH = {"requestor": "token", "created": "date"}
#: FHIR date prefixes: the first site-zone instant kept and the first one no longer kept, for a day
PREFIXES = ("eq", "ge", "gt", "le", "lt")
CREATED_HELP = "created: a day as YYYY-MM-DD with an optional prefix (eq, ge, gt, le, lt), e.g. ge2026-12-01."

register_capability("ExplanationOfBenefit", interactions=("read", "search-type"), search_params=EOB_SEARCH)
register_capability("PaymentReconciliation", interactions=("read", "search-type"), search_params=RECONCILIATION_SEARCH)


@bp.get("/ExplanationOfBenefit/<resource_id>")
@allow(READERS)
def read_explanation_of_benefit(resource_id: str):
    return respond(explanation_of_benefit(claim_reads.claim_view(tenant(), _claim_id(resource_id))))


@bp.get("/ExplanationOfBenefit")
@allow(READERS)
def search_explanations_of_benefit():
    refuse_unknown_params(set(EOB_SEARCH))
    rows, total = claims_searched()
    return respond(searchset([explanation_of_benefit(v) for v in claim_reads.claim_views(rows)], total=total))


@bp.get("/PaymentReconciliation/<resource_id>")
@allow(SETTLEMENT_READERS)
def read_payment_reconciliation(resource_id: str):
    row = payment.get_settlement(tenant(), _claim_id(resource_id))
    return respond(payment_reconciliation(claim_reads.settlement_views([row])[0]))


def created_bounds() -> tuple[datetime | None, datetime | None]:
    """``created`` as [from, before) instants: each value a day (YYYY-MM-DD, the site's zone) with a prefix."""
    start = end = None
    for raw in _created_values():
        prefix, text = (raw[:2], raw[2:]) if raw[:2] in PREFIXES else ("eq", raw)
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise FhirError(400, CREATED_HELP, code="value", expression=["created"]) from None
        first, after = clock.day_start(day), clock.day_start(day + timedelta(days=1))
        low = {"eq": first, "ge": first, "gt": after}.get(prefix)
        high = {"eq": after, "le": after, "lt": first}.get(prefix)
        start = max(start, low) if start and low else start or low
        end = min(end, high) if end and high else end or high
    return start, end


def _created_values() -> list[str]:
    values = [value.strip() for value in request.args.getlist("created")]
    if len(values) > 2 or any(len(value) > 12 for value in values):
        raise FhirError(400, CREATED_HELP, code="value", expression=["created"])
    return values


@bp.get("/PaymentReconciliation")
@allow(SETTLEMENT_READERS)
def search_payment_reconciliations():
    refuse_unknown_params(set(RECONCILIATION_SEARCH))
    page, count = page_args()
    institution_id = None
    code = token_param("requestor", systems.INSTITUTION_CODE)
    if code is not None:
        institution_id = hospital.institution_id_for_code(code.upper())
        if institution_id is None:
            return respond(searchset([], total=0))
    start, end = created_bounds()
    rows, total = payment.find_settlements(
        tenant(),
        institution_id=institution_id,
        created_from=start,
        created_before=end,
        offset=(page - 1) * count,
        limit=count,
    )
    return respond(searchset([payment_reconciliation(v) for v in claim_reads.settlement_views(rows)], total=total))
