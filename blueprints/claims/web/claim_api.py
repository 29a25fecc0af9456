"""Claims JSON API: claim intake (by hand or from an invoice), drafts, and reading with the reasons in words;
submission through the engine, adjudicators' decisions (one claim or a batch) and each claim's history are
``decision_api``'s, under the same table.

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
from typing import Annotated

from flask import request
from pydantic import BeforeValidator, Field, Strict, computed_field

from blueprints.billing import services as billing
from blueprints.claims import api_bp, engine, services
from blueprints.claims.models import ClaimStatus
from blueprints.claims.services.reading import claims_numbered
from blueprints.hospital import services as hospital
from medcover.api import (
    Day,
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    money_arg,
    page_model,
    page_response,
    parse,
    referenced,
    saved,
    tenant,
)
from medcover.errors import Invalid
from medcover.rbac import Role, allow

TAG = "Claims"
READERS = frozenset(
    {Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION}
)
FILERS = services.PROVIDER_WRITERS
DECIDERS = services.DECIDERS
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}


# --- input types: strict, so `true`, `"7"`, 12.5 or a timestamp are not taken for a number, money or a date -


Quantity = Annotated[int, Strict(), Field(ge=1, le=services.MAX_QUANTITY)]
Code = Annotated[str, Field(min_length=1, max_length=30)]
MemberNumber = Annotated[str, Field(min_length=1, max_length=30)]
Diagnosis = Annotated[str, Field(max_length=10)]
ClaimNumber = Annotated[str, Field(min_length=1, max_length=30)]


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
    #: the claim this one replaces, by id or claim number (the same provider's and member's, not paid);
    #: submitting this claim voids it
    replaces: Id | ClaimNumber | None = None


class ClaimFromInvoiceIn(Schema):
    invoice_id: Id


class ClaimVoidIn(Schema):
    """Why the claim is voided (required: the insurer and the timeline read it)."""

    reason: Annotated[str, Field(min_length=1, max_length=300)]


# --- answers ----------------------------------------------------------------------------------------


def reasons_in_words(codes) -> list[str]:
    return [engine.REASONS.get(code, code) for code in codes or ()]


class WaivableOut(Out):
    """What steps 1-4 give a rejected line as if its rule had not fired (M02: approve at most ``payable``)."""

    allowed: Money
    deductible: Money
    copay: Money
    payable: Money


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
    #: the adjudicator's note on a manual decision (M01, M02, M03)
    note: str | None
    #: a rejected line that can be waived (M02): its amounts as if the rule had not fired; null otherwise
    waivable: WaivableOut | None = None

    @computed_field
    @property
    def reasons(self) -> list[str]:
        """The reason codes in words."""
        return reasons_in_words(self.reason_codes)


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
    #: a review trigger sent the claim to an adjudicator
    review: bool
    reason_codes: list[str]
    #: the review triggers that fired (V02 threshold, S01 suspect duplicate, V01 random sample, V03 outlier), kept
    #: once the claim is decided
    review_codes: Annotated[list[str], BeforeValidator(lambda codes: codes or [])] = []
    #: send it back with approve / reject to detect a stale read
    version: int
    created_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None
    #: why and when the provider voided it (null unless void)
    void_reason: str | None = None
    voided_at: datetime | None = None
    #: the claim this one replaces (its id), and the claim replacing this one; null when there is none
    replaces: int | None = None
    replaces_claim_number: str | None = None
    replaced_by: int | None = None
    replaced_by_claim_number: str | None = None

    @computed_field
    @property
    def reasons(self) -> list[str]:
        return reasons_in_words(self.reason_codes)


def _with_chains(rows) -> list[ClaimSummaryOut]:
    """Claims with their replacement chain, read for the whole page at once."""
    found = services.chains(tenant(), rows)
    out = []
    for claim in rows:
        chain = found[claim.id]
        out.append(
            ClaimSummaryOut.model_validate(claim).model_copy(
                update={
                    "replaces": chain.replaces.id if chain.replaces else None,
                    "replaces_claim_number": chain.replaces.claim_number if chain.replaces else None,
                    "replaced_by": chain.replaced_by.id if chain.replaced_by else None,
                    "replaced_by_claim_number": chain.replaced_by.claim_number if chain.replaced_by else None,
                }
            )
        )
    return out


class ClaimOut(ClaimSummaryOut):
    items: list[ClaimItemOut]


ClaimPage = page_model(ClaimSummaryOut)


def claim_out(claim) -> ClaimOut:
    head = _with_chains([claim])[0]
    items = [
        ClaimItemOut.model_validate(item).model_copy(
            update={"waivable": WaivableOut(**item.waivable) if item.waivable and item.decision == "rejected" else None}
        )
        for item in services.items_of(claim.id)
    ]
    return ClaimOut(**dict(head), items=items)


def _replaces_id(data: ClaimIn) -> int | None:
    """``replaces`` by id or claim number: a claim the caller may not see is a field error, as every reference."""
    if data.replaces is None:
        return None
    if isinstance(data.replaces, int):
        return referenced("replaces", services.claim_row, tenant(), data.replaces).id
    found = claims_numbered(tenant(), data.replaces)
    if not found:
        raise Invalid.field("replaces", f"No claim of yours is numbered {data.replaces.strip()[:30]}.")
    return found[0].id


def _claim_input(data: ClaimIn) -> services.ClaimInput:
    return services.ClaimInput(
        member_number=data.member_number,
        institution_id=data.institution_id,
        service_date=data.service_date,
        items=[services.ItemInput(i.service_code, i.quantity, i.unit_price, i.preauth_code) for i in data.items],
        diagnosis_codes=data.diagnosis_codes,
        invoice_id=data.invoice_id,
        replaces_id=_replaces_id(data),
    )


def _referenced_in(data: ClaimIn) -> None:
    """The provider and invoice the body names must be the caller's to see: otherwise a field error."""
    referenced("institution_id", hospital.get_institution, tenant(), data.institution_id)
    if data.invoice_id is not None:
        referenced("invoice_id", billing.invoice_summary, tenant(), data.invoice_id)


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
        tenant(),
        status=choice_arg("status", ClaimStatus),
        institution_id=int_arg("institution_id"),
        scheme_id=int_arg("scheme_id"),
        member_number=request.args.get("member_number", "").strip()[:30],
        min_amount=money_arg("min_amount"),
        max_amount=money_arg("max_amount"),
        submitted_before=day_arg("submitted_before"),
        sort=choice_arg("sort", services.SORTS) or "-age",
    )
    return page_response(stmt, ClaimSummaryOut, ClaimPage, batch=_with_chains)


@api_bp.get(f"/claims/<{ID}:claim_id>")
@allow(READERS)
@documented("One claim with its lines, amounts, decisions and reasons", tag=TAG, responses={200: ClaimOut, 404: None})
def get_claim(claim_id: int):
    return jsonify_model(claim_out(services.claim_row(tenant(), claim_id)))


# --- intake and drafts ------------------------------------------------------------------------------


@api_bp.post("/claims")
@allow(FILERS)
@documented(
    "File a claim as a draft (the provider's billing staff)",
    tag=TAG,
    body=ClaimIn,
    responses={201: ClaimOut},
    description="Money is a string with two decimals; a service date in the future is refused (422). "
    "`replaces` (a claim id or number) files a replacement: the same provider and member, 409 when that claim is "
    "paid, disputed, void or already replaced; submitting the replacement voids it in the same transaction.",
)
def create_claim():
    data = parse(ClaimIn)
    _referenced_in(data)
    return created(claim_out(services.create_claim(actor=actor(), values=_claim_input(data))))


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
    referenced("invoice_id", billing.invoice_summary, tenant(), data.invoice_id)
    return created(claim_out(services.claim_from_invoice(actor=actor(), invoice_id=data.invoice_id)))


@api_bp.put(f"/claims/<{ID}:claim_id>")
@allow(FILERS)
@documented(
    "Change a draft claim: the whole claim, as on creation (a claim stays with its provider, its invoice and the "
    "claim it replaces: `replaces` may name that claim again or be left out)",
    tag=TAG,
    body=ClaimIn,
    responses={200: ClaimOut, 404: None, 409: None},
)
def update_claim(claim_id: int):
    data = parse(ClaimIn)
    claim = services.claim_row(tenant(), claim_id)
    if data.invoice_id not in (None, claim.invoice_id):
        raise Invalid.field("invoice_id", "A claim stays with its invoice.")
    claim = services.update_draft(actor=actor(), claim_id=claim.id, values=_claim_input(data))
    return saved(claim_out(claim))


@api_bp.post(f"/claims/<{ID}:claim_id>/void")
@allow(FILERS)
@documented(
    "Void a claim (the provider), with a reason: it consumes nothing any more",
    tag=TAG,
    body=ClaimVoidIn,
    responses={200: ClaimOut, 404: None, 409: None},
    description="A draft, submitted, pending or decided claim with no payment against it. 409 when a payment "
    "stands (a refund comes first), or the claim is paid, disputed or void already.",
)
def void_claim(claim_id: int):
    services.claim_row(tenant(), claim_id)  # another tenant's claim is a 404 whatever the body says
    data = parse(ClaimVoidIn)
    return saved(claim_out(services.void_claim(actor=actor(), claim_id=claim_id, reason=data.reason)))
