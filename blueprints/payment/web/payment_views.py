"""Payment pages: the payments list, a payment with its refunds (refund it, reverse it), and the payments panel
on the invoice page (medcover.navigation.add_panel)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment import bp, services
from blueprints.payment.models import Payment, PaymentKind, RefundStatus
from blueprints.payment.web.forms import METHOD_LABELS, RefundForm, ReverseForm
from blueprints.payment.web.page_base import CASHIERS, READERS, day, link, refusal
from medcover import confirm, pages
from medcover.labels import label
from medcover.pages import page_of, render, submit, wants_partial
from medcover.rbac import allow

# --- what a payment paid for ---------------------------------------------------------------------


@dataclass(frozen=True)
class Paid:
    """What a payment was for, as a row or a page shows it."""

    label: str
    detail: str = ""
    url: str | None = None


def _paid_for(payments) -> dict[int, Paid]:
    """Invoice, claim or premium of each payment, in a fixed number of queries whatever the count."""
    tenant = pages.tenant()
    refs: dict[PaymentKind, set[int]] = {kind: set() for kind in PaymentKind}
    for p in payments:
        refs[p.kind].add(p.reference_id)
    invoices = billing.invoice_summaries(refs[PaymentKind.INVOICE])
    claim_rows = claims.claim_summaries(tenant, refs[PaymentKind.CLAIM])
    covers = insurance.coverage_summaries(tenant, refs[PaymentKind.PREMIUM])
    found = {}
    for p in payments:
        if p.kind is PaymentKind.INVOICE:
            inv = invoices.get(p.reference_id)
            number = inv.number if inv else "(not available)"
            found[p.id] = Paid(
                f"Invoice {number}",
                f"{label(p.payer).lower()}'s part",
                link("billing.invoice", invoice_id=p.reference_id),
            )
        elif p.kind is PaymentKind.CLAIM:
            claim = claim_rows.get(p.reference_id)
            number = claim.claim_number if claim else "(not available)"
            found[p.id] = Paid(
                f"Claim {number}", claim.member_number if claim else "", link("claims.claim", claim_id=p.reference_id)
            )
        else:
            cover = covers.get(p.reference_id)
            who = f"{cover.member_name} ({cover.member_number})" if cover else ""
            found[p.id] = Paid("Premium", who or "a member's cover")
    return found


# --- payments ------------------------------------------------------------------------------------


@bp.get("/payments")
@allow(READERS)
def payments():
    """Newest first, filtered by kind and day; HTMX gets the rows."""
    kind = request.args.get("kind", "")
    kind = kind if kind in {k.value for k in PaymentKind} else ""
    paid_on = day(request.args.get("paid_on"))
    tenant = pages.tenant()
    rows, paging = page_of(services.payments_query(tenant, kind=kind, paid_on=paid_on))
    return render(
        "payment/payments.html",
        "payment/_payment_rows.html",
        rows=rows,
        paging=paging,
        kind=kind,
        kinds=list(PaymentKind),
        paid_on=paid_on,
        paid=_paid_for(rows),
        methods=METHOD_LABELS,
        institutions=hospital.institution_names() if tenant.institution_id is None else {},
        companies=insurance.company_names() if tenant.company_id is None else {},
        may_record=current_user.role in CASHIERS,
    )


def _payment_page(payment: Payment, status: int = 200, partial: str | None = None, **forms):
    refunds = services.refunds_of([payment.id]).get(payment.id, [])
    reversal = services.reversal_of(payment)
    original = services.original_of(payment)
    refundable = services.refundable(payment)
    may_move = current_user.role in CASHIERS
    held = any(r.status is not RefundStatus.REJECTED for r in refunds)
    users = core.users_by_id(
        {payment.recorded_by_id, *(r.requested_by_id for r in refunds), *(r.decided_by_id for r in refunds)}
    )
    settlement = services.get_settlement(pages.tenant(), payment.settlement_id) if payment.settlement_id else None
    return render(
        "payment/payment.html",
        partial,
        status=status,
        payment=payment,
        paid=_paid_for([payment])[payment.id],
        refunds=refunds,
        reversal=reversal,
        original=original,
        refundable=refundable,
        settlement=settlement,
        users=users,
        methods=METHOD_LABELS,
        threshold=services.refund_threshold(),
        can_refund=may_move and refundable > 0,
        can_reverse=may_move and payment.amount > 0 and reversal is None and not held,
        refund_form=forms.get("refund_form") or RefundForm(formdata=None),
        reverse_form=forms.get("reverse_form") or ReverseForm(formdata=None),
    )


@bp.get("/payments/<id:payment_id>")
@allow(READERS)
def payment(payment_id: int):
    return _payment_page(services.get_payment(pages.tenant(), payment_id), partial="payment/_payment_detail.html")


def _payment_answer(payment_id: int, done, message, **forms):
    """Refund, reverse: HTMX gets the payment back with a toast (or the refusal on its form, 422); a plain
    post gets 303 back with a flash, or the page with the errors (422, or 409 when the payment's state says no)."""
    payment = services.get_payment(pages.tenant(), payment_id)
    form = next(iter(forms.values()))
    if not wants_partial():
        if done.ok:
            flash(message(done.result), "success")
            return redirect(url_for("payment.payment", payment_id=payment_id), 303)
        return _payment_page(payment, done.status, **forms)
    if done.ok:
        return pages.toast(_payment_page(payment, partial="payment/_payment_detail.html"), message(done.result))
    return pages.toast(_payment_page(payment, done.status, "payment/_payment_detail.html", **forms), refusal(form))


def _refunded(refund) -> str:
    amount = f"{refund.amount:,.2f}"
    if refund.status is RefundStatus.PENDING_APPROVAL:
        return f"Refund of {amount} requested; another finance officer approves it (above the threshold)."
    return f"Refund of {amount} recorded."


@bp.post("/payments/<id:payment_id>/refund")
@allow(CASHIERS)
def payment_refund(payment_id: int):
    services.get_payment(pages.tenant(), payment_id)  # another tenant's: 404 before anything else
    form = RefundForm()
    if not confirm.confirmed():
        payment = services.get_payment(pages.tenant(), payment_id)
        if form.validate_on_submit():
            return confirm.ask(
                confirm.Ask(
                    question=f"Refund {payment.currency} {form.amount.data} of payment {payment.number} to the "
                    f"{label(payment.payer).lower()}?",
                    consequence="The money is given back; above the approval threshold another finance officer "
                    "approves it first. A refund paid out can't be undone.",
                    button="Refund",
                    cancel_url=url_for("payment.payment", payment_id=payment_id),
                    facts=(("Reason", form.reason.data),),
                )
            )
        return _payment_answer(payment_id, pages.Submitted(False, 422), _refunded, refund_form=form)
    done = submit(
        form,
        lambda: services.request_refund(
            actor=pages.actor(), payment_id=payment_id, amount=form.amount.data, reason=form.reason.data
        ),
    )
    return _payment_answer(payment_id, done, _refunded, refund_form=form)


@bp.post("/payments/<id:payment_id>/reverse")
@allow(CASHIERS)
def payment_reverse(payment_id: int):
    services.get_payment(pages.tenant(), payment_id)
    form = ReverseForm()
    if not confirm.confirmed():
        payment = services.get_payment(pages.tenant(), payment_id)
        if form.validate_on_submit():
            return confirm.ask(
                confirm.Ask(
                    question=f"Reverse payment {payment.number} of {payment.currency} {payment.amount:,.2f}?",
                    consequence="A reversal row cancels it and what it paid is owed again. This can't be undone.",
                    button=f"Reverse {payment.number}",
                    cancel_url=url_for("payment.payment", payment_id=payment_id),
                    danger=True,
                    facts=(("Reason", form.reason.data),),
                )
            )
        return _payment_answer(payment_id, pages.Submitted(False, 422), lambda rev: "", reverse_form=form)
    done = submit(
        form, lambda: services.reverse_payment(actor=pages.actor(), payment_id=payment_id, reason=form.reason.data)
    )
    return _payment_answer(payment_id, done, lambda rev: f"Payment reversed by {rev.number}.", reverse_form=form)


@bp.get("/payments/invoices/<id:invoice_id>")
@allow(READERS)
def invoice_payments(invoice_id: int):
    """A panel for the invoice page (medcover.navigation.add_panel): its payments, and "Record payment"."""
    tenant = pages.tenant()
    invoice = billing.invoice_summary(tenant, invoice_id)
    rows = services.payments_of_invoice(tenant, invoice.id)
    may_record = (
        current_user.role in CASHIERS
        and (tenant.is_global or tenant.institution_id == invoice.institution_id)
        and invoice.status in ("issued", "partially_paid")
    )
    return render("payment/_invoice_payments.html", invoice=invoice, rows=rows, may_record=may_record)
