"""What the claim resources show, read through the domains' services in a fixed number of queries per page:
claims with their lines, providers, insurers, currencies, payment days and the providers' Claim identifiers;
pre-authorisation requests with their member and benefit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from blueprints.claims import services as claims
from blueprints.fhir import systems
from blueprints.fhir.claim_ids import SentAs, identifiers_of
from blueprints.fhir.claim_response import ClaimView, Party
from blueprints.fhir.reconciliation import PaidClaim, SettlementView
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment import services as payment
from medcover.rbac import Tenant

DEFAULT_CURRENCY = "KES"


def providers(institution_ids) -> dict[int, Party]:
    """Providers by id (each read as its own tenant: whoever sees a claim sees who sent it)."""
    found = {}
    for institution_id in {int(i) for i in institution_ids if i}:
        row = hospital.get_institution(Tenant(institution_id, None), institution_id)
        found[institution_id] = Party(systems.INSTITUTION_CODE, institution_id, row.code, row.name)
    return found


def insurers(company_ids) -> dict[int, Party]:
    found = {}
    for company_id in {int(i) for i in company_ids if i}:
        row = insurance.get_company(Tenant(None, company_id), company_id)
        found[company_id] = Party(systems.INSURER_CODE, company_id, row.code, row.name)
    return found


def claim_views(rows) -> list[ClaimView]:
    """The views of these claims (rows as ``claims.claim_row`` / ``find_claims`` read them, already the
    caller's to see)."""
    rows = list(rows)
    ids = [row.id for row in rows]
    items = claims.items_by_claim(ids)
    provider = providers(row.institution_id for row in rows)
    insurer = insurers(row.company_id for row in rows)
    currencies = insurance.scheme_currencies(row.scheme_id for row in rows)
    paid = claims.last_paid_on(ids)
    notes = claims.adjudicators_notes(ids)
    sent = identifiers_of(SentAs.CLAIM, ids)
    codes = {code for row in rows for code in row.reason_codes or ()}
    codes |= {code for lines in items.values() for line in lines for code in line.reason_codes or ()}
    words = claims.reason_words(codes)
    return [
        ClaimView(
            claim=row,
            items=items.get(row.id, []),
            provider=provider[row.institution_id],
            insurer=insurer.get(row.company_id) if row.company_id else None,
            currency=currencies.get(row.scheme_id) or DEFAULT_CURRENCY,
            reasons=words,
            paid_on=paid.get(row.id),
            notes=claim_notes(notes.get(row.id, []), items.get(row.id, [])),
            sent_as=sent.get(row.id),
        )
        for row in rows
    ]


def claim_notes(notes: list[str], items) -> list[str]:
    """The adjudicators' notes on the claim as a whole (a manual rejection's reason, a resolution), oldest first;
    a decision's note that only sums up its lines' notes is left to the lines."""
    line_notes = [item.note for item in items if item.note]
    return [note for note in notes if not any(line in note for line in line_notes)]


def claim_view(tenant: Tenant, claim_id: int) -> ClaimView:
    """One claim the tenant may see (another tenant's is ``NotFound``, as on /api/v1)."""
    return claim_views([claims.claim_row(tenant, claim_id)])[0]


# --- pre-authorisations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreauthView:
    id: int
    code: str
    #: requested, approved or declined
    status: str
    member_number: str
    benefit_code: str
    benefit_name: str
    valid_from: date
    valid_to: date
    created_at: datetime
    notes: str | None
    insurer: Party
    #: the hospital that asked (None: the insurer recorded it)
    provider: Party | None
    sent_as: tuple[str, str] | None


def preauth_view(tenant: Tenant, preauthorization_id: int) -> PreauthView:
    row = insurance.get_preauthorization(tenant, preauthorization_id)
    member = insurance.preauthorization_members(tenant, [row])[row.member_id]
    benefit = insurance.benefits_by_id([row.benefit_id])[row.benefit_id]
    requested_by = row.requested_by_institution_id
    return PreauthView(
        id=row.id,
        code=row.code,
        status=str(row.status),
        member_number=member.member_number,
        benefit_code=benefit.code,
        benefit_name=benefit.name,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        created_at=row.created_at,
        notes=row.notes,
        insurer=insurers([row.company_id])[row.company_id],
        provider=providers([requested_by])[requested_by] if requested_by else None,
        sent_as=identifiers_of(SentAs.PREAUTHORIZATION, [row.id]).get(row.id),
    )


# --- settlements ----------------------------------------------------------------------------------------


def settlement_views(rows) -> list[SettlementView]:
    """The views of settlements the caller sees: the claims each paid, read as the settlement's insurer (a fixed
    number of queries per insurer on the page)."""
    rows = list(rows)
    provider = providers(row.institution_id for row in rows)
    insurer = insurers(row.company_id for row in rows)
    payments = payment.payments_of_settlements(row.id for row in rows)
    paid_ids: dict[int, set[int]] = {}
    for row in rows:
        paid_ids.setdefault(row.company_id, set()).update(p.reference_id for p in payments[row.id])
    paid_claims = {}
    for company_id, ids in paid_ids.items():
        found, _ = claims.find_claims(Tenant(None, company_id), claim_ids=ids, limit=max(len(ids), 1))
        paid_claims.update({c.id: c for c in found})
    currencies = insurance.scheme_currencies({c.scheme_id for c in paid_claims.values()})
    views = []
    for row in rows:
        found = payments[row.id]
        mine = [paid_claims[p.reference_id] for p in found if p.reference_id in paid_claims]
        schemes = [c.scheme_id for c in mine]
        numbers = {c.id: c.claim_number for c in mine}
        views.append(
            SettlementView(
                settlement=row,
                paid=[PaidClaim(p.reference_id, numbers.get(p.reference_id), p.number, p.amount) for p in found],
                provider=provider[row.institution_id],
                insurer=insurer[row.company_id],
                currency=next((currencies[s] for s in schemes if s in currencies), DEFAULT_CURRENCY),
            )
        )
    return views
