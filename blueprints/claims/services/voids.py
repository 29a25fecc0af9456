"""Voids and replacements (ADJUDICATION.md, "Voids and replacements"): the provider voids its claim while no
payment stands against it, or files a replacement naming the claim it replaces; submitting the replacement voids
the original in the same transaction. A void claim consumes nothing: the readers of usage and duplicates
(``facts``, ``usage``, ``estimates``) count finalised or standing claims only, and void is neither."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.services.access import provider_check
from blueprints.claims.services.reading import claim_row
from blueprints.claims.services.transitions import VOIDABLE, audit, move_claim
from medcover import clock, fields
from medcover.errors import Conflict, Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, tenant_of


def _refuse_paid(claim: Claim, doing: str) -> None:
    if claim.status is ClaimStatus.PAID or claim.total_paid != 0:
        raise Conflict(
            f"Claim {claim.claim_number} has a payment against it, so it can't be {doing}; "
            "a refund of its payment comes first."
        )


def _void(actor, claim: Claim, reason: str) -> None:
    _refuse_paid(claim, "voided")
    before = claim.status
    now = clock.now()
    move_claim(
        claim, ClaimStatus.VOID, by_id=actor.id, note=reason, void_reason=reason, voided_at=now, voided_by_id=actor.id
    )
    audit(actor, "void", claim, before={"status": before.value}, after={"status": "void", "reason": reason})


def void_claim(*, actor, claim_id: int, reason: str = "") -> Claim:
    """The provider voids its claim while no payment stands against it: its lines consume nothing any more (a
    later claim gets the deductible and limits back) and its invoice may be claimed again. A paid, disputed or
    void claim is a 409; the reason is required."""
    claim = claim_row(tenant_of(actor), claim_id)
    provider_check(actor, claim.institution_id)
    _refuse_paid(claim, "voided")
    if claim.status not in VOIDABLE:
        move_claim(claim, ClaimStatus.VOID, by_id=actor.id)  # raises the table's 409, naming both statuses
    _void(actor, claim, fields.text(reason, "reason", 300, required=True))
    return claim


def replaceable(actor, *, replaces_id: int, institution_id: int, member_number: str) -> Claim:
    """The claim a new one may replace: the same provider's and member's, not paid, voidable, not yet a draft
    (a draft is edited instead) and not replaced already."""
    original = claim_row(tenant_of(actor), replaces_id)
    provider_check(actor, original.institution_id)
    if original.institution_id != institution_id:
        raise Invalid.field("replaces", f"Claim {original.claim_number} is another provider's.")
    if original.member_number != member_number:
        raise Invalid.field(
            "replaces", f"Claim {original.claim_number} is for member {original.member_number}; a replacement is too."
        )
    _refuse_paid(original, "replaced")
    if original.status is ClaimStatus.DRAFT:
        raise Conflict(f"Claim {original.claim_number} is a draft: change it instead of replacing it.")
    if original.status not in VOIDABLE:
        raise Conflict(
            f"Claim {original.claim_number} is {original.status.value.replace('_', ' ')}; it can't be replaced."
        )
    other = replacement_of(original.id)
    if other is not None:
        raise Conflict(f"Claim {original.claim_number} is already replaced by {other.claim_number}.")
    return original


def same_member(replacement: Claim, member_number: str) -> None:
    """A replacement stays with its original's member (a draft edited to another is refused)."""
    if not replacement.replaces_id:
        return
    original = db.session.get(Claim, replacement.replaces_id)
    if original is not None and original.member_number != member_number:
        raise Invalid.field(
            "member_number",
            f"This draft replaces {original.claim_number}, for member {original.member_number}; it stays theirs.",
        )


def replacement_of(claim_id: int, *, excluding: int | None = None) -> Claim | None:
    """The claim (not void) that replaces this one."""
    stmt = select(Claim).where(Claim.replaces_id == claim_id, Claim.status != ClaimStatus.VOID)
    if excluding is not None:
        stmt = stmt.where(Claim.id != excluding)
    return db.session.scalars(stmt).first()


def void_replaced(actor, replacement: Claim) -> Claim:
    """Submitting a replacement: its original, checked again under a lock (a payment may have arrived since the
    draft), is voided in the same transaction; refused, neither changes."""
    original = db.session.scalars(
        select(Claim).where(Claim.id == replacement.replaces_id).with_for_update()
    ).one_or_none()
    if original is None:
        raise NotFound("No such record.")
    db.session.refresh(original)
    same_member(replacement, replacement.member_number)
    _refuse_paid(original, "replaced")
    if original.status not in VOIDABLE or original.status is ClaimStatus.DRAFT:
        raise Conflict(
            f"Claim {original.claim_number} is {original.status.value.replace('_', ' ')}; "
            f"it can't be replaced by {replacement.claim_number}."
        )
    other = replacement_of(original.id, excluding=replacement.id)
    if other is not None and other.status is not ClaimStatus.DRAFT:
        raise Conflict(f"Claim {original.claim_number} is already replaced by {other.claim_number}.")
    _void(actor, original, f"Replaced by {replacement.claim_number}.")
    return original


@dataclass(frozen=True)
class Link:
    """One end of a replacement chain, as pages and the API name it."""

    id: int
    claim_number: str
    status: str


@dataclass(frozen=True)
class Chain:
    replaces: Link | None
    replaced_by: Link | None


def chains(tenant: Tenant, claims) -> dict[int, Chain]:
    """Each claim's original and replacement (a replacement not void, seen by this tenant), in two queries."""
    rows = list(claims)
    ids = {c.id for c in rows}
    originals = {c.replaces_id for c in rows if c.replaces_id}
    links: dict[int, Link] = {}
    by_original: dict[int, Link] = {}
    if originals:
        for c in db.session.scalars(select(Claim).where(Claim.id.in_(originals))):
            links[c.id] = Link(c.id, c.claim_number, c.status.value)
    if ids:
        for c in db.session.scalars(
            select(Claim).where(Claim.replaces_id.in_(ids), Claim.status != ClaimStatus.VOID).order_by(Claim.id)
        ):
            if _visible(tenant, c):
                by_original[c.replaces_id] = Link(c.id, c.claim_number, c.status.value)
    return {c.id: Chain(links.get(c.replaces_id) if c.replaces_id else None, by_original.get(c.id)) for c in rows}


def chain_of(tenant: Tenant, claim: Claim) -> Chain:
    return chains(tenant, [claim])[claim.id]


def _visible(tenant: Tenant, claim: Claim) -> bool:
    try:
        claim_row(tenant, claim.id)
    except NotFound:
        return False
    return True
