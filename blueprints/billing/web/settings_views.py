"""The billing settings page: an institution's invoice prefix, tax, payment terms and bank details."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.billing import bp, services
from blueprints.billing.services import WRITERS
from blueprints.billing.web.access import institutions
from blueprints.billing.web.forms import SettingsForm
from medcover.errors import NotFound
from medcover.pages import actor, render, submit, tenant
from medcover.rbac import allow


def _settings_institution() -> int | None:
    """The user's own hospital; a platform admin names one with ``?institution_id=`` (None: not yet)."""
    if current_user.institution_id:
        return current_user.institution_id
    if not tenant().is_global:
        raise NotFound("No such institution.")  # an insurer's staff have no billing settings
    return request.args.get("institution_id", type=int) or None


@bp.route("/billing/settings", methods=["GET", "POST"], endpoint="settings")
@allow(WRITERS)
def billing_settings():
    institution_id = _settings_institution()
    if institution_id is None:
        status = 422 if request.method == "POST" else 200
        return render("billing/settings_choose.html", status=status, institutions=institutions())
    institution = services.institution_for_write(actor(), institution_id)
    if request.method == "GET":
        form = SettingsForm(obj=services.settings_for(institution_id))
        return render("billing/settings.html", form=form, institution=institution, choose=tenant().is_global)
    form = SettingsForm()
    done = submit(
        form,
        lambda: services.update_settings(
            actor=actor(),
            institution_id=institution_id,
            values=services.SettingsInput(
                invoice_prefix=form.invoice_prefix.data,
                tax_percent=form.tax_percent.data,
                payment_terms_days=form.payment_terms_days.data,
                currency=form.currency.data,
                bank_name=form.bank_name.data or "",
                bank_account=form.bank_account.data or "",
                bank_branch=form.bank_branch.data or "",
                payment_instructions=form.payment_instructions.data or "",
            ),
        ),
    )
    if done.ok:
        flash(f"Billing settings of {institution.name} saved.", "success")
        return redirect(
            url_for("billing.settings", institution_id=None if current_user.institution_id else institution_id), 303
        )
    return render(
        "billing/settings.html", status=done.status, form=form, institution=institution, choose=tenant().is_global
    )
