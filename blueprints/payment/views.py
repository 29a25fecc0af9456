"""Payment pages: recording a payment against what is still owed, the payments list and a payment (refund,
reverse), refunds waiting for approval, settlements of approved claims with their PDF advice, agents and their
commissions, payment methods, and the payments panel on the invoice page (medcover.navigation.add_panel).

Each tenant sees its own: a hospital the money it received, an insurer the money it paid or took. A page a
role may open but its organisation cannot use (a hospital's finance officer on the agents page) explains that
instead of answering 403."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import Response, current_app, flash, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment import bp, printing, services
from blueprints.payment.forms import (
    DETAIL_FIELD,
    KIND_LABELS,
    METHOD_LABELS,
    PAYERS,
    ActionForm,
    AgentForm,
    AssignForm,
    CommissionPayForm,
    DecideForm,
    MethodForm,
    PreviewForm,
    RateForm,
    RecordForm,
    RefundForm,
    ReverseForm,
    SettleForm,
    StatementForm,
    choices,
)
from blueprints.payment.models import (
    Agent,
    Commission,
    CommissionRate,
    MethodKind,
    Payment,
    PaymentKind,
    PaymentMethod,
    RefundStatus,
)
from medcover import clock, fields
from medcover.errors import Conflict, DomainError, Invalid, NotFound
from medcover.extensions import db
from medcover.pages import form_failed, page_of, render, submit, wants_partial
from medcover.rbac import Role, Tenant, access_of, allow, ensure_owned, scope, tenant_of

#: who reads payments, refunds, settlements and payment methods (each its own tenant's)
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR})
#: who moves money on the pages (integration accounts record payments through the API only)
CASHIERS = services.CASHIERS - {Role.INTEGRATION}
#: who approves refunds, settles claims, pays commissions and sets up payment methods
APPROVERS = services.APPROVERS
#: agents and commissions are an insurer's business
AGENT_READERS = frozenset({Role.ADMIN, Role.FINANCE_OFFICER, Role.AUDITOR})
#: the record page lists this many invoices, claims or coverages to choose from
CANDIDATES = 10
SETTLEMENT_DAYS = 30


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _toast(response, message: str):
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response


def _text(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def _refusal(form) -> str:
    return (list(form.form_errors) + [m for f in form for m in f.errors] or ["That did not work."])[0]


def _whole(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def _link(endpoint: str, **values) -> str | None:
    """A link to another domain's page, for those it lets in (read from its declaration: no import of its views)."""
    view = current_app.view_functions.get(endpoint)
    access = access_of(view) if view is not None else None
    if access is None or current_user.role not in access.roles:
        return None
    return url_for(endpoint, **values)


def _finished(message: str, target: str):
    """A flow done: a flash and 303 to where it leads (htmx: 204 and HX-Redirect, so the page is not nested)."""
    flash(message, "success")
    if wants_partial():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


def _by_id(stmt, ids) -> dict[int, object]:
    """Rows of another domain's tenant-scoped query, by id, in one query (its batch read)."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {row.id: row for row in db.session.scalars(stmt.where(stmt.selected_columns.id.in_(ids)))}


# --- what a payment paid for ---------------------------------------------------------------------


@dataclass(frozen=True)
class Paid:
    """What a payment was for, as a row or a page shows it."""

    label: str
    detail: str = ""
    url: str | None = None


def _paid_for(payments) -> dict[int, Paid]:
    """Invoice, claim or premium of each payment, in a fixed number of queries whatever the count."""
    tenant = _tenant()
    refs: dict[PaymentKind, set[int]] = {kind: set() for kind in PaymentKind}
    for p in payments:
        refs[p.kind].add(p.reference_id)
    invoices = billing.invoice_summaries(refs[PaymentKind.INVOICE])
    claim_rows = _by_id(claims.claims_query(tenant), refs[PaymentKind.CLAIM])
    covers = _by_id(insurance.coverages_query(tenant), refs[PaymentKind.PREMIUM])
    members = {m.id: m for m in insurance.members_by_id(tenant, {c.member_id for c in covers.values()})}
    found = {}
    for p in payments:
        if p.kind is PaymentKind.INVOICE:
            inv = invoices.get(p.reference_id)
            number = inv.number if inv else f"#{p.reference_id}"
            found[p.id] = Paid(
                f"Invoice {number}", f"{p.payer}'s part", _link("billing.invoice", invoice_id=p.reference_id)
            )
        elif p.kind is PaymentKind.CLAIM:
            claim = claim_rows.get(p.reference_id)
            number = claim.claim_number if claim else f"#{p.reference_id}"
            found[p.id] = Paid(
                f"Claim {number}", claim.member_number if claim else "", _link("claims.claim", claim_id=p.reference_id)
            )
        else:
            cover = covers.get(p.reference_id)
            member = members.get(cover.member_id) if cover else None
            who = f"{member.first_name} {member.last_name} ({member.member_number})" if member else ""
            found[p.id] = Paid(f"Premium, coverage {p.reference_id}", who)
    return found


# --- recording a payment -------------------------------------------------------------------------


def _kinds() -> list[str]:
    """What the user's organisation takes money for: a hospital its invoices, an insurer claims and premiums."""
    tenant = _tenant()
    if tenant.is_global:
        return [k.value for k in PaymentKind]
    if tenant.institution_id is not None:
        return [PaymentKind.INVOICE.value]
    return [PaymentKind.CLAIM.value, PaymentKind.PREMIUM.value]


@dataclass(frozen=True)
class Candidate:
    reference_id: int
    label: str
    detail: str


def _candidates(kind: str, q: str) -> tuple[list[Candidate], str]:
    """Invoices by number, approved claims by number or member, a member's coverages: what may be paid."""
    tenant = _tenant()
    if kind == PaymentKind.INVOICE.value:
        stmt = billing.invoices_query(tenant, q=q, kind="invoice", status="" if q else "issued")
        rows = db.session.scalars(stmt.where(stmt.selected_columns.number.is_not(None)).limit(CANDIDATES)).all()
        patients = hospital.patients_by_id({row.patient_id for row in rows})
        found = []
        for row in rows:
            p = patients.get(row.patient_id)
            who = f"{p.first_name} {p.last_name}" if p else ""
            status = row.status.value.replace("_", " ")
            found.append(Candidate(row.id, row.number, f"{who} · {status} · balance {row.balance:,.2f}"))
        return found, "" if found or not q else f"No invoice numbered {q}… here."
    if kind == PaymentKind.CLAIM.value:
        found = []
        text = q.strip().upper()
        for status in ("approved", "partially_approved"):
            stmt = claims.claims_query(tenant, status=status, sort="age")
            cols = stmt.selected_columns
            if text:
                stmt = stmt.where(cols.claim_number.startswith(text, autoescape=True) | (cols.member_number == text))
            for row in db.session.scalars(stmt.limit(CANDIDATES)):
                found.append(
                    Candidate(
                        row.id,
                        row.claim_number,
                        f"member {row.member_number} · {status.replace('_', ' ')} "
                        f"· approved {row.total_approved:,.2f}, paid {row.total_paid:,.2f}",
                    )
                )
        return found[:CANDIDATES], "" if found else "No approved claim waits for payment" + (
            f" matching {q}." if q else "."
        )
    if not q:
        return [], "Enter the member number."
    try:
        member = insurance.member_by_number(tenant, q)
    except NotFound:
        return [], f"No member {q} with your company."
    covers = insurance.coverages_of(member.id)
    name = f"{member.first_name} {member.last_name}"
    return [
        Candidate(c.id, f"Coverage {c.id}", f"{name} · {c.start_date} to {c.end_date} · {c.status.value}")
        for c in covers[:CANDIDATES]
    ], "" if covers else f"Member {member.member_number} has no coverage."


def _prepare(form: RecordForm) -> str:
    """The kinds and payers this user may choose; returns the kind in play."""
    kinds = _kinds()
    if form.kind.data not in kinds:
        # another kind's id must not be read as one of ours (``?kind=claim&reference_id=7`` at a hospital)
        form.reference_id.data = "" if form.kind.data else form.reference_id.data
        form.kind.data = kinds[0]
    kind = form.kind.data
    payers = PAYERS[kind]
    form.payer.choices = choices((p, p.capitalize()) for p in payers)
    if form.payer.data not in payers:
        form.payer.data = payers[0]
    if form.method.data not in {m.value for m in MethodKind}:
        form.method.data = MethodKind.CASH.value
    return kind


def _record_page(form: RecordForm, status: int = 200, partial: str | None = "payment/_record.html"):
    kind = _prepare(form)
    q = _text(request.values.get("q"), 40).strip()
    reference_id = _whole(form.reference_id.data)
    target = services.owed(_actor(), kind, reference_id, form.payer.data) if reference_id else None
    candidates, none_found = _candidates(kind, q) if q or not target else ([], "")
    method = MethodKind(form.method.data)
    pattern, hint = services.REFERENCE_RULES[method]
    return render(
        "payment/record.html",
        partial,
        status=status,
        form=form,
        kind=kind,
        kinds=[(k, KIND_LABELS[PaymentKind(k)]) for k in _kinds()],
        q=q,
        candidates=candidates,
        none_found=none_found,
        target=target,
        method=method.value,
        hint=hint,
        reference_optional=pattern is None,
        detail_field=DETAIL_FIELD.get(method.value),
    )


@bp.route("/payments/new", methods=["GET", "POST"])
@allow(CASHIERS)
def record():
    """Pick what is paid (``?kind=invoice&reference_id=N`` comes pre-filled from an invoice), see what is still
    owed, take the money; a flow: 303 to the payment."""
    if request.method == "GET":
        return _record_page(RecordForm(formdata=request.args))
    form = RecordForm()
    _prepare(form)
    done = submit(
        form,
        lambda: services.record_payment(
            actor=_actor(),
            values=services.PaymentInput(
                kind=form.kind.data,
                reference_id=form.reference_id.data,
                amount=form.amount.data,
                method=form.method.data,
                reference=form.reference.data or None,
                paid_on=form.paid_on.data or None,
                payer=form.payer.data or None,
                details=form.detail_values(),
                note=form.note.data or None,
            ),
        ),
    )
    if done.ok:
        payment = done.result
        return _finished(
            f"Payment {payment.number} of {payment.currency} {payment.amount:,.2f} recorded.",
            url_for("payment.payment", payment_id=payment.id),
        )
    return _record_page(form, done.status)


@bp.get("/payments/new/targets")
@allow(CASHIERS)
def record_targets():
    """Search as you type for the invoice, claim or member to take money for; HTMX gets the list alone."""
    return _record_page(RecordForm(formdata=request.args), partial="payment/_targets.html")


@bp.get("/payments/new/method-fields")
@allow(CASHIERS)
def method_fields():
    """The chosen method's fields (reference with its hint, card digits, phone, bank), swapped in on change."""
    return _record_page(RecordForm(formdata=request.args), partial="payment/_method_fields.html")


# --- payments ------------------------------------------------------------------------------------


@bp.get("/payments")
@allow(READERS)
def payments():
    """Newest first, filtered by kind and day; HTMX gets the rows."""
    kind = request.args.get("kind", "")
    kind = kind if kind in {k.value for k in PaymentKind} else ""
    paid_on = _day(request.args.get("paid_on"))
    rows, paging = page_of(services.payments_query(_tenant(), kind=kind, paid_on=paid_on))
    tenant = _tenant()
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
    reversal = db.session.scalar(select(Payment).where(Payment.reversal_of_id == payment.id))
    original = db.session.get(Payment, payment.reversal_of_id) if payment.reversal_of_id else None
    refundable = services.refundable(payment)
    may_move = current_user.role in CASHIERS
    held = any(r.status is not RefundStatus.REJECTED for r in refunds)
    users = core.users_by_id(
        {payment.recorded_by_id, *(r.requested_by_id for r in refunds), *(r.decided_by_id for r in refunds)}
    )
    settlement = services.get_settlement(_tenant(), payment.settlement_id) if payment.settlement_id else None
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
    return _payment_page(services.get_payment(_tenant(), payment_id), partial="payment/_payment_detail.html")


def _payment_answer(payment_id: int, done, message, **forms):
    """Refund, reverse: HTMX gets the payment back with a toast (or the refusal on its form, 422); a plain
    post gets 303 back with a flash, or the page with the errors (422, or 409 when the payment's state says no)."""
    payment = services.get_payment(_tenant(), payment_id)
    form = next(iter(forms.values()))
    if not wants_partial():
        if done.ok:
            flash(message(done.result), "success")
            return redirect(url_for("payment.payment", payment_id=payment_id), 303)
        return _payment_page(payment, done.status, **forms)
    if done.ok:
        return _toast(_payment_page(payment, partial="payment/_payment_detail.html"), message(done.result))
    return _toast(_payment_page(payment, done.status, "payment/_payment_detail.html", **forms), _refusal(form))


def _refunded(refund) -> str:
    amount = f"{refund.amount:,.2f}"
    if refund.status is RefundStatus.PENDING_APPROVAL:
        return f"Refund of {amount} requested; another finance officer approves it (above the threshold)."
    return f"Refund of {amount} recorded."


@bp.post("/payments/<id:payment_id>/refund")
@allow(CASHIERS)
def payment_refund(payment_id: int):
    services.get_payment(_tenant(), payment_id)  # another tenant's: 404 before anything else
    form = RefundForm()
    done = submit(
        form,
        lambda: services.request_refund(
            actor=_actor(), payment_id=payment_id, amount=form.amount.data, reason=form.reason.data
        ),
    )
    return _payment_answer(payment_id, done, _refunded, refund_form=form)


@bp.post("/payments/<id:payment_id>/reverse")
@allow(CASHIERS)
def payment_reverse(payment_id: int):
    services.get_payment(_tenant(), payment_id)
    form = ReverseForm()
    done = submit(
        form, lambda: services.reverse_payment(actor=_actor(), payment_id=payment_id, reason=form.reason.data)
    )
    return _payment_answer(payment_id, done, lambda rev: f"Payment reversed by {rev.number}.", reverse_form=form)


@bp.get("/payments/invoices/<id:invoice_id>")
@allow(READERS)
def invoice_payments(invoice_id: int):
    """A panel for the invoice page (medcover.navigation.add_panel): its payments, and "Record payment"."""
    invoice = billing.invoice_summary(_tenant(), invoice_id)
    rows = db.session.scalars(
        services.payments_query(_tenant(), kind="invoice", reference_id=invoice.id).limit(50)
    ).all()
    tenant = _tenant()
    may_record = (
        current_user.role in CASHIERS
        and (tenant.is_global or tenant.institution_id == invoice.institution_id)
        and invoice.status in ("issued", "partially_paid")
    )
    return render("payment/_invoice_payments.html", invoice=invoice, rows=rows, may_record=may_record)


# --- refunds -------------------------------------------------------------------------------------


def _refund_context(rows) -> dict:
    payment_ids = {r.payment_id for r in rows}
    paid = {p.id: p for p in db.session.scalars(select(Payment).where(Payment.id.in_(payment_ids)))} if rows else {}
    return {
        "payments": paid,
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
    rows, paging = page_of(services.refunds_query(_tenant(), status=status))
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
    services.get_refund(_tenant(), refund_id)  # another tenant's: 404
    form = DecideForm()
    done = submit(
        form,
        lambda: services.decide_refund(actor=_actor(), refund_id=refund_id, approve=approve, note=form.note.data or ""),
    )
    message = f"Refund {'approved' if approve else 'rejected'}."
    if not wants_partial():
        if done.ok:
            flash(message, "success")
            return redirect(url_for("payment.refunds"), 303)
        flash(_refusal(form), "error")
        return redirect(url_for("payment.refunds"), 303)
    refund = services.get_refund(_tenant(), refund_id)
    if done.ok:
        return _toast(_refund_row(refund), message)
    return _toast(_refund_row(refund, 422, failed=form), _refusal(form))


@bp.post("/refunds/<id:refund_id>/approve")
@allow(APPROVERS)
def refund_approve(refund_id: int):
    return _decide(refund_id, True)


@bp.post("/refunds/<id:refund_id>/reject")
@allow(APPROVERS)
def refund_reject(refund_id: int):
    return _decide(refund_id, False)


# --- settlements ---------------------------------------------------------------------------------


def _may_settle() -> bool:
    tenant = _tenant()
    return current_user.role in APPROVERS and (tenant.company_id is not None or tenant.is_global)


@bp.get("/settlements")
@allow(READERS)
def settlements():
    rows, paging = page_of(services.settlements_query(_tenant()))
    return render(
        "payment/settlements.html",
        "payment/_settlement_rows.html",
        rows=rows,
        paging=paging,
        institutions=hospital.institution_names(),
        companies=insurance.company_names(),
        methods=METHOD_LABELS,
        may_settle=_may_settle(),
    )


def _settlement_new_page(preview: PreviewForm, settle_form: SettleForm | None = None, status: int = 200):
    """The provider and period chosen, the claims that would be paid; then the settle form with the total."""
    preview.institution_id.choices = choices(
        [(0, "Choose a provider…")] + sorted(hospital.institution_names().items(), key=lambda kv: kv[1])
    )
    lines = None
    institution_id = request.values.get("institution_id", type=int) or 0
    if _may_settle() and institution_id:
        try:
            lines = services.settlement_preview(
                actor=_actor(),
                institution_id=institution_id,
                period_start=preview.period_start.data,
                period_end=preview.period_end.data,
            )
        except DomainError as exc:
            status = max(status, form_failed(preview, exc))
    total = sum((line.payable for line in lines or []), Decimal("0.00"))
    if settle_form is None:
        settle_form = SettleForm(
            formdata=None,
            data={
                "institution_id": institution_id,
                "period_start": preview.period_start.data,
                "period_end": preview.period_end.data,
                "total": f"{total:.2f}",
            },
        )
    return render(
        "payment/settlement_new.html",
        "payment/_settlement_preview.html",
        status=status,
        preview=preview,
        settle_form=settle_form,
        lines=lines,
        total=total,
        may_settle=_may_settle(),
        provider=hospital.institution_names().get(institution_id, ""),
    )


def _preview_form(values) -> PreviewForm:
    form = PreviewForm(formdata=values)
    today = clock.today()
    form.period_start.data = form.period_start.data or (today - timedelta(days=SETTLEMENT_DAYS)).isoformat()
    form.period_end.data = form.period_end.data or today.isoformat()
    return form


@bp.route("/settlements/new", methods=["GET", "POST"])
@allow(APPROVERS)
def settlement_new():
    """Choose the provider and period, check the claims and the total, pay them in one batch (303)."""
    if request.method == "GET":
        return _settlement_new_page(_preview_form(request.args))
    form = SettleForm()

    def settle():
        settlement = services.settle(
            actor=_actor(),
            institution_id=fields.whole(form.institution_id.data, "institution_id", 1, 2**31 - 1),
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            method=form.method.data,
            reference=form.reference.data or None,
            paid_on=form.paid_on.data or None,
        )
        # The batch pays what is waiting now; the officer agreed to what the preview showed.
        if settlement.total != fields.amount(form.total.data, "total"):
            raise Conflict(
                f"The claims waiting for payment changed since the preview: {settlement.claims} claims now come to "
                f"{settlement.total:,.2f}. Check the list again."
            )
        return settlement

    done = submit(form, settle) if _may_settle() else None
    if done is not None and done.ok:
        s = done.result
        return _finished(
            f"Settlement {s.number} pays {s.claims} claims, KES {s.total:,.2f}.",
            url_for("payment.settlement", settlement_id=s.id),
        )
    status = done.status if done is not None else 200
    return _settlement_new_page(_preview_form(request.form), form, status)


def _settlement_claims(settlement, payments) -> dict[int, object]:
    # Read as the settlement's insurer: whoever may see the settlement (its provider too) sees the claims it paid.
    return _by_id(claims.claims_query(Tenant(None, settlement.company_id)), {p.reference_id for p in payments})


@bp.get("/settlements/<id:settlement_id>")
@allow(READERS)
def settlement(settlement_id: int):
    row = services.get_settlement(_tenant(), settlement_id)
    rows = services.settlement_payments(row.id)
    return render(
        "payment/settlement.html",
        settlement=row,
        payments=rows,
        claims=_settlement_claims(row, rows),
        provider=hospital.institution_names().get(row.institution_id, ""),
        insurer=insurance.company_name(row.company_id) or "",
        methods=METHOD_LABELS,
        claim_url=lambda claim_id: _link("claims.claim", claim_id=claim_id),
    )


@bp.get("/settlements/<id:settlement_id>.pdf")
@allow(READERS)
def settlement_pdf(settlement_id: int):
    tenant = _tenant()
    row = services.get_settlement(tenant, settlement_id)  # another tenant's: 404
    response = make_response(printing.settlement_pdf(tenant, row.id))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{printing.pdf_filename(row)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- agents and commissions ----------------------------------------------------------------------


def _may_manage_agents() -> bool:
    return current_user.role in APPROVERS and _tenant().company_id is not None


def _agent(agent_id: int) -> Agent:
    agent = db.session.get(Agent, agent_id)
    ensure_owned(_tenant(), agent)
    return agent


def _open_balances(agent_ids) -> dict[int, Decimal]:
    if not agent_ids:
        return {}
    rows = db.session.execute(
        select(Commission.agent_id, func.sum(Commission.amount))
        .where(Commission.agent_id.in_(agent_ids), Commission.commission_payment_id.is_(None))
        .group_by(Commission.agent_id)
    ).all()
    return {agent_id: Decimal(str(total)).quantize(Decimal("0.01")) for agent_id, total in rows}


def _agents_page(status: int = 200, **forms):
    tenant = _tenant()
    rows, paging = page_of(services.agents_query(tenant))
    agent_choices = [(a.id, f"{a.name} ({a.code})") for a in db.session.scalars(services.agents_query(tenant))]
    schemes = {s.id: f"{s.name} ({s.code})" for s in db.session.scalars(insurance.schemes_query(tenant))}
    rates = db.session.scalars(
        scope(select(CommissionRate), CommissionRate, tenant)
        .order_by(CommissionRate.scheme_id, CommissionRate.effective_from.desc())
        .limit(200)
    ).all()
    rate_form = forms.get("rate_form") or RateForm(formdata=None, effective_from=clock.today().isoformat())
    rate_form.scheme_id.choices = choices([(0, "Choose a scheme…"), *schemes.items()])
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    assign_form.agent_id.choices = choices([(0, "Choose an agent…"), *agent_choices])
    return render(
        "payment/agents.html",
        status=status,
        rows=rows,
        paging=paging,
        balances=_open_balances([a.id for a in rows]),
        rates=rates,
        schemes=schemes,
        insurer=tenant.company_id is not None or tenant.is_global,
        can_manage=_may_manage_agents(),
        agent_form=forms.get("agent_form") or AgentForm(formdata=None),
        rate_form=rate_form,
        assign_form=assign_form,
    )


@bp.get("/agents")
@allow(AGENT_READERS)
def agents():
    """The insurer's agents with what is owed to each, commission rates per scheme, assigning an agent."""
    return _agents_page()


def _agents_answer(done, message, **forms):
    if done.ok:
        flash(message(done.result), "success")
        return redirect(url_for("payment.agents"), 303)
    return _agents_page(done.status, **forms)


@bp.post("/agents")
@allow(APPROVERS)
def agent_add():
    form = AgentForm()
    done = submit(
        form,
        lambda: services.create_agent(
            actor=_actor(),
            code=form.code.data,
            name=form.name.data,
            email=form.email.data or None,
            phone=form.phone.data or None,
        ),
    )
    return _agents_answer(done, lambda a: f"Agent {a.name} ({a.code}) added.", agent_form=form)


@bp.post("/agents/rates")
@allow(APPROVERS)
def rate_add():
    form = RateForm()
    form.scheme_id.choices = []
    done = submit(
        form,
        lambda: services.set_commission_rate(
            actor=_actor(),
            scheme_id=form.scheme_id.data,
            rate_percent=form.rate_percent.data,
            effective_from=form.effective_from.data,
        ),
    )
    return _agents_answer(done, lambda r: f"Commission {r.rate_percent}% from {r.effective_from} set.", rate_form=form)


def _coverage_id(text: str) -> int:
    """A coverage id, or a member number meaning the member's current (else latest) coverage."""
    tenant, text = _tenant(), (text or "").strip()
    try:
        if text.isdigit():
            return insurance.get_coverage(tenant, int(text)).id
        member = insurance.member_by_number(tenant, text)
    except NotFound:
        raise Invalid.field("coverage", "No such coverage or member with your company.") from None
    covers = insurance.coverages_of(member.id)
    if not covers:
        raise Invalid.field("coverage", f"Member {member.member_number} has no coverage.")
    today = clock.today()
    return next((c for c in covers if c.start_date <= today <= c.end_date), covers[0]).id


@bp.post("/agents/assign")
@allow(APPROVERS)
def agent_assign():
    form = AssignForm()
    form.agent_id.choices = []
    done = submit(
        form,
        lambda: services.assign_agent(
            actor=_actor(), coverage_id=_coverage_id(form.coverage.data), agent_id=form.agent_id.data
        ),
    )
    return _agents_answer(
        done, lambda a: f"Coverage {a.coverage_id} assigned to agent #{a.agent_id}.", assign_form=form
    )


def _statement_page(agent: Agent, status: int = 200, pay_form=None):
    filters = StatementForm(formdata=request.args)
    start, end = _day(filters.start.data), _day(filters.end.data)
    for name, value, parsed in (("start", filters.start.data, start), ("end", filters.end.data, end)):
        if value and parsed is None:
            getattr(filters, name).errors = ["Enter a date as YYYY-MM-DD."]
            status = max(status, 422)
    statement = services.agent_statement(_tenant(), agent.id, start, end)
    paid_ids = {c.payment_id for c in statement.accrued}
    numbers = (
        dict(db.session.execute(select(Payment.id, Payment.number).where(Payment.id.in_(paid_ids))).all())
        if paid_ids
        else {}
    )
    return render(
        "payment/agent.html",
        status=status,
        agent=agent,
        statement=statement,
        filters=filters,
        numbers=numbers,
        owed=_open_balances([agent.id]).get(agent.id, Decimal("0.00")),
        can_manage=_may_manage_agents(),
        pay_form=pay_form or CommissionPayForm(formdata=None),
        methods=METHOD_LABELS,
    )


@bp.get("/agents/<id:agent_id>")
@allow(AGENT_READERS)
def agent(agent_id: int):
    """An agent's statement: commissions accrued, payments made, the balance; filtered by dates."""
    return _statement_page(_agent(agent_id))


@bp.post("/agents/<id:agent_id>/pay")
@allow(APPROVERS)
def agent_pay(agent_id: int):
    agent = _agent(agent_id)
    form = CommissionPayForm()
    done = submit(
        form,
        lambda: services.pay_commissions(
            actor=_actor(), agent_id=agent.id, method=form.method.data, reference=form.reference.data or None
        ),
    )
    if done.ok:
        batch = done.result
        flash(f"Paid {agent.name} {batch.amount:,.2f} for {batch.commissions} commissions.", "success")
        return redirect(url_for("payment.agent", agent_id=agent.id), 303)
    return _statement_page(_agent(agent_id), done.status, form)


# --- payment methods -----------------------------------------------------------------------------


def _may_set_up_methods() -> bool:
    return current_user.role in APPROVERS and not _tenant().is_global


def _methods_page(status: int = 200, form=None):
    return render(
        "payment/methods.html",
        status=status,
        rows=db.session.scalars(services.methods_query(_tenant())).all(),
        form=form or MethodForm(formdata=None),
        can_manage=_may_set_up_methods(),
        platform=_tenant().is_global,
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
            actor=_actor(), kind=form.kind.data, label=form.label.data, settings=form.settings()
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
    row = db.session.get(PaymentMethod, method_id)
    ensure_owned(_tenant(), row)  # another tenant's: 404
    form = ActionForm()
    active = request.form.get("active") == "1"
    done = submit(form, lambda: services.set_method_active(actor=_actor(), method_id=method_id, active=active))
    message = f"{row.label} {'activated' if active else 'deactivated'}."
    if not wants_partial():
        flash(message if done.ok else _refusal(form), "success" if done.ok else "error")
        return redirect(url_for("payment.methods"), 303)
    row = db.session.get(PaymentMethod, method_id)
    response = render(
        "payment/_method_row.html",
        status=200 if done.ok else 422,
        m=row,
        can_manage=_may_set_up_methods(),
        methods=METHOD_LABELS,
        failed={} if done.ok else {row.id: form},
    )
    return _toast(response, message if done.ok else _refusal(form))
