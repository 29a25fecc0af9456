"""A patient's billing panel (unbilled items, charges entered by hand, drafting an invoice from them), which
the hospital's patient page loads by URL (medcover.navigation.add_panel)."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_login import current_user

from blueprints.billing import bp, services
from blueprints.billing.services import WRITERS
from blueprints.billing.web.access import READERS
from blueprints.billing.web.forms import ChargeForm, DraftForm
from blueprints.hospital import services as hospital
from medcover.extensions import db
from medcover.pages import actor, render, submit, tenant, toast, wants_partial
from medcover.rbac import access_of, allow

#: the patient panel shows the latest invoices; the list (filtered by patient) has the rest
PANEL_INVOICES = 10


# --- a patient's billing panel -------------------------------------------------------------------


def _panel(patient, status: int = 200, **forms):
    """The panel on the hospital's patient page (loaded by HTMX), or a page of its own."""
    scope = tenant()
    invoices_stmt = services.invoices_query(scope, patient_id=patient.id).limit(PANEL_INVOICES)
    return render(
        "billing/patient_billing.html",
        "billing/_patient_billing.html",
        status=status,
        patient=patient,
        items=services.unbilled_items(scope, patient.id),
        invoices=list(db.session.scalars(invoices_stmt)),
        more_invoices=PANEL_INVOICES,
        writer=services.may_write(actor(), patient.institution_id),
        patient_page=_patient_page_url(patient),
        charge_form=forms.get("charge_form") or ChargeForm(formdata=None, prefix="charge"),
        charge_open=forms.get("charge_open", False),
        draft_form=forms.get("draft_form") or DraftForm(formdata=None),
    )


def _patient_page_url(patient) -> str | None:
    """The hospital's patient page, for those it lets in (read from its declaration: no import of its views)."""
    view = current_app.view_functions.get("hospital.patient")
    access = access_of(view) if view is not None else None
    if access is None or current_user.role not in access.roles:
        return None
    return url_for("hospital.patient", patient_id=patient.id)


@bp.get("/billing/patients/<id:patient_id>/billing")
@allow(READERS)
def patient_billing(patient_id: int):
    patient = hospital.get_patient(tenant(), patient_id)
    hospital.audit_patient_read(actor(), patient, "patient billing panel")
    return _panel(patient, charge_open=request.args.get("adding") == "1")


@bp.post("/billing/patients/<id:patient_id>/items")
@allow(WRITERS)
def item_add(patient_id: int):
    """A charge entered by hand; HTMX gets the panel back (with the errors, or the new item in the list)."""
    patient = hospital.get_patient(tenant(), patient_id)
    form = ChargeForm(prefix="charge")
    done = submit(
        form,
        lambda: services.add_item(
            actor=actor(),
            patient_id=patient.id,
            service_code=form.service_code.data,
            quantity=form.quantity.data,
            unit_price=form.unit_price.data or None,
            service_date=form.service_date.data or None,
        ),
    )
    patient = hospital.get_patient(tenant(), patient_id)
    if done.ok:
        message = f"{done.result.service_code} × {done.result.quantity} added to the unbilled items."
        if not wants_partial():
            flash(message, "success")
            return redirect(
                url_for("billing.patient_billing", patient_id=patient.id, adding=1, _anchor="add-charge"), 303
            )
        # the panel stays open for the next charge, on the same service date
        fresh = ChargeForm(formdata=None, prefix="charge", data={"service_date": form.service_date.data or ""})
        return toast(_panel(patient, charge_form=fresh, charge_open=True), message)
    return _panel(patient, done.status, charge_form=form)


@bp.post("/billing/patients/<id:patient_id>/invoices")
@allow(WRITERS)
def draft_create(patient_id: int):
    """The ticked unbilled items become one draft invoice; 303 to it."""
    patient = hospital.get_patient(tenant(), patient_id)
    form = DraftForm()
    done = submit(
        form, lambda: services.draft_from_items(actor=actor(), patient_id=patient.id, item_ids=form.item_ids.data)
    )
    if done.ok:
        flash(f"Draft invoice created with {len(services.lines_of(done.result.id))} lines.", "success")
        return redirect(url_for("billing.invoice", invoice_id=done.result.id), 303)
    return _panel(hospital.get_patient(tenant(), patient_id), done.status, draft_form=form)
