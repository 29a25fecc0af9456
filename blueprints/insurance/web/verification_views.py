"""Insurance pages: verify cover (every staff role; hospital staff check members of any insurer)."""

from __future__ import annotations

from datetime import date

from flask import request

from blueprints.insurance import bp, services
from blueprints.insurance.web.forms import VerifyForm, choices
from blueprints.insurance.web.views import catalogue_benefits
from medcover import clock
from medcover.errors import DomainError
from medcover.pages import render, tenant
from medcover.rbac import STAFF, allow


@bp.get("/insurance/verify")
@allow(STAFF)
def verify():
    form = VerifyForm(request.args)
    form.benefit_code.choices = choices(
        [("", "Any benefit")] + [(b.code, f"{b.code} · {b.name}") for b in catalogue_benefits()]
    )
    result, status = None, 200
    if not form.validate():
        status = 422
    elif (form.member_number.data or "").strip():
        result = _verification(form.member_number.data, form.service_date.data or clock.today(), form.benefit_code.data)
    return render("insurance/verify.html", "insurance/_verify_result.html", status=status, form=form, result=result)


def _verification(member_number: str, day: date, benefit_code: str | None):
    """The check as ``services.verify`` makes it; another insurer's members are unknown to insurer staff."""
    viewer = tenant()
    if viewer.company_id is not None:
        try:
            services.member_by_number(viewer, member_number)
        except DomainError:
            return services.Verification(member_number.strip().upper(), day, False, ["R01"])
    return services.verify(member_number, day, benefit_code or None)
