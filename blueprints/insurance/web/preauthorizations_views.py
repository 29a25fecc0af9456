"""Insurance pages: pre-authorisations (hospitals ask and follow their requests; the insurer decides)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.insurance import bp, services
from blueprints.insurance.models import PreauthStatus
from blueprints.insurance.web.forms import PreauthForm, choices
from blueprints.insurance.web.views import (
    DECIDERS,
    PREAUTH_READERS,
    PREAUTH_REQUESTERS,
    catalogue_benefits,
    is_htmx,
    refused,
)
from medcover import clock
from medcover.errors import DomainError, Invalid
from medcover.extensions import db
from medcover.pages import actor, page_of, render, tenant, toast
from medcover.rbac import allow


def _preauth_page(form=None, status: int = 200):
    status_filter = request.args.get("status", "")
    if form is None:
        form = PreauthForm(formdata=None)
        form.valid_from.data = clock.today()
    form.benefit_code.choices = choices(
        [("", "Choose a benefit…")] + [(b.code, f"{b.code} · {b.name}") for b in catalogue_benefits()]
    )
    viewer = tenant()
    rows, paging = page_of(services.preauthorizations_query(viewer, status_filter))
    return render(
        "insurance/preauthorizations.html",
        "insurance/_preauth_rows.html",
        status=status,
        rows=rows,
        paging=paging,
        form=form,
        members=services.preauthorization_members(viewer, rows),
        benefits={b.id: b for b in catalogue_benefits()},
        statuses=list(PreauthStatus),
        status_filter=status_filter,
        can_request=current_user.role in PREAUTH_REQUESTERS,
        **_preauth_viewer(),
    )


def _preauth_viewer() -> dict:
    """What a row shows its viewer: a hospital follows its own requests; the insurer decides them."""
    hospital = tenant().institution_id is not None
    return {
        "can_decide": not hospital and current_user.role in DECIDERS,
        "from_hospital": hospital,
    }


@bp.get("/insurance/preauthorizations")
@allow(PREAUTH_READERS)
def preauthorizations():
    return _preauth_page()


@bp.post("/insurance/preauthorizations")
@allow(PREAUTH_REQUESTERS)
def preauthorization_request():
    form = PreauthForm()
    form.benefit_code.choices = choices([])
    if form.validate_on_submit():
        try:
            row = services.request_preauthorization(
                actor=actor(),
                member_number=form.member_number.data,
                benefit_code=form.benefit_code.data or "",
                valid_from=form.valid_from.data,
                valid_to=form.valid_to.data,
                notes=form.notes.data or "",
            )
        except DomainError as exc:
            return _preauth_page(form, refused(form, exc))
        db.session.commit()
        flash(f"Pre-authorisation {row.code} requested.", "success")
        return redirect(url_for("insurance.preauthorizations"), 303)
    return _preauth_page(form, 422)


@bp.post("/insurance/preauthorizations/<id:preauth_id>/decision")
@allow(DECIDERS)
def preauthorization_decide(preauth_id: int):
    decision = request.form.get("decision", "")
    try:
        if decision not in ("approve", "decline"):
            raise Invalid.field("decision", "Approve or decline.")
        row = services.decide_preauthorization(
            actor=actor(), preauthorization_id=preauth_id, approve=decision == "approve"
        )
    except DomainError as exc:
        db.session.rollback()
        if exc.status in (403, 404):  # a hospital's admin passes the role check but decides nothing
            raise
        flash(exc.detail, "error")
        return redirect(url_for("insurance.preauthorizations"), 303)
    db.session.commit()
    if not is_htmx():
        flash(f"{row.code} {row.status.value}.", "success")
        return redirect(url_for("insurance.preauthorizations"), 303)
    response = render(
        "insurance/preauthorizations.html",
        "insurance/_preauth_row.html",
        row=row,
        members=services.preauthorization_members(tenant(), [row]),
        benefits={b.id: b for b in catalogue_benefits()},
        **_preauth_viewer(),
    )
    return toast(response, f"{row.code} {row.status.value}.")
