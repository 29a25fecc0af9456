"""Insurance pages: schemes and the scheme builder, the benefit catalogue, premium rates and quotes,
members and their cover, pre-authorisations, and the verify-cover page."""

from __future__ import annotations

import json
from datetime import date

from flask import flash, make_response, redirect, request, url_for
from flask_login import current_user

from blueprints.insurance import bp, coverage, premiums, services
from blueprints.insurance.forms import (
    BenefitAddForm,
    BenefitForm,
    BenefitTermsForm,
    CategoryForm,
    CloneForm,
    CoverageActionForm,
    EnrolForm,
    PreauthForm,
    QuoteForm,
    RateForm,
    SchemeCreateForm,
    SchemeEditForm,
    VerifyForm,
    choices,
)
from blueprints.insurance.models import CoverageStatus, PreauthStatus, SchemeStatus
from medcover import clock
from medcover.errors import DomainError, Invalid
from medcover.extensions import db
from medcover.pages import form_failed, page_of, render
from medcover.rbac import STAFF, Role, allow, tenant_of

#: who reads insurer records; who changes them (company admins included: the services check the tenant)
READERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR})
WRITERS = frozenset({Role.ADMIN})
#: pre-authorisations are decided by the insurer's adjudicators as well as its admins
DECIDERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
#: hospitals ask for pre-authorisations and follow their own requests (the services scope the rows)
PREAUTH_READERS = READERS | {Role.RECEPTIONIST, Role.BILLING_CLERK}
PREAUTH_REQUESTERS = DECIDERS | {Role.RECEPTIONIST, Role.BILLING_CLERK}


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _toast(response, message: str):
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def _companies() -> list:
    return list(db.session.scalars(services.companies_query(_tenant())))


def _company_names() -> dict[int, str]:
    return {c.id: c.name for c in _companies()}


def _schemes(**filters) -> list:
    return list(db.session.scalars(services.schemes_query(_tenant(), **filters)))


def _benefits() -> list:
    return list(db.session.scalars(services.benefits_query()))


def _company_choices(form) -> None:
    """Platform admins choose the insurer; company staff work for their own, so there is nothing to choose."""
    companies = _companies()
    form.company_id.choices = choices([(c.id, c.name) for c in companies])
    if request.method == "GET" and current_user.company_id:
        form.company_id.data = current_user.company_id


def _company_id(form) -> int:
    return current_user.company_id or form.company_id.data or 0


def _fail(form, exc: DomainError) -> int:
    """Undo the request's writes, put the messages on the form, and give the status to answer with."""
    form_failed(form, exc)
    # 422 for every form sent back with messages (a taken code too): htmx is configured to swap 422 only.
    return 422


# --- schemes -------------------------------------------------------------------------------------


@bp.get("/insurance/schemes")
@allow(READERS)
def schemes():
    q = request.args.get("q", "")[:60].replace("\x00", "")
    status = request.args.get("status", "")
    rows, paging = page_of(services.schemes_query(_tenant(), status=status, search=q))
    return render(
        "insurance/schemes.html",
        "insurance/_scheme_rows.html",
        rows=rows,
        paging=paging,
        q=q,
        status_filter=status,
        statuses=list(SchemeStatus),
        company_names=_company_names(),
    )


@bp.route("/insurance/schemes/new", methods=["GET", "POST"])
@allow(WRITERS)
def scheme_new():
    form = SchemeCreateForm()
    _company_choices(form)
    status = 200
    if form.validate_on_submit():
        try:
            scheme = services.create_scheme(actor=_actor(), company_id=_company_id(form), terms=_scheme_terms(form))
        except DomainError as exc:
            status = _fail(form, exc)
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
    )


def _builder(scheme, status: int = 200, partial: str | None = None, **forms):
    """The scheme builder page; ``forms`` replaces the blank forms (to show errors) and ``editing`` maps
    scheme-benefit ids to the row forms open for editing."""
    benefits = _benefits()
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
    return _builder(services.get_scheme(_tenant(), scheme_id))


@bp.post("/insurance/schemes/<id:scheme_id>")
@allow(WRITERS)
def scheme_update(scheme_id: int):
    scheme = services.get_scheme(_tenant(), scheme_id)
    form = SchemeEditForm()
    if form.validate_on_submit():
        try:
            services.update_scheme(
                actor=_actor(), scheme_id=scheme.id, terms=_scheme_terms(form), reason=form.reason.data or ""
            )
        except DomainError as exc:
            status = _fail(form, exc)
            return _builder(services.get_scheme(_tenant(), scheme_id), status, scheme_form=form)
        db.session.commit()
        flash("Scheme terms saved.", "success")
        return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
    return _builder(scheme, 422, scheme_form=form)


@bp.post("/insurance/schemes/<id:scheme_id>/clone")
@allow(WRITERS)
def scheme_clone(scheme_id: int):
    scheme = services.get_scheme(_tenant(), scheme_id)
    form = CloneForm()
    if form.validate_on_submit():
        try:
            clone = services.clone_scheme(
                actor=_actor(),
                scheme_id=scheme.id,
                code=form.code.data,
                name=form.name.data,
                effective_from=form.effective_from.data,
                effective_to=form.effective_to.data,
            )
        except DomainError as exc:
            status = _fail(form, exc)
            return _builder(services.get_scheme(_tenant(), scheme_id), status, clone_form=form)
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
    scheme = services.get_scheme(_tenant(), scheme_id)
    form = BenefitAddForm(prefix="add")
    status = 422
    if form.validate_on_submit():
        try:
            row = services.add_scheme_benefit(
                actor=_actor(),
                scheme_id=scheme.id,
                benefit_id=form.benefit_id.data or 0,
                terms=_benefit_terms(form),
                reason=form.reason.data or "",
            )
        except DomainError as exc:
            status = _fail(form, exc)
        else:
            db.session.commit()
            if not _is_htmx():
                flash("Benefit added.", "success")
                return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
            # The add row is replaced by the new row followed by a fresh add row: an append, in one swap.
            return _toast(_builder(scheme, partial="insurance/_benefit_added.html", row=row), "Benefit added.")
    return _builder(services.get_scheme(_tenant(), scheme_id), status, "insurance/_benefit_add.html", add_form=form)


@bp.get("/insurance/scheme-benefits/<id:row_id>")
@allow(READERS)
def scheme_benefit_row(row_id: int):
    row = services.get_scheme_benefit(_tenant(), row_id)
    return _builder(services.get_scheme(_tenant(), row.scheme_id), partial="insurance/_benefit_row.html", row=row)


@bp.get("/insurance/scheme-benefits/<id:row_id>/edit")
@allow(WRITERS)
def scheme_benefit_edit(row_id: int):
    row = services.get_scheme_benefit(_tenant(), row_id)
    form = BenefitTermsForm(obj=row, formdata=None, prefix=f"row{row.id}")
    scheme = services.get_scheme(_tenant(), row.scheme_id)
    return _builder(scheme, partial="insurance/_benefit_edit.html", row=row, editing={row.id: form})


@bp.post("/insurance/scheme-benefits/<id:row_id>")
@allow(WRITERS)
def scheme_benefit_update(row_id: int):
    row = services.get_scheme_benefit(_tenant(), row_id)
    form = BenefitTermsForm(prefix=f"row{row.id}")
    status = 422
    if form.validate_on_submit():
        try:
            row = services.update_scheme_benefit(
                actor=_actor(), scheme_benefit_id=row.id, terms=_benefit_terms(form), reason=form.reason.data or ""
            )
        except DomainError as exc:
            status = _fail(form, exc)
        else:
            db.session.commit()
            scheme = services.get_scheme(_tenant(), row.scheme_id)
            if not _is_htmx():
                flash("Benefit terms saved.", "success")
                return redirect(url_for("insurance.scheme", scheme_id=scheme.id), 303)
            return _toast(_builder(scheme, partial="insurance/_benefit_row.html", row=row), "Benefit terms saved.")
    row = services.get_scheme_benefit(_tenant(), row_id)
    scheme = services.get_scheme(_tenant(), row.scheme_id)
    return _builder(scheme, status, "insurance/_benefit_edit.html", row=row, editing={row.id: form})


@bp.post("/insurance/scheme-benefits/<id:row_id>/remove")
@allow(WRITERS)
def scheme_benefit_remove(row_id: int):
    row = services.get_scheme_benefit(_tenant(), row_id)
    scheme_id = row.scheme_id
    form = BenefitTermsForm(prefix=f"row{row.id}")
    if form.validate_on_submit():
        try:
            services.remove_scheme_benefit(actor=_actor(), scheme_benefit_id=row.id, reason=form.reason.data or "")
        except DomainError as exc:
            status = _fail(form, exc)
        else:
            db.session.commit()
            if not _is_htmx():
                flash("Benefit removed.", "success")
                return redirect(url_for("insurance.scheme", scheme_id=scheme_id), 303)
            # Empty: the remove button's hx-swap="delete" takes the row away.
            return _toast(make_response("", 200), "Benefit removed.")
    else:
        status = 422
    row = services.get_scheme_benefit(_tenant(), row_id)
    response = _builder(
        services.get_scheme(_tenant(), scheme_id),
        status,
        "insurance/_benefit_edit.html",
        row=row,
        editing={row.id: form},
    )
    response.headers["HX-Reswap"] = "outerHTML"  # the remove button asked for "delete"; show the errors instead
    return response


# --- benefit catalogue ---------------------------------------------------------------------------


def _catalogue(status: int = 200, **forms):
    categories = services.categories()
    benefit_form = forms.get("benefit_form") or BenefitForm(formdata=None, prefix="benefit")
    benefit_form.category_id.choices = choices([(0, "Choose a category…")] + [(c.id, c.name) for c in categories])
    return render(
        "insurance/catalogue.html",
        status=status,
        categories=categories,
        benefits=_benefits(),
        category_form=forms.get("category_form") or CategoryForm(formdata=None, prefix="category"),
        benefit_form=benefit_form,
        can_edit=current_user.role in WRITERS and _tenant().is_global,
    )


@bp.get("/insurance/catalogue")
@allow(READERS)
def catalogue():
    return _catalogue()


@bp.post("/insurance/catalogue/categories")
@allow(WRITERS)
def category_add():
    form = CategoryForm(prefix="category")
    if form.validate_on_submit():
        try:
            services.create_category(actor=_actor(), code=form.code.data, name=form.name.data)
        except DomainError as exc:
            return _catalogue(_fail(form, exc), category_form=form)
        db.session.commit()
        flash("Category added.", "success")
        return redirect(url_for("insurance.catalogue"), 303)
    return _catalogue(422, category_form=form)


@bp.post("/insurance/catalogue/benefits")
@allow(WRITERS)
def benefit_add():
    form = BenefitForm(prefix="benefit")
    if form.validate_on_submit():
        try:
            services.create_benefit(
                actor=_actor(), code=form.code.data, name=form.name.data, category_id=form.category_id.data or 0
            )
        except DomainError as exc:
            return _catalogue(_fail(form, exc), benefit_form=form)
        db.session.commit()
        flash("Benefit added to the catalogue.", "success")
        return redirect(url_for("insurance.catalogue"), 303)
    return _catalogue(422, benefit_form=form)


# --- premium rates and quotes --------------------------------------------------------------------


def _scheme_choices(form, blank: str = "Choose a scheme…") -> None:
    form.scheme_id.choices = choices([(0, blank)] + [(s.id, f"{s.code} · {s.name}") for s in _schemes()])


@bp.get("/insurance/premium-rates")
@allow(READERS)
def premium_rates(form=None, status: int = 200):
    scheme_id = request.args.get("scheme_id", type=int) or 0
    if form is None:
        form = RateForm(formdata=None, scheme_id=scheme_id)
    _scheme_choices(form)
    rows, paging = page_of(premiums.rates_query(_tenant(), scheme_id or None))
    return render(
        "insurance/premium_rates.html",
        status=status,
        rows=rows,
        paging=paging,
        form=form,
        scheme_id=scheme_id,
        schemes={s.id: s for s in _schemes()},
        can_write=current_user.role in WRITERS,
    )


@bp.post("/insurance/premium-rates")
@allow(WRITERS)
def premium_rate_add():
    form = RateForm()
    if form.validate_on_submit():
        try:
            rate = premiums.add_rate(
                actor=_actor(),
                scheme_id=form.scheme_id.data or 0,
                member_type=form.member_type.data,
                age_from=form.age_from.data,
                age_to=form.age_to.data,
                annual_amount=form.annual_amount.data,
                effective_from=form.effective_from.data,
                effective_to=form.effective_to.data,
            )
        except DomainError as exc:
            return premium_rates(form=form, status=_fail(form, exc))
        db.session.commit()
        flash("Premium rate added.", "success")
        return redirect(url_for("insurance.premium_rates", scheme_id=rate.scheme_id), 303)
    return premium_rates(form=form, status=422)


def _dates_from_lines(form) -> list[date]:
    """One date a line; a bad line is the field's error."""
    dates = []
    for number, line in enumerate((form.dependant_dates_of_birth.data or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            dates.append(date.fromisoformat(line))
        except ValueError:
            raise Invalid.field("dependant_dates_of_birth", f"Line {number} is not a date (YYYY-MM-DD).") from None
    return dates


@bp.get("/insurance/quote")
@allow(READERS)
def quote():
    """A quote changes nothing, so it is a GET (auditors may quote; the address can be shared)."""
    asked = "start_date" in request.args
    form = QuoteForm(request.args if asked else None)
    _scheme_choices(form)
    if not asked:
        form.scheme_id.data = request.args.get("scheme_id", type=int) or 0
        form.start_date.data = clock.today()
    result, status = None, 200
    if asked and form.validate():
        try:
            result = premiums.quote(
                tenant=_tenant(),
                scheme_id=form.scheme_id.data or 0,
                principal_date_of_birth=form.principal_date_of_birth.data,
                dependant_dates_of_birth=_dates_from_lines(form),
                start_date=form.start_date.data,
                end_date=form.end_date.data,
                frequency=form.frequency.data,
            )
        except DomainError as exc:
            if exc.status == 404:  # a scheme of another insurer, or none: a field error, not a page error
                exc = Invalid.field("scheme_id", "Choose one of your schemes.")
            status = _fail(form, _dependant_field(exc))
    elif asked:
        status = 422
    scheme = next((s for s in _schemes() if result and s.id == result.scheme_id), None)
    return render(
        "insurance/quote.html", "insurance/_quote.html", status=status, form=form, result=result, scheme=scheme
    )


def _dependant_field(exc: DomainError) -> DomainError:
    """The quote names a dependant's date as ``dependant_dates_of_birth.2``; the page has one field for all."""
    errors = {}
    for name, messages in (exc.errors or {}).items():
        if name.startswith("dependant_dates_of_birth."):
            line = int(name.rsplit(".", 1)[1]) + 1
            errors.setdefault("dependant_dates_of_birth", []).extend(f"Dependant {line}: {m}" for m in messages)
        else:
            errors.setdefault(name, []).extend(messages)
    exc.errors = errors
    return exc


# --- members and their cover ---------------------------------------------------------------------


@bp.get("/insurance/members")
@allow(READERS)
def members():
    q = request.args.get("q", "")[:60].replace("\x00", "")
    rows, paging = page_of(services.members_query(_tenant(), q))
    return render(
        "insurance/members.html",
        "insurance/_member_rows.html",
        rows=rows,
        paging=paging,
        q=q,
        company_names=_company_names(),
        can_write=current_user.role in WRITERS,
    )


@bp.route("/insurance/members/new", methods=["GET", "POST"])
@allow(WRITERS)
def member_new():
    form = EnrolForm()
    _company_choices(form)
    _scheme_choices(form)
    if request.method == "GET":
        form.start_date.data = clock.today()
    status = 200
    if form.validate_on_submit():
        filled = [(i, entry.form) for i, entry in enumerate(form.dependants) if not entry.form.is_blank()]
        try:
            head, _family = services.enrol(
                actor=_actor(),
                company_id=_company_id(form),
                principal=services.MemberDetails(
                    member_number=form.member_number.data,
                    first_name=form.first_name.data,
                    last_name=form.last_name.data,
                    date_of_birth=form.date_of_birth.data,
                    gender=form.gender.data,
                    email=form.email.data,
                    phone=form.phone.data,
                ),
                dependants=[
                    services.MemberDetails(
                        member_number=person.member_number.data or "",
                        first_name=person.first_name.data or "",
                        last_name=person.last_name.data or "",
                        date_of_birth=person.date_of_birth.data,
                        gender=person.gender.data or "",
                    )
                    for _i, person in filled
                ],
                scheme_id=form.scheme_id.data or 0,
                start_date=form.start_date.data,
                end_date=form.end_date.data,
            )
        except DomainError as exc:
            if exc.status == 404 and "scheme" in exc.detail.lower():
                exc = Invalid.field("scheme_id", "Choose one of the company's schemes.")
            status = _fail(form, _on_dependant_rows(exc, filled))
        else:
            db.session.commit()
            flash(f"{head.first_name} {head.last_name} is enrolled as {head.member_number}.", "success")
            return redirect(url_for("insurance.member", member_id=head.id), 303)
    elif request.method == "POST":
        status = 422
    return render("insurance/member_new.html", form=form, status=status)


def _on_dependant_rows(exc: DomainError, filled) -> DomainError:
    """``dependants.0.first_name`` names the first filled-in row; put the message on that row's field."""
    kept = {}
    for name, messages in (exc.errors or {}).items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "dependants" and parts[1].isdigit() and int(parts[1]) < len(filled):
            field = getattr(filled[int(parts[1])][1], parts[2], None)
            if field is not None:
                field.errors = list(field.errors) + list(messages)
                continue
        # "dependants" (two rows with one number) is about the family, so it is said above the form
        kept["family" if name == "dependants" else name] = messages
    if exc.errors and not kept:
        kept = {"": []}  # everything placed: no form-level copy of the detail
    exc.errors = kept
    return exc


def _member_page(member, status: int = 200):
    today = clock.today()
    check = coverage.verify(member.member_number, today)
    coverages = services.coverages_of(member.id)
    schemes = {s.id: s for s in _schemes()}
    principal = services.get_member(_tenant(), member.principal_id) if member.principal_id else None
    return render(
        "insurance/member.html",
        status=status,
        member=member,
        principal=principal,
        dependants=services.dependants_of(member.id),
        coverages=coverages,
        schemes=schemes,
        check=check,
        today=today,
        company_name=services.company_name(member.company_id),
        can_write=current_user.role in WRITERS,
        transitions=_coverage_actions(),
    )


def _coverage_actions() -> dict[str, list[tuple[str, str]]]:
    """The buttons each coverage status offers: (target status, label)."""
    return {
        CoverageStatus.ACTIVE.value: [("suspended", "Suspend"), ("cancelled", "Cancel")],
        CoverageStatus.SUSPENDED.value: [("active", "Reinstate"), ("cancelled", "Cancel")],
    }


@bp.get("/insurance/members/<id:member_id>")
@allow(READERS)
def member(member_id: int):
    return _member_page(services.get_member(_tenant(), member_id))


@bp.post("/insurance/coverages/<id:coverage_id>/status")
@allow(WRITERS)
def coverage_status(coverage_id: int):
    cover = services.get_coverage(_tenant(), coverage_id)
    form = CoverageActionForm()
    try:
        if not form.validate_on_submit():
            raise Invalid("Reload the page and try again.")
        services.change_coverage_status(
            actor=_actor(), coverage_id=cover.id, status=form.status.data or "", reason=form.reason.data or ""
        )
    except DomainError as exc:
        return _coverage_refused(cover.member_id, exc)
    db.session.commit()
    flash(f"Coverage is now {form.status.data}.", "success")
    return redirect(url_for("insurance.member", member_id=cover.member_id), 303)


@bp.post("/insurance/coverages/<id:coverage_id>/renew")
@allow(WRITERS)
def coverage_renew(coverage_id: int):
    cover = services.get_coverage(_tenant(), coverage_id)
    form = CoverageActionForm()
    try:
        if not form.validate_on_submit():
            raise Invalid("Reload the page and try again.")
        renewed = services.renew_coverage(actor=_actor(), coverage_id=cover.id)
    except DomainError as exc:
        return _coverage_refused(cover.member_id, exc)
    db.session.commit()
    flash(f"Renewed: covered {renewed.start_date} to {renewed.end_date}.", "success")
    return redirect(url_for("insurance.member", member_id=cover.member_id), 303)


def _coverage_refused(member_id: int, exc: DomainError):
    db.session.rollback()
    if exc.status == 404:
        raise exc
    flash(exc.detail if not exc.errors else " ".join(m for ms in exc.errors.values() for m in ms), "error")
    return _member_page(services.get_member(_tenant(), member_id), 422 if exc.status != 409 else 409)


# --- pre-authorisations --------------------------------------------------------------------------


def _preauth_page(form=None, status: int = 200):
    status_filter = request.args.get("status", "")
    if form is None:
        form = PreauthForm(formdata=None)
        form.valid_from.data = clock.today()
    form.benefit_code.choices = choices(
        [("", "Choose a benefit…")] + [(b.code, f"{b.code} · {b.name}") for b in _benefits()]
    )
    tenant = _tenant()
    rows, paging = page_of(services.preauthorizations_query(tenant, status_filter))
    return render(
        "insurance/preauthorizations.html",
        "insurance/_preauth_rows.html",
        status=status,
        rows=rows,
        paging=paging,
        form=form,
        members=services.preauthorization_members(tenant, rows),
        benefits={b.id: b for b in _benefits()},
        statuses=list(PreauthStatus),
        status_filter=status_filter,
        can_request=current_user.role in PREAUTH_REQUESTERS,
        **_preauth_viewer(),
    )


def _preauth_viewer() -> dict:
    """What a row shows its viewer: a hospital follows its own requests; the insurer decides them."""
    hospital = _tenant().institution_id is not None
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
                actor=_actor(),
                member_number=form.member_number.data,
                benefit_code=form.benefit_code.data or "",
                valid_from=form.valid_from.data,
                valid_to=form.valid_to.data,
                notes=form.notes.data or "",
            )
        except DomainError as exc:
            return _preauth_page(form, _fail(form, exc))
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
            actor=_actor(), preauthorization_id=preauth_id, approve=decision == "approve"
        )
    except DomainError as exc:
        db.session.rollback()
        if exc.status in (403, 404):  # a hospital's admin passes the role check but decides nothing
            raise
        flash(exc.detail, "error")
        return redirect(url_for("insurance.preauthorizations"), 303)
    db.session.commit()
    if not _is_htmx():
        flash(f"{row.code} {row.status.value}.", "success")
        return redirect(url_for("insurance.preauthorizations"), 303)
    response = render(
        "insurance/preauthorizations.html",
        "insurance/_preauth_row.html",
        row=row,
        members=services.preauthorization_members(_tenant(), [row]),
        benefits={b.id: b for b in _benefits()},
        **_preauth_viewer(),
    )
    return _toast(response, f"{row.code} {row.status.value}.")


# --- verify cover (every staff role; hospital staff check members of any insurer) ---------------


@bp.get("/insurance/verify")
@allow(STAFF)
def verify():
    form = VerifyForm(request.args)
    form.benefit_code.choices = choices([("", "Any benefit")] + [(b.code, f"{b.code} · {b.name}") for b in _benefits()])
    result, status = None, 200
    if not form.validate():
        status = 422
    elif (form.member_number.data or "").strip():
        result = _verification(form.member_number.data, form.service_date.data or clock.today(), form.benefit_code.data)
    return render("insurance/verify.html", "insurance/_verify_result.html", status=status, form=form, result=result)


def _verification(member_number: str, day: date, benefit_code: str | None):
    """The check as ``coverage.verify`` makes it; another insurer's members are unknown to insurer staff."""
    tenant = _tenant()
    if tenant.company_id is not None:
        try:
            services.member_by_number(tenant, member_number)
        except DomainError:
            return coverage.Verification(member_number.strip().upper(), day, False, ["R01"])
    return coverage.verify(member_number, day, benefit_code or None)
