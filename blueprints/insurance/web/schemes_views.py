"""Insurance pages: the schemes list, a new scheme, and the scheme builder (terms, clone, and the benefit rows
added, edited and removed inline with htmx)."""

from __future__ import annotations

from flask import flash, make_response, redirect, request, url_for
from flask_login import current_user

from blueprints.insurance import bp, services
from blueprints.insurance.models import SchemeStatus
from blueprints.insurance.services.schemes import scheme_row
from blueprints.insurance.web.forms import (
    BenefitAddForm,
    BenefitTermsForm,
    CloneForm,
    SchemeCreateForm,
    SchemeEditForm,
    choices,
)
from blueprints.insurance.web.views import (
    READERS,
    WRITERS,
    catalogue_benefits,
    choose_company,
    chosen_company_id,
    is_htmx,
    refused,
    visible_company_names,
)
from medcover.errors import DomainError
from medcover.extensions import db
from medcover.pages import actor, page_of, render, tenant, toast
from medcover.rbac import allow


@bp.get("/insurance/schemes")
@allow(READERS)
def schemes():
    q = request.args.get("q", "")[:60].replace("\x00", "")
    status = request.args.get("status", "")
    rows, paging = page_of(services.schemes_query(tenant(), status=status, search=q))
    return render(
        "insurance/schemes.html",
        "insurance/_scheme_rows.html",
        rows=rows,
        paging=paging,
        q=q,
        status_filter=status,
        statuses=list(SchemeStatus),
        company_names=visible_company_names(),
    )


@bp.route("/insurance/schemes/new", methods=["GET", "POST"])
@allow(WRITERS)
def scheme_new():
    form = SchemeCreateForm()
    choose_company(form)
    status = 200
    if form.validate_on_submit():
        try:
            scheme = services.create_scheme(
                actor=actor(), company_id=chosen_company_id(form), terms=_scheme_terms(form)
            )
        except DomainError as exc:
            status = refused(form, exc)
        else:
            db.session.commit()
            flash(f"Scheme {scheme.code} created. Add its benefits below.", "success")
            return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
    elif request.method == "POST":
        status = 422
    return render("insurance/scheme_new.html", form=form, status=status)


def _scheme_terms(form) -> services.SchemeTerms:
    return services.SchemeTerms(
        code=form.code.data or "",
        name=form.name.data or "",
        currency=form.currency.data or "",
        status=form.status.data,
        effective_from=form.effective_from.data,
        effective_to=form.effective_to.data,
        annual_limit=form.annual_limit.data,
        deductible=form.deductible.data,
        timely_filing_days=form.timely_filing_days.data if form.timely_filing_days.data is not None else 180,
        review_threshold=form.review_threshold.data,
        review_sample_percent=_given(form.review_sample_percent.data, 0),
        duplicate_window_days=_given(form.duplicate_window_days.data, 3),
        duplicate_score_threshold=_given(form.duplicate_score_threshold.data, 60),
        variance_factor=form.variance_factor.data,
    )


def _given(value, default):
    """A blank whole-number field takes the scheme's default."""
    return default if value is None else value


def _builder(scheme, status: int = 200, partial: str | None = None, **forms):
    """The scheme builder page; ``forms`` replaces the blank forms (to show errors) and ``editing`` maps
    scheme-benefit ids to the row forms open for editing."""
    benefits = catalogue_benefits()
    rows = services.scheme_benefits(scheme.id)
    used = {row.benefit_id for row in rows}
    scheme_form = forms.get("scheme_form") or SchemeEditForm(obj=scheme, formdata=None)
    if "scheme_form" not in forms:
        scheme_form.status.data = scheme.status.value
    add_form = forms.get("add_form") or _blank_add_form()
    add_form.benefit_id.choices = choices(
        [(0, "Choose a benefit…")]
        + [(b.id, f"{b.code} · {b.name}") for b in benefits if b.id not in used or b.id == add_form.benefit_id.data]
    )
    return render(
        "insurance/scheme.html",
        partial,
        status=status,
        scheme=scheme,
        company_name=services.company_name(scheme.company_id),
        rows=rows,
        benefits={b.id: b for b in benefits},
        scheme_form=scheme_form,
        add_form=add_form,
        clone_form=forms.get("clone_form") or CloneForm(formdata=None),
        editing=forms.get("editing") or {},
        row=forms.get("row"),
        can_write=current_user.role in WRITERS,
        needs_reason=scheme.status is not SchemeStatus.DRAFT,
    )


def _blank_add_form() -> BenefitAddForm:
    return BenefitAddForm(formdata=None, prefix="add")


@bp.get("/insurance/schemes/<id:scheme_id>")
@allow(READERS)
def scheme(scheme_id: int):
    return _builder(scheme_row(tenant(), scheme_id))


@bp.post("/insurance/schemes/<id:scheme_id>")
@allow(WRITERS)
def scheme_update(scheme_id: int):
    scheme = scheme_row(tenant(), scheme_id)
    form = SchemeEditForm()
    if form.validate_on_submit():
        try:
            services.update_scheme(
                actor=actor(), scheme_id=scheme.id, terms=_scheme_terms(form), reason=form.reason.data or ""
            )
        except DomainError as exc:
            status = refused(form, exc)
            return _builder(scheme_row(tenant(), scheme_id), status, scheme_form=form)
        db.session.commit()
        flash("Scheme terms saved.", "success")
        return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
    return _builder(scheme, 422, scheme_form=form)


@bp.post("/insurance/schemes/<id:scheme_id>/clone")
@allow(WRITERS)
def scheme_clone(scheme_id: int):
    scheme = scheme_row(tenant(), scheme_id)
    form = CloneForm()
    if form.validate_on_submit():
        try:
            clone = services.clone_scheme(
                actor=actor(),
                scheme_id=scheme.id,
                code=form.code.data,
                name=form.name.data,
                effective_from=form.effective_from.data,
                effective_to=form.effective_to.data,
            )
        except DomainError as exc:
            status = refused(form, exc)
            return _builder(scheme_row(tenant(), scheme_id), status, clone_form=form)
        db.session.commit()
        flash(f"{clone.code} is a new draft version of {scheme.code}.", "success")
        return redirect(url_for("insurance.scheme", scheme_id=clone.id), 303)
    return _builder(scheme, 422, clone_form=form)


# --- the builder's benefit rows (HTMX inline add, edit, remove) ----------------------------------


def _benefit_terms(form) -> services.BenefitTerms:
    return services.BenefitTerms(
        covered=form.covered.data,
        annual_limit=form.annual_limit.data,
        per_visit_limit=form.per_visit_limit.data,
        copay_percent=form.copay_percent.data,
        copay_fixed=form.copay_fixed.data,
        waiting_period_days=form.waiting_period_days.data,
        requires_preauth=form.requires_preauth.data,
        max_visits=form.max_visits.data,
    )


@bp.post("/insurance/schemes/<id:scheme_id>/benefits")
@allow(WRITERS)
def scheme_benefit_add(scheme_id: int):
    scheme = scheme_row(tenant(), scheme_id)
    form = BenefitAddForm(prefix="add")
    status = 422
    if form.validate_on_submit():
        try:
            row = services.add_scheme_benefit(
                actor=actor(),
                scheme_id=scheme.id,
                benefit_id=form.benefit_id.data or 0,
                terms=_benefit_terms(form),
                reason=form.reason.data or "",
            )
        except DomainError as exc:
            status = refused(form, exc)
        else:
            db.session.commit()
            if not is_htmx():
                flash("Benefit added.", "success")
                return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
            # The add row is replaced by the new row followed by a fresh add row: an append, in one swap.
            return toast(_builder(scheme, partial="insurance/_benefit_added.html", row=row), "Benefit added.")
    return _builder(scheme_row(tenant(), scheme_id), status, "insurance/_benefit_add.html", add_form=form)


@bp.get("/insurance/scheme-benefits/<id:row_id>")
@allow(READERS)
def scheme_benefit_row(row_id: int):
    row = services.get_scheme_benefit(tenant(), row_id)
    return _builder(scheme_row(tenant(), row.scheme_id), partial="insurance/_benefit_row.html", row=row)


@bp.get("/insurance/scheme-benefits/<id:row_id>/edit")
@allow(WRITERS)
def scheme_benefit_edit(row_id: int):
    row = services.get_scheme_benefit(tenant(), row_id)
    form = BenefitTermsForm(obj=row, formdata=None, prefix=f"row{row.id}")
    scheme = scheme_row(tenant(), row.scheme_id)
    return _builder(scheme, partial="insurance/_benefit_edit.html", row=row, editing={row.id: form})


@bp.post("/insurance/scheme-benefits/<id:row_id>")
@allow(WRITERS)
def scheme_benefit_update(row_id: int):
    row = services.get_scheme_benefit(tenant(), row_id)
    form = BenefitTermsForm(prefix=f"row{row.id}")
    status = 422
    if form.validate_on_submit():
        try:
            row = services.update_scheme_benefit(
                actor=actor(), scheme_benefit_id=row.id, terms=_benefit_terms(form), reason=form.reason.data or ""
            )
        except DomainError as exc:
            status = refused(form, exc)
        else:
            db.session.commit()
            scheme = scheme_row(tenant(), row.scheme_id)
            if not is_htmx():
                flash("Benefit terms saved.", "success")
                return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
            return toast(_builder(scheme, partial="insurance/_benefit_row.html", row=row), "Benefit terms saved.")
    row = services.get_scheme_benefit(tenant(), row_id)
    scheme = scheme_row(tenant(), row.scheme_id)
    return _builder(scheme, status, "insurance/_benefit_edit.html", row=row, editing={row.id: form})


@bp.post("/insurance/scheme-benefits/<id:row_id>/remove")
@allow(WRITERS)
def scheme_benefit_remove(row_id: int):
    row = services.get_scheme_benefit(tenant(), row_id)
    scheme_id = row.scheme_id
    form = BenefitTermsForm(prefix=f"row{row.id}")
    if form.validate_on_submit():
        try:
            services.remove_scheme_benefit(actor=actor(), scheme_benefit_id=row.id, reason=form.reason.data or "")
        except DomainError as exc:
            status = refused(form, exc)
        else:
            db.session.commit()
            if not is_htmx():
                flash("Benefit removed.", "success")
                return redirect(url_for("insurance.scheme", scheme_id=scheme_id), 303)
            # Empty: the remove button's hx-swap="delete" takes the row away.
            return toast(make_response("", 200), "Benefit removed.")
    else:
        status = 422
    row = services.get_scheme_benefit(tenant(), row_id)
    response = _builder(
        scheme_row(tenant(), scheme_id),
        status,
        "insurance/_benefit_edit.html",
        row=row,
        editing={row.id: form},
    )
    response.headers["HX-Reswap"] = "outerHTML"  # the remove button asked for "delete"; show the errors instead
    return response
