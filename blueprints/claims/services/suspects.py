"""Suspect duplicates (S01) for the adjudicator: the best match beside the claim, line by line, with the score's
parts; and the two answers to it, "not a duplicate" (approved as proposed, with the adjudicator's note) and
"reject as duplicate" (M03 on every line, naming the match)."""

from __future__ import annotations

from dataclasses import dataclass

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimItem, ClaimStatus
from blueprints.claims.services.access import for_decider
from blueprints.claims.services.reading import items_by_claim
from blueprints.claims.services.review import approve_claim, reject_claim
from blueprints.hospital import services as hospital
from medcover import fields
from medcover.errors import Conflict
from medcover.extensions import db
from medcover.rbac import Tenant

#: the score's parts in words, in DUPLICATE_PARTS order
PART_WORDS = {
    "same_provider": "Same provider",
    "same_service_date": "Same service date",
    "service_code_in_common": "A service in common",
    "diagnosis_code_in_common": "A diagnosis in common",
    "equal_total_billed": "Equal total billed",
}


@dataclass(frozen=True)
class ScorePart:
    words: str
    points: int
    scored: bool


@dataclass(frozen=True)
class LinePair:
    """One row of the side-by-side table: this claim's line and the match's, paired by service code first."""

    this: ClaimItem | None
    match: ClaimItem | None

    @property
    def same_service(self) -> bool:
        return self.this is not None and self.match is not None and self.this.service_code == self.match.service_code


@dataclass(frozen=True)
class Suspect:
    match: Claim
    #: the match's provider, by name
    provider: str
    score: int
    parts: tuple[ScorePart, ...]
    lines: tuple[LinePair, ...]


def _pairs(mine: list[ClaimItem], theirs: list[ClaimItem]) -> tuple[LinePair, ...]:
    left = sorted(theirs, key=lambda item: item.line_no)
    pairs = []
    for item in sorted(mine, key=lambda item: item.line_no):
        twin = next((other for other in left if other.service_code == item.service_code), None)
        if twin is not None:
            left.remove(twin)
        pairs.append(LinePair(item, twin))
    return tuple(pairs + [LinePair(None, other) for other in left])


def suspect_of(tenant: Tenant, claim: Claim) -> Suspect | None:
    """The claim's best match when S01 sent it to review and the viewer may see that claim (three queries)."""
    found = (claim.review_details or {}).get("S01")
    if "S01" not in (claim.review_codes or []) or not found:
        return None
    match = db.session.get(Claim, found.get("claim_id"))
    if match is None or match.member_number != claim.member_number or not tenant.owns(None, match.company_id):
        return None
    items = items_by_claim([claim.id, match.id])
    scored = set(found.get("parts") or ())
    parts = tuple(ScorePart(words, engine.DUPLICATE_PARTS[name], name in scored) for name, words in PART_WORDS.items())
    return Suspect(
        match=match,
        provider=hospital.institution_names().get(match.institution_id, ""),
        score=int(found.get("score") or 0),
        parts=parts,
        lines=_pairs(items.get(claim.id, []), items.get(match.id, [])),
    )


def _suspect_claim(actor, claim_id: int) -> tuple[Claim, str]:
    claim = for_decider(actor, claim_id)
    found = (claim.review_details or {}).get("S01") or {}
    if claim.status is not ClaimStatus.PENDING_REVIEW or "S01" not in (claim.review_codes or []):
        raise Conflict(f"Claim {claim.claim_number} is not waiting for review as a suspect duplicate.")
    return claim, found.get("claim_number") or "another claim"


def not_duplicate(*, actor, claim_id: int, note: str, version: int | None = None) -> Claim:
    """The adjudicator finds the claim is no duplicate: approved as proposed, the note kept with the decision."""
    claim, match = _suspect_claim(actor, claim_id)
    note = fields.text(note, "note", 400)
    return approve_claim(actor=actor, claim_id=claim.id, version=version, note=f"Not a duplicate of {match}: {note}")


def reject_as_duplicate(*, actor, claim_id: int, note: str = "", version: int | None = None) -> Claim:
    """The adjudicator finds the claim a duplicate: every line rejected (M03) with the match named."""
    claim, match = _suspect_claim(actor, claim_id)
    note = fields.text(note, "note", 400, required=False)
    reason = f"Duplicate of claim {match}" + (f": {note}" if note else ".")
    return reject_claim(actor=actor, claim_id=claim.id, reason=reason, version=version)
