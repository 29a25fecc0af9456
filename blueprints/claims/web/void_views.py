"""Voids and replacements on pages: the claim page's danger zone voids a claim (confirmed first, the reason typed),
and "Replace this claim" opens a new draft prefilled from the original's lines and diagnoses, which voids the
original when it is submitted."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from blueprints.claims import bp, services
from blueprints.claims.services.access import provider_check
from blueprints.claims.web.claim_views import PROVIDERS, claim_action, claim_page, line_errors, void_question
from blueprints.claims.web.forms import ClaimForm, VoidForm
from blueprints.claims.web.intake_views import _claim_input
from medcover import confirm
from medcover.errors import Conflict, DomainError
from medcover.extensions import db
from medcover.pages import actor, form_failed, render, tenant
from medcover.rbac import allow


@bp.post("/claims/<id:claim_id>/void")
@allow(PROVIDERS)
def claim_void(claim_id: int):
    form = VoidForm()

    def may_void():
        provider_check(actor(), services.claim_row(tenant(), claim_id).institution_id)

    return claim_action(
        claim_id,
        form,
        lambda: services.void_claim(actor=actor(), claim_id=claim_id, reason=form.reason.data or ""),
        "Claim {number} is void.",
        "void_form",
        question=lambda claim: confirm.Ask(
            **void_question(claim),
            cancel_url=url_for("claims.claim", claim_id=claim.id),
            danger=True,
            facts=(("Reason", form.reason.data or ""),),
        ),
        may_act=may_void,
    )


def _prefilled(original) -> ClaimForm:
    lines = [
        {
            "service_code": i.service_code,
            "quantity": i.quantity,
            "unit_price": i.unit_price,
            "preauth_code": i.preauth_code,
        }
        for i in services.items_of(original.id)
    ]
    return ClaimForm(
        formdata=None,
        member_number=original.member_number,
        service_date=original.service_date,
        diagnosis_codes=", ".join(original.diagnosis_codes or []),
        lines=lines,
    )


@bp.route("/claims/<id:claim_id>/replace", methods=["GET", "POST"])
@allow(PROVIDERS)
def claim_replace(claim_id: int):
    """A replacement draft: the original's lines and diagnoses to correct; saved, it is checked and submitted on its
    own page, and submitting it voids the original. A claim that can't be replaced answers its page with why."""
    original = services.claim_row(tenant(), claim_id)
    try:
        services.voids.replaceable(
            actor(),
            replaces_id=original.id,
            institution_id=original.institution_id,
            member_number=original.member_number,
        )
    except Conflict as exc:
        return claim_page(original, 409, conflict=exc.detail)
    status = 200
    form = ClaimForm() if request.method == "POST" else _prefilled(original)
    if request.method == "POST":
        status = 422
        form.institution_id.choices = []
        if form.validate_on_submit():
            try:
                claim = services.create_claim(
                    actor=actor(),
                    values=_claim_input(form, original.institution_id, replaces_id=original.id),
                )
            except DomainError as exc:
                status = form_failed(form, line_errors(form, exc))
            else:
                db.session.commit()
                flash(
                    f"Draft {claim.claim_number} replaces {original.claim_number}. Check it and submit it: "
                    f"submitting it voids {original.claim_number}.",
                    "success",
                )
                return redirect(url_for("claims.claim", claim_id=claim.id), 303)
    return render("claims/replace.html", status=status, form=form.with_blank_lines(), original=original)
