"""Submit what is on the screen (UI.md, issue 13): the draft form's contents are saved and submitted in one step,
or refused with "unsaved changes" keeping what was typed; never dropped."""

from __future__ import annotations

from decimal import Decimal

from blueprints.claims.models import Claim, ClaimStatus
from medcover.extensions import db
from tests.claims.test_views import HTMX, _commit, _draft, _html, _intake

D = Decimal


def test_submitting_sends_the_diagnosis_typed_into_the_draft(cw, client, login):
    claim = _draft(cw, [("CONSULT", 1, "2500.00")])
    _commit()
    login(cw.clerk)
    page = _html(client.get(f"/claims/{claim.id}"))
    assert "data-submit-claim" in page and f'formaction="/claims/{claim.id}/submit"' in page
    typed = _intake(
        cw,
        diagnosis_codes="J06.9",
        version=str(claim.version),
        **{"lines-1-service_code": "LAB-FBC", "lines-1-quantity": "1", "lines-1-unit_price": "1200.00"},
    )
    response = client.post(f"/claims/{claim.id}/submit", data=typed, headers=HTMX)
    assert response.status_code == 200, _html(response)[:500]
    db.session.expire_all()
    stored = db.session.get(Claim, claim.id)
    assert stored.status is ClaimStatus.APPROVED
    assert stored.diagnosis_codes == ["J06.9"]
    # 2,500.00 less the 10% copay, and the lab test in full
    assert (stored.total_billed, stored.total_approved) == (D("3700.00"), D("3450.00"))


def test_a_bad_value_typed_refuses_the_submission_and_keeps_what_was_typed(cw, client, login):
    claim = _draft(cw, [("CONSULT", 1, "2500.00")])
    _commit()
    login(cw.clerk)
    typed = _intake(cw, diagnosis_codes="J06.9, nope", version=str(claim.version))
    response = client.post(f"/claims/{claim.id}/submit", data=typed, headers=HTMX)
    assert response.status_code == 422 and "is not an ICD-10 code" in _html(response)
    assert 'value="J06.9, nope"' in _html(response)
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).status is ClaimStatus.DRAFT


def test_a_draft_changed_elsewhere_is_refused_as_unsaved_changes_keeping_the_typing(cw, client, login):
    claim = _draft(cw, [("CONSULT", 1, "2500.00")])
    _commit()
    login(cw.clerk)
    typed = _intake(cw, diagnosis_codes="A09", version=str(claim.version - 1 or 99))
    response = client.post(f"/claims/{claim.id}/submit", data=typed, headers=HTMX)
    assert response.status_code == 409 and "Unsaved changes" in _html(response)
    assert 'value="A09"' in _html(response)
    db.session.expire_all()
    stored = db.session.get(Claim, claim.id)
    assert stored.status is ClaimStatus.DRAFT and stored.diagnosis_codes != ["A09"]
