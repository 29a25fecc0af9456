"""Insurance pages: members, enrolling a family, and a member's page with their cover (suspend, reinstate,
cancel, renew)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.insurance import bp, services
from blueprints.insurance.models import CoverageStatus, SchemeStatus
from blueprints.insurance.services.members import audit_member_read, member_row
from blueprints.insurance.web.forms import CoverageActionForm, EnrolForm, choices
from blueprints.insurance.web.views import (
    READERS,
    WRITERS,
    choose_company,
    chosen_company_id,
    refused,
    visible_company_names,
    visible_schemes,
)
from medcover import clock
from medcover.errors import DomainError, Invalid
from medcover.extensions import db
from medcover.labels import day
from medcover.pages import actor, page_of, render, tenant
from medcover.rbac import allow


@bp.get("/insurance/members")
@allow(READERS)
def members():
    q = request.args.get("q", "")[:60].replace("\x00", "")
    rows, paging = page_of(services.members_query(tenant(), q))
    return render(
        "insurance/members.html",
        "insurance/_member_rows.html",
        rows=rows,
        paging=paging,
        q=q,
        company_names=visible_company_names(),
        can_write=current_user.role in WRITERS,
    )


def _enrol_schemes(form) -> None:
    """The scheme list holds the chosen insurer's schemes only (before a choice, the first insurer's, as the
    insurer list shows it), each with the dates it is in effect."""
    company_id = chosen_company_id(form) or next((c.value for c in form.company_id.choices), 0)
    rows = (
        [s for s in visible_schemes(company_id=company_id) if s.status is not SchemeStatus.RETIRED]
        if company_id
        else []
    )
    form.scheme_id.choices = choices([(0, "Choose a scheme…")] + [(s.id, _scheme_label(s)) for s in rows])
    form.company_id.render_kw = {
        "hx-get": url_for("insurance.enrol_schemes"),
        "hx-target": "#scheme-choice",
        "hx-swap": "outerHTML",
        "hx-trigger": "change",
    }


def _scheme_label(scheme) -> str:
    label = f"{scheme.code} · {scheme.name}"
    if scheme.effective_from and scheme.effective_from > clock.today():
        label += f" (from {scheme.effective_from.day} {scheme.effective_from:%b %Y})"
    if scheme.effective_to:
        label += f" (until {scheme.effective_to.day} {scheme.effective_to:%b %Y})"
    return label


@bp.get("/insurance/members/new/schemes")
@allow(WRITERS)
def enrol_schemes():
    """The enrolment form's scheme list for the insurer just chosen (htmx swaps it in; it saves nothing)."""
    form = EnrolForm(formdata=None, start_date=clock.today())
    choose_company(form)
    form.company_id.data = request.args.get("company_id", 0, type=int)
    _enrol_schemes(form)
    return render("insurance/member_new.html", "insurance/_enrol_schemes.html", form=form)


@bp.route("/insurance/members/new", methods=["GET", "POST"])
@allow(WRITERS)
def member_new():
    form = EnrolForm()
    choose_company(form)
    _enrol_schemes(form)
    if request.method == "GET":
        form.start_date.data = clock.today()
    status = 200
    if request.method == "POST" and request.form.get("show_schemes"):
        pass  # without JavaScript: the same form back, everything typed kept, the chosen insurer's schemes listed
    elif form.validate_on_submit():
        filled = [(i, entry.form) for i, entry in enumerate(form.dependants) if not entry.form.is_blank()]
        try:
            head, _family = services.enrol(
                actor=actor(),
                company_id=chosen_company_id(form),
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
            status = refused(form, _on_dependant_rows(exc, filled))
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
    check = services.verify(member.member_number, today)
    coverages = services.coverages_of(member.id)
    schemes = {s.id: s for s in visible_schemes()}
    principal = member_row(tenant(), member.principal_id) if member.principal_id else None
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
    row = member_row(tenant(), member_id)
    audit_member_read(actor(), row, "member page")
    return _member_page(row)


@bp.post("/insurance/coverages/<id:coverage_id>/status")
@allow(WRITERS)
def coverage_status(coverage_id: int):
    cover = services.get_coverage(tenant(), coverage_id)
    form = CoverageActionForm()
    try:
        if not form.validate_on_submit():
            raise Invalid("Reload the page and try again.")
        services.change_coverage_status(
            actor=actor(), coverage_id=cover.id, status=form.status.data or "", reason=form.reason.data or ""
        )
    except DomainError as exc:
        return _coverage_refused(cover.member_id, exc)
    db.session.commit()
    flash(f"Coverage is now {form.status.data}.", "success")
    return redirect(url_for("insurance.member", member_id=cover.member_id), 303)


@bp.post("/insurance/coverages/<id:coverage_id>/renew")
@allow(WRITERS)
def coverage_renew(coverage_id: int):
    cover = services.get_coverage(tenant(), coverage_id)
    form = CoverageActionForm()
    try:
        if not form.validate_on_submit():
            raise Invalid("Reload the page and try again.")
        renewed = services.renew_coverage(actor=actor(), coverage_id=cover.id)
    except DomainError as exc:
        return _coverage_refused(cover.member_id, exc)
    db.session.commit()
    flash(f"Renewed: covered {day(renewed.start_date)} to {day(renewed.end_date)}.", "success")
    return redirect(url_for("insurance.member", member_id=cover.member_id), 303)


def _coverage_refused(member_id: int, exc: DomainError):
    db.session.rollback()
    if exc.status == 404:
        raise exc
    flash(exc.detail if not exc.errors else " ".join(m for ms in exc.errors.values() for m in ms), "error")
    return _member_page(member_row(tenant(), member_id), 422 if exc.status != 409 else 409)
