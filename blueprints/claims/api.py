"""Claims JSON API: claim intake (by hand or from an invoice), drafts, submission through the engine,
adjudicators' decisions (one claim or a batch), reading with the reasons in words, and each claim's history.

Who may call what (tenancy is the services': a provider sees its institution's claims, an insurer its
members' claims, and another tenant's claim answers 404 as if it did not exist):

| call                                            | roles                                             |
|-------------------------------------------------|---------------------------------------------------|
| GET /claims, /claims/{id}, /claims/{id}/history | READERS                                           |
| POST /claims, /claims/from-invoice, PUT, submit,| FILERS: ADMIN, BILLING_CLERK, INTEGRATION (the    |
| void                                            | provider's; services.PROVIDER_WRITERS)            |
| process (re-run the engine)                     | FILERS + ADJUDICATOR                              |
| approve, reject, batch-approve                  | DECIDERS: ADMIN, ADJUDICATOR (the insurer's)      |

READERS = ADMIN, BILLING_CLERK, ADJUDICATOR, FINANCE_OFFICER, AUDITOR, INTEGRATION.
Every action calls the same service function as the claim pages.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from flask import request
from flask_login import current_user
from pydantic import Field, Strict, computed_field

from blueprints.billing import services as billing
from blueprints.claims import api_bp, engine, services
from blueprints.claims.models import ClaimStatus
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from medcover.api import (
    Day,
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    choice_arg,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    optional_body,
    page_model,
    paginate,
    parse,
    referenced,
    strict_money,
)
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Role, allow, tenant_of

TAG = "Claims"
READERS = frozenset(
    {Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION}
)
FILERS = services.PROVIDER_WRITERS
RERUNNERS = services.PROVIDER_WRITERS | services.DECIDERS
DECIDERS = services.DECIDERS
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
MAX_BATCH = 200


# --- input types: strict, so `true`, `"7"`, 12.5 or a timestamp are not taken for a number, money or a date -


Quantity = Annotated[int, Strict(), Field(ge=1, le=services.MAX_QUANTITY)]
LineNo = Annotated[int, Strict(), Field(ge=1, le=services.MAX_ITEMS)]
Version = Annotated[int, Strict(), Field(ge=1)]
Code = Annotated[str, Field(min_length=1, max_length=30)]
MemberNumber = Annotated[str, Field(min_length=1, max_length=30)]
Diagnosis = Annotated[str, Field(max_length=10)]
Note = Annotated[str, Field(min_length=1, max_length=500)]


# --- request bodies ---------------------------------------------------------------------------------


class ClaimItemIn(Schema):
    service_code: Code
    quantity: Quantity
    #: the provider's billed price for one unit
    unit_price: MoneyIn
    preauth_code: Annotated[str, Field(max_length=20)] | None = None


class ClaimIn(Schema):
    """A claim (API.md). ``invoice_id``: the invoice whose insurer part this claims (the provider's own)."""

    member_number: MemberNumber
    institution_id: Id
    service_date: Day
    diagnosis_codes: list[Diagnosis] = Field(default_factory=list, max_length=20)
    invoice_id: Id | None = None
    items: list[ClaimItemIn] = Field(min_length=1, max_length=services.MAX_ITEMS)


class ClaimFromInvoiceIn(Schema):
    invoice_id: Id


class ClaimActionIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class ClaimVoidIn(Schema):
    reason: Annotated[str, Field(max_length=300)] = ""


class ClaimOverrideIn(Schema):
    line_no: LineNo
    #: the amount to approve on the line: at most its allowed amount
    approved: MoneyIn
    note: Note


class ClaimApproveIn(Schema):
    """``version``: the claim's version as read; a claim changed since answers 409."""

    overrides: list[ClaimOverrideIn] = Field(default_factory=list, max_length=services.MAX_ITEMS)
    version: Version | None = None


class ClaimRejectIn(Schema):
    reason: Note
    version: Version | None = None


class ClaimBatchIn(Schema):
    claim_ids: list[Id] = Field(min_length=1, max_length=MAX_BATCH)


# --- answers ----------------------------------------------------------------------------------------


def _words(codes) -> list[str]:
    return [engine.REASONS.get(code, code) for code in codes or ()]


class ClaimItemOut(Out):
    line_no: int
    service_code: str
    benefit_code: str | None
    quantity: int
    unit_price: Money
    preauth_code: str | None
    billed: Money
    allowed: Money
    deductible: Money
    copay: Money
    approved: Money
    member_responsibility: Money
    #: approved, adjusted or rejected; null until decided
    decision: str | None
    reason_codes: list[str]
    #: the adjudicator's note on an override (M01)
    note: str | None

    @computed_field
    @property
    def reasons(self) -> list[str]:
        """The reason codes in words."""
        return _words(self.reason_codes)


class ClaimSummaryOut(Out):
    id: int
    claim_number: str
    status: ClaimStatus
    member_number: str
    institution_id: int
    company_id: int | None
    scheme_id: int | None
    invoice_id: int | None
    service_date: date
    diagnosis_codes: list[str]
    total_billed: Money
    total_approved: Money
    total_paid: Money
    #: the claim reached its scheme's review threshold
    review: bool
    reason_codes: list[str]
    #: send it back with approve / reject to detect a stale read
    version: int
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None

    @computed_field
    @property
    def reasons(self) -> list[str]:
        return _words(self.reason_codes)


class ClaimOut(ClaimSummaryOut):
    items: list[ClaimItemOut]


class ClaimStatusChangeOut(Out):
    from_status: str | None
    to_status: str
    at: datetime
    #: null: the engine or the system
    by_id: int | None
    by_name: str | None
    note: str | None


class ClaimDecisionLineOut(Out):
    line_no: int
    service_code: str | None = None
    benefit_code: str | None = None
    billed: Money
    allowed: Money
    deductible: Money
    copay: Money
    approved: Money
    member_responsibility: Money | None = None
    decision: str
    reason_codes: list[str]
    note: str | None = None

    @computed_field
    @property
    def reasons(self) -> list[str]:
        return _words(self.reason_codes)


class ClaimDecisionOut(Out):
    id: int
    #: engine, adjudicator or dispute
    source: str
    #: null when the engine decided
    by_id: int | None
    by_name: str | None
    at: datetime
    status: str
    total_approved: Money
    reason_codes: list[str]
    note: str | None
    lines: list[ClaimDecisionLineOut]

    @computed_field
    @property
    def reasons(self) -> list[str]:
        return _words(self.reason_codes)


class ClaimHistoryOut(Out):
    claim_id: int
    claim_number: str
    status: ClaimStatus
    status_changes: list[ClaimStatusChangeOut]
    decisions: list[ClaimDecisionOut]


class ClaimRefusalOut(Out):
    claim_id: int
    reason: str


class ClaimBatchOut(Out):
    #: claim numbers approved as proposed
    approved: list[str]
    refused: list[ClaimRefusalOut]


ClaimPage = page_model(ClaimSummaryOut)


# --- helpers ----------------------------------------------------------------------------------------


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _claim_out(claim) -> ClaimOut:
    head = ClaimSummaryOut.model_validate(claim)
    items = [ClaimItemOut.model_validate(item) for item in services.items_of(claim.id)]
    return ClaimOut(**dict(head), items=items)


def _created(claim):
    model = _claim_out(claim)
    db.session.commit()
    return jsonify_model(model, status=201)


def _saved(claim):
    model = _claim_out(claim)
    db.session.commit()
    return jsonify_model(model)


def _claim_input(data: ClaimIn) -> services.ClaimInput:
    return services.ClaimInput(
        member_number=data.member_number,
        institution_id=data.institution_id,
        service_date=data.service_date,
        items=[services.ItemInput(i.service_code, i.quantity, i.unit_price, i.preauth_code) for i in data.items],
        diagnosis_codes=data.diagnosis_codes,
        invoice_id=data.invoice_id,
    )


def _referenced_in(data: ClaimIn) -> None:
    """The provider and invoice the body names must be the caller's to see: otherwise a field error."""
    referenced("institution_id", hospital.get_institution, _tenant(), data.institution_id)
    if data.invoice_id is not None:
        referenced("invoice_id", billing.invoice_summary, _tenant(), data.invoice_id)


def _money_arg(name: str) -> Decimal | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return strict_money(raw)
    except ValueError:
        raise Invalid.field(name, 'Enter an amount such as "1250.00".') from None


def _sort_arg() -> str:
    sort = request.args.get("sort", "").strip() or "-age"
    if sort not in services.SORTS:
        raise Invalid.field("sort", "Choose one of " + ", ".join(services.SORTS) + ".")
    return sort


def _overrides(data: ClaimApproveIn) -> dict[int, tuple[Decimal, str]]:
    overrides: dict[int, tuple[Decimal, str]] = {}
    for override in data.overrides:
        if override.line_no in overrides:
            raise Invalid.field("overrides", f"Line {override.line_no} is overridden twice.")
        overrides[override.line_no] = (override.approved, override.note)
    return overrides


# --- reading ----------------------------------------------------------------------------------------


@api_bp.get("/claims")
@allow(READERS)
@documented(
    "Claims (a provider: its own; an insurer: its members'), newest submission first",
    tag=TAG,
    responses={200: ClaimPage},
    query={
        "status": "one status (draft, submitted, pending_review, approved, ...)",
        "institution_id": "one provider",
        "member_number": "one member",
        "scheme_id": "one scheme",
        "min_amount": "total billed at least, e.g. 1000.00",
        "max_amount": "total billed at most",
        "submitted_before": "submitted on or before, YYYY-MM-DD",
        "sort": "age, -age (default), amount or -amount",
        **PAGING,
    },
)
def list_claims():
    stmt = services.claims_query(
        _tenant(),
        status=choice_arg("status", ClaimStatus),
        institution_id=int_arg("institution_id"),
        scheme_id=int_arg("scheme_id"),
        member_number=request.args.get("member_number", "").strip()[:30],
        min_amount=_money_arg("min_amount"),
        max_amount=_money_arg("max_amount"),
        submitted_before=day_arg("submitted_before"),
        sort=_sort_arg(),
    )
    return jsonify_model(ClaimPage.model_validate(paginate(stmt, ClaimSummaryOut.model_validate)))


@api_bp.get(f"/claims/<{ID}:claim_id>")
@allow(READERS)
@documented("One claim with its lines, amounts, decisions and reasons", tag=TAG, responses={200: ClaimOut, 404: None})
def get_claim(claim_id: int):
    return jsonify_model(_claim_out(services.get_claim(_tenant(), claim_id)))


@api_bp.get(f"/claims/<{ID}:claim_id>/history")
@allow(READERS)
@documented(
    "The claim's status changes and every decision kept whole: who or what, when, the codes and amounts",
    tag=TAG,
    responses={200: ClaimHistoryOut, 404: None},
)
def claim_history(claim_id: int):
    claim = services.get_claim(_tenant(), claim_id)
    changes = services.history_of(claim.id)
    decisions = services.decisions_of(claim.id)
    names = {
        uid: user.full_name
        for uid, user in core.users_by_id([c.by_id for c in changes] + [d.by_id for d in decisions]).items()
    }
    return jsonify_model(
        ClaimHistoryOut(
            claim_id=claim.id,
            claim_number=claim.claim_number,
            status=claim.status,
            status_changes=[
                ClaimStatusChangeOut(
                    from_status=c.from_status,
                    to_status=c.to_status,
                    at=c.at,
                    by_id=c.by_id,
                    by_name=names.get(c.by_id),
                    note=c.note,
                )
                for c in changes
            ],
            decisions=[
                ClaimDecisionOut(
                    id=d.id,
                    source=d.source,
                    by_id=d.by_id,
                    by_name=names.get(d.by_id),
                    at=d.at,
                    status=d.status,
                    total_approved=d.total_approved,
                    reason_codes=list(d.reason_codes or ()),
                    note=d.note,
                    lines=[ClaimDecisionLineOut.model_validate(line) for line in d.lines or ()],
                )
                for d in decisions
            ],
        )
    )


# --- intake and drafts ------------------------------------------------------------------------------


@api_bp.post("/claims")
@allow(FILERS)
@documented(
    "File a claim as a draft (the provider's billing staff)",
    tag=TAG,
    body=ClaimIn,
    responses={201: ClaimOut},
    description="Money is a string with two decimals; a service date in the future is refused (422).",
)
def create_claim():
    data = parse(ClaimIn)
    _referenced_in(data)
    return _created(services.create_claim(actor=_actor(), values=_claim_input(data)))


@api_bp.post("/claims/from-invoice")
@allow(FILERS)
@documented(
    "A draft claim for the insurer's part of an issued invoice (its insured lines at their price)",
    tag=TAG,
    body=ClaimFromInvoiceIn,
    responses={201: ClaimOut, 409: None},
    description="409 when the invoice is not issued, has no insurer part, or is already claimed.",
)
def create_claim_from_invoice():
    data = parse(ClaimFromInvoiceIn)
    referenced("invoice_id", billing.invoice_summary, _tenant(), data.invoice_id)
    return _created(services.claim_from_invoice(actor=_actor(), invoice_id=data.invoice_id))


@api_bp.put(f"/claims/<{ID}:claim_id>")
@allow(FILERS)
@documented(
    "Change a draft claim: the whole claim, as on creation (a claim stays with its provider and invoice)",
    tag=TAG,
    body=ClaimIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def update_claim(claim_id: int):
    data = parse(ClaimIn)
    claim = services.get_claim(_tenant(), claim_id)
    if data.invoice_id not in (None, claim.invoice_id):
        raise Invalid.field("invoice_id", "A claim stays with its invoice.")
    claim = services.update_draft(actor=_actor(), claim_id=claim.id, values=_claim_input(data))
    return _saved(claim)


@api_bp.post(f"/claims/<{ID}:claim_id>/void")
@allow(FILERS)
@documented(
    "Void a draft claim",
    tag=TAG,
    body=ClaimVoidIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def void_claim(claim_id: int):
    data = optional_body(ClaimVoidIn)
    return _saved(services.void_claim(actor=_actor(), claim_id=claim_id, reason=data.reason))


# --- deciding ---------------------------------------------------------------------------------------


@api_bp.post(f"/claims/<{ID}:claim_id>/submit")
@allow(FILERS)
@documented(
    "Submit a draft: the engine decides it (ADJUDICATION.md) and the answer is the claim as decided",
    tag=TAG,
    body=ClaimActionIn,
    responses={200: ClaimOut, 404: None, 409: None},
    description="Where decisions run on a worker the answer is `submitted`; GET shows the decision once made. "
    "A claim reaching its scheme's review threshold answers `pending_review` with the engine's proposal.",
)
def submit_claim(claim_id: int):
    optional_body(ClaimActionIn)
    return _saved(services.submit_claim(actor=_actor(), claim_id=claim_id))


@api_bp.post(f"/claims/<{ID}:claim_id>/process")
@allow(RERUNNERS)
@documented(
    "Run the engine again on a submitted or pending-review claim (new facts: a pre-authorisation ...)",
    tag=TAG,
    body=ClaimActionIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def process_claim(claim_id: int):
    optional_body(ClaimActionIn)
    return _saved(services.process_claim(actor=_actor(), claim_id=claim_id))


@api_bp.post(f"/claims/<{ID}:claim_id>/approve")
@allow(DECIDERS)
@documented(
    "Approve a claim pending review as proposed, overriding lines (M01, at most the allowed amount) with a note",
    tag=TAG,
    body=ClaimApproveIn,
    responses={200: ClaimOut, 404: None, 409: None},
    description="409 when the claim is not pending review, or changed since `version` was read, or another "
    "adjudicator decided it a moment ago.",
)
def approve_claim(claim_id: int):
    data = optional_body(ClaimApproveIn)
    claim = services.approve_claim(actor=_actor(), claim_id=claim_id, overrides=_overrides(data), version=data.version)
    return _saved(claim)


@api_bp.post(f"/claims/<{ID}:claim_id>/reject")
@allow(DECIDERS)
@documented(
    "Reject a claim pending review as a whole, with a reason",
    tag=TAG,
    body=ClaimRejectIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def reject_claim(claim_id: int):
    data = parse(ClaimRejectIn)
    return _saved(services.reject_claim(actor=_actor(), claim_id=claim_id, reason=data.reason, version=data.version))


@api_bp.post("/claims/batch-approve")
@allow(DECIDERS)
@documented(
    "Approve many claims pending review as proposed; each one that cannot be is refused with its reason",
    tag=TAG,
    body=ClaimBatchIn,
    responses={200: ClaimBatchOut},
    description="At most 200 claims; one refusal spoils none of the others.",
)
def batch_approve():
    data = parse(ClaimBatchIn)
    result = services.bulk_approve(actor=_actor(), claim_ids=data.claim_ids)
    db.session.commit()
    return jsonify_model(
        ClaimBatchOut(
            approved=result.approved,
            refused=[ClaimRefusalOut(claim_id=int(key), reason=reason) for key, reason in result.refused.items()],
        )
    )
