"""Claim decision letters as inline PDFs: the page for people and the API call for integrations.

| call                                          | roles                                                     |
|-----------------------------------------------|-----------------------------------------------------------|
| GET /claims/<id>/letter.pdf?for=...           | claim_views.READERS: ADMIN, BILLING_CLERK, ADJUDICATOR,   |
|                                               | FINANCE_OFFICER, AUDITOR                                  |
| GET /api/v1/claims/{id}/letter.pdf?for=...    | claim_api.READERS: the same and INTEGRATION               |

``for`` is ``member`` (the default) or ``provider``. The claim must be one the caller sees (another
tenant's: 404) and decided (else 409).
"""

from __future__ import annotations

from flask import make_response, request

from blueprints.claims import api_bp, bp
from blueprints.claims.services import letters
from blueprints.claims.web import claim_api, claim_views
from medcover.api import actor, choice_arg, documented, tenant
from medcover.rbac import allow

PDF = "application/pdf"


def _letter_response(claim_id: int, audience: letters.Audience):
    viewer = tenant()
    claim = letters.decided_claim(viewer, claim_id)  # another tenant's: 404; no decision yet: 409
    letters.audit_letter_read(actor(), claim, audience)
    response = make_response(letters.letter_pdf(viewer, claim.id, audience))
    response.mimetype = PDF
    response.headers["Content-Disposition"] = f'inline; filename="{letters.pdf_filename(claim, audience)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/claims/<id:claim_id>/letter.pdf")
@allow(claim_views.READERS)
def claim_letter(claim_id: int):
    return _letter_response(claim_id, letters.audience_of(request.args.get("for")))


@api_bp.get(f"/claims/<{claim_api.ID}:claim_id>/letter.pdf")
@allow(claim_api.READERS)
@documented(
    "The claim's decision letter (explanation of benefits) as an A4 PDF",
    tag=claim_api.TAG,
    query={"for": "member (the default) or provider"},
    responses={200: None, 404: None, 409: None},
    description="Answers application/pdf, shown inline, named <claim number>-<member|provider>.pdf. "
    "Only a decided claim has a letter: 409 while it is a draft, submitted or pending review.",
)
def get_claim_letter(claim_id: int):
    return _letter_response(claim_id, letters.audience_of(choice_arg("for", letters.Audience)))
