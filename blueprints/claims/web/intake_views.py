"""Claim intake on pages: a draft keyed in by the provider's billing staff, made from an invoice in one click (and
the invoice page's claim panel), edited and submitted to the insurer (voids and replacements: ``void_views``)."""

from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.billing import services as billing
from blueprints.claims import bp, services
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.web.claim_views import PROVIDERS, READERS, claim_action, line_errors
from blueprints.claims.web.forms import ClaimForm, DraftActionForm, choices
from blueprints.hospital import services as hospital
from medcover import clock
from medcover.errors import Conflict, DomainError, Invalid
from medcover.extensions import db
from medcover.pages import actor, form_failed, render, safe_next, tenant
from medcover.rbac import allow


def _claim_input(form: ClaimForm, institution_id: int, **extra) -> services.ClaimInput:
    def given(value):
        return "" if value is None else value

    return services.ClaimInput(
        member_number=form.member_number.data or "",
        institution_id=institution_id,
        service_date=form.service_date.data,
        diagnosis_codes=[code for code in re.split(r"[\s,;]+", form.diagnosis_codes.data or "") if code],
        items=[
            services.ItemInput(
                entry.form.service_code.data or "",
                given(entry.form.quantity.data),
                given(entry.form.unit_price.data),
                entry.form.preauth_code.data or None,
            )
            for entry in form.lines
            if not entry.form.is_blank()
        ],
        **extra,
    )


def _hospitals(form: ClaimForm) -> bool:
    """Platform admins choose the hospital; a hospital's staff file for their own."""
    choose = tenant().is_global
    institutions = hospital.institutions_of(tenant()) if choose else []
    form.institution_id.choices = choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in institutions])
    return choose


@bp.route("/claims/new", methods=["GET", "POST"])
@allow(PROVIDERS)
def claim_new():
    form = ClaimForm() if request.method == "POST" else ClaimForm(formdata=None, service_date=clock.today())
    choose = _hospitals(form)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                institution_id = current_user.institution_id or form.institution_id.data or 0
                if not institution_id:
                    raise Invalid.field("institution_id", "Choose a hospital.")
                claim = services.create_claim(actor=actor(), values=_claim_input(form, institution_id))
            except DomainError as exc:
                status = form_failed(form, line_errors(form, exc))
            else:
                db.session.commit()
                flash(f"Draft {claim.claim_number} saved. Check it and submit it to the insurer.", "success")
                return redirect(url_for("claims.claim", claim_id=claim.id), 303)
    return render("claims/new.html", status=status, form=form.with_blank_lines(), choose_institution=choose)


@bp.post("/claims/<id:claim_id>/edit")
@allow(PROVIDERS)
def claim_edit(claim_id: int):
    claim = services.claim_row(tenant(), claim_id)
    form = ClaimForm()
    _hospitals(form)
    return claim_action(
        claim_id,
        form,
        lambda: services.update_draft(
            actor=actor(), claim_id=claim_id, values=_claim_input(form, claim.institution_id)
        ),
        "Draft {number} saved.",
        "draft_form",
    )


@bp.post("/claims/<id:claim_id>/submit")
@allow(PROVIDERS)
def claim_submit(claim_id: int):
    """Submit what is on the screen: the draft form's contents are saved and submitted in one transaction (a
    refusal of either keeps what was typed). A post without the contents submits the draft as stored."""
    claim = services.claim_row(tenant(), claim_id)
    if "member_number" not in request.form:
        return claim_action(
            claim_id,
            DraftActionForm(),
            lambda: services.submit_claim(actor=actor(), claim_id=claim_id),
            "Claim {number} submitted: {status}.",
            "action_form",
        )
    form = ClaimForm()
    _hospitals(form)

    def save_and_submit():
        if str(claim.version) != (request.form.get("version") or str(claim.version)):
            raise Conflict(
                f"Unsaved changes: draft {claim.claim_number} was changed by someone else since you opened it; "
                "reload it, then submit."
            )
        services.update_draft(actor=actor(), claim_id=claim_id, values=_claim_input(form, claim.institution_id))
        return services.submit_claim(actor=actor(), claim_id=claim_id)

    return claim_action(claim_id, form, save_and_submit, "Claim {number} submitted: {status}.", "draft_form")


@bp.post("/claims/from-invoice/<id:invoice_id>")
@allow(PROVIDERS)
def claim_from_invoice(invoice_id: int):
    """ "Claim the insurer's part" on an invoice: a draft of its insured lines, then its page."""
    back = safe_next(request.form.get("next"), url_for("claims.claims"))
    if not DraftActionForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(back, 303)
    try:
        claim = services.claim_from_invoice(actor=actor(), invoice_id=invoice_id)
    except (Conflict, Invalid) as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(back, 303)
    db.session.commit()
    flash(f"Draft {claim.claim_number} holds the insurer's part. Check it and submit it.", "success")
    return redirect(url_for("claims.claim", claim_id=claim.id), 303)


@bp.get("/claims/invoices/<id:invoice_id>")
@allow(READERS)
def invoice_claim(invoice_id: int):
    """A panel for the invoice page (medcover.navigation.add_panel): its claim, or the button to make one."""
    invoice = billing.invoice_summary(tenant(), invoice_id)
    existing = db.session.scalars(
        services.claims_query(tenant()).where(Claim.invoice_id == invoice.id, Claim.status != ClaimStatus.VOID)
    ).all()
    may_claim = (
        not existing
        and current_user.role in PROVIDERS
        and tenant().company_id is None
        and invoice.status in ("issued", "partially_paid", "paid")
        and bool(invoice.member_number)
        and invoice.insurer_part > 0
    )
    return render("claims/_invoice_claim.html", invoice=invoice, existing=existing, may_claim=may_claim)
