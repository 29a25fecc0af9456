"""Payment method pages: the hospital's or insurer's ways of taking money, with what the clerk tells the payer;
adding one, activating and deactivating."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.payment import bp, services
from blueprints.payment.web.forms import METHOD_LABELS, ActionForm, MethodForm
from blueprints.payment.web.page_base import APPROVERS, READERS, refusal
from medcover import pages
from medcover.pages import render, submit, wants_partial
from medcover.rbac import allow


def _may_set_up_methods() -> bool:
    return current_user.role in APPROVERS and not pages.tenant().is_global


def _methods_page(status: int = 200, form=None):
    return render(
        "payment/methods.html",
        status=status,
        rows=services.methods_of(pages.tenant()),
        form=form or MethodForm(formdata=None),
        can_manage=_may_set_up_methods(),
        platform=pages.tenant().is_global,
        methods=METHOD_LABELS,
        failed={},
    )


@bp.get("/payment-methods")
@allow(READERS)
def methods():
    """The hospital's or insurer's ways of taking money, with what the clerk tells the payer."""
    return _methods_page()


@bp.post("/payment-methods")
@allow(APPROVERS)
def method_add():
    form = MethodForm()
    done = submit(
        form,
        lambda: services.add_method(
            actor=pages.actor(), kind=form.kind.data, label=form.label.data, settings=form.settings()
        ),
    )
    if done.ok:
        flash(f"Payment method {done.result.label} added.", "success")
        return redirect(url_for("payment.methods"), 303)
    return _methods_page(done.status, form)


@bp.post("/payment-methods/<id:method_id>/active")
@allow(APPROVERS)
def method_active(method_id: int):
    """Activate or deactivate: HTMX gets the row back with a toast; a plain post 303 to the list."""
    row = services.get_method(pages.tenant(), method_id)  # another tenant's: 404
    form = ActionForm()
    active = request.form.get("active") == "1"
    done = submit(form, lambda: services.set_method_active(actor=pages.actor(), method_id=method_id, active=active))
    message = f"{row.label} {'activated' if active else 'deactivated'}."
    if not wants_partial():
        flash(message if done.ok else refusal(form), "success" if done.ok else "error")
        return redirect(url_for("payment.methods"), 303)
    row = services.get_method(pages.tenant(), method_id)
    response = render(
        "payment/_method_row.html",
        status=200 if done.ok else 422,
        m=row,
        can_manage=_may_set_up_methods(),
        methods=METHOD_LABELS,
        failed={} if done.ok else {row.id: form},
    )
    return pages.toast(response, message if done.ok else refusal(form))
