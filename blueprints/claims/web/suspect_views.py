"""The adjudicator's answers to a suspect duplicate (S01) on the claim page: "not a duplicate" (approved as
proposed, with a note) and "reject as duplicate" (M03), each confirmed first with what will happen."""

from __future__ import annotations

from flask import url_for
from wtforms import IntegerField, StringField
from wtforms.validators import Length, Optional

from blueprints.claims import bp, services
from blueprints.claims.web.claim_views import DECIDERS, claim_action
from blueprints.claims.web.forms import VERSION
from medcover import confirm
from medcover.forms import Form
from medcover.pages import actor
from medcover.rbac import allow


class DuplicateForm(Form):
    version = IntegerField("Version", validators=VERSION)
    note = StringField("Your note", validators=[Optional(), Length(max=400)])


def _match(claim) -> str:
    return ((claim.review_details or {}).get("S01") or {}).get("claim_number") or "another claim"


@bp.post("/claims/<id:claim_id>/not-duplicate")
@allow(DECIDERS)
def claim_not_duplicate(claim_id: int):
    form = DuplicateForm()
    return claim_action(
        claim_id,
        form,
        lambda: services.suspects.not_duplicate(
            actor=actor(), claim_id=claim_id, note=form.note.data or "", version=form.version.data
        ),
        "Claim {number} is not a duplicate: it is {status}.",
        "duplicate_form",
        lambda claim: confirm.Ask(
            question=f"Approve claim {claim.claim_number} for KES {claim.total_approved:,.2f} as not a duplicate of "
            f"{_match(claim)}?",
            consequence="The claim is approved as proposed, with your note kept on the decision; the provider and the "
            "member are told. After this the decision changes only through a dispute.",
            button="Not a duplicate: approve",
            cancel_url=url_for("claims.claim", claim_id=claim.id),
            facts=(("Note", form.note.data or ""),),
        ),
    )


@bp.post("/claims/<id:claim_id>/reject-duplicate")
@allow(DECIDERS)
def claim_reject_duplicate(claim_id: int):
    form = DuplicateForm()
    return claim_action(
        claim_id,
        form,
        lambda: services.suspects.reject_as_duplicate(
            actor=actor(), claim_id=claim_id, note=form.note.data or "", version=form.version.data
        ),
        "Claim {number} is rejected as a duplicate.",
        "duplicate_form",
        lambda claim: confirm.Ask(
            question=f"Reject claim {claim.claim_number}, billed KES {claim.total_billed:,.2f}, as a duplicate of "
            f"{_match(claim)}?",
            consequence="Every line is rejected (M03) naming the claim it duplicates; nothing on it will be paid. The "
            "provider and the member are told; after this the decision changes only through a dispute.",
            button="Reject as duplicate",
            cancel_url=url_for("claims.claim", claim_id=claim.id),
            danger=True,
            facts=(("Note", form.note.data or ""),),
        ),
    )
