"""Insurance pages: premium rates by age band, and the premium quote."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.insurance import bp, services
from blueprints.insurance.web.forms import QuoteForm, RateForm
from blueprints.insurance.web.views import READERS, WRITERS, choose_scheme, refused, visible_schemes
from medcover import clock
from medcover.errors import DomainError, Invalid
from medcover.extensions import db
from medcover.pages import actor, page_of, render, tenant
from medcover.rbac import allow


@bp.get("/insurance/premium-rates")
@allow(READERS)
def premium_rates(form=None, status: int = 200):
    scheme_id = request.args.get("scheme_id", type=int) or 0
    if form is None:
        form = RateForm(formdata=None, scheme_id=scheme_id)
    choose_scheme(form)
    rows, paging = page_of(services.rates_query(tenant(), scheme_id or None))
    return render(
        "insurance/premium_rates.html",
        status=status,
        rows=rows,
        paging=paging,
        form=form,
        scheme_id=scheme_id,
        schemes={s.id: s for s in visible_schemes()},
        can_write=current_user.role in WRITERS,
    )


@bp.post("/insurance/premium-rates")
@allow(WRITERS)
def premium_rate_add():
    form = RateForm()
    if form.validate_on_submit():
        try:
            rate = services.add_rate(
                actor=actor(),
                scheme_id=form.scheme_id.data or 0,
                member_type=form.member_type.data,
                age_from=form.age_from.data,
                age_to=form.age_to.data,
                annual_amount=form.annual_amount.data,
                effective_from=form.effective_from.data,
                effective_to=form.effective_to.data,
            )
        except DomainError as exc:
            return premium_rates(form=form, status=refused(form, exc))
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
    choose_scheme(form)
    if not asked:
        form.scheme_id.data = request.args.get("scheme_id", type=int) or 0
        form.start_date.data = clock.today()
    result, status = None, 200
    if asked and form.validate():
        try:
            result = services.quote(
                tenant=tenant(),
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
            status = refused(form, _dependant_field(exc))
    elif asked:
        status = 422
    scheme = next((s for s in visible_schemes() if result and s.id == result.scheme_id), None)
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
