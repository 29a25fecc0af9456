"""Refund pages: refunds by status, newest first; the pending ones carry Approve / Reject for a finance officer
other than the one who asked."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.core import services as core
from blueprints.payment import bp, services
from blueprints.payment.models import RefundStatus
from blueprints.payment.web.forms import DecideForm
from blueprints.payment.web.page_base import APPROVERS, READERS, refusal
from medcover import confirm, pages
from medcover.pages import page_of, render, submit, wants_partial
from medcover.rbac import allow


def _refund_context(rows) -> dict:
    return {
        "payments": services.payments_by_id({r.payment_id for r in rows}),
        "users": core.users_by_id({r.requested_by_id for r in rows} | {r.decided_by_id for r in rows}),
        "may_decide": current_user.role in APPROVERS,
        "me": current_user.id,
    }


@bp.get("/refunds")
@allow(READERS)
def refunds():
    """Refunds, newest first, by status; pending ones carry Approve / Reject for another finance officer."""
    status = request.args.get("status", "")
    status = status if status in {s.value for s in RefundStatus} else ""
    rows, paging = page_of(services.refunds_query(pages.tenant(), status=status))
    return render(
        "payment/refunds.html",
        "payment/_refund_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        statuses=list(RefundStatus),
        threshold=services.refund_threshold(),
        failed={},
        **_refund_context(rows),
    )


def _refund_row(refund, status: int = 200, failed=None):
    return render(
        "payment/_refund_row.html",
        status=status,
        r=refund,
        failed={refund.id: failed} if failed is not None else {},
        **_refund_context([refund]),
    )


def _decide(refund_id: int, approve: bool):
    """Approve or reject: HTMX gets the row back with a toast; a plain post 303 to the refunds with a flash."""
    refund = services.get_refund(pages.tenant(), refund_id)  # another tenant's: 404
    form = DecideForm()
    if approve and not confirm.confirmed() and form.validate_on_submit():
        payment = services.get_payment(pages.tenant(), refund.payment_id)
        return confirm.ask(
            confirm.Ask(
                question=f"Approve the refund of {payment.currency} {refund.amount:,.2f} on payment {payment.number}?",
                consequence="The money is given back to the payer. A refund paid out can't be undone.",
                button="Approve the refund",
                cancel_url=url_for("payment.refunds"),
                facts=(("Reason", refund.reason),),
            )
        )
    done = submit(
        form,
        lambda: services.decide_refund(
            actor=pages.actor(), refund_id=refund_id, approve=approve, note=form.note.data or ""
        ),
    )
    message = f"Refund {'approved' if approve else 'rejected'}."
    if not wants_partial():
        if done.ok:
            flash(message, "success")
            return redirect(url_for("payment.refunds"), 303)
        flash(refusal(form), "error")
        return redirect(url_for("payment.refunds"), 303)
    refund = services.get_refund(pages.tenant(), refund_id)
    if done.ok:
        return pages.toast(_refund_row(refund), message)
    return pages.toast(_refund_row(refund, 422, failed=form), refusal(form))


@bp.post("/refunds/<id:refund_id>/approve")
@allow(APPROVERS)
def refund_approve(refund_id: int):
    return _decide(refund_id, True)


@bp.post("/refunds/<id:refund_id>/reject")
@allow(APPROVERS)
def refund_reject(refund_id: int):
    return _decide(refund_id, False)
