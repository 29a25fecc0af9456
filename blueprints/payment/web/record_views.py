"""Recording a payment: pick what is paid (an invoice, an approved claim, a member's coverage), see what is
still owed, take the money by the chosen method."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request, url_for

from blueprints.billing import services as billing
from blueprints.claims import services as claims
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment import bp, services
from blueprints.payment.models import MethodKind, PaymentKind
from blueprints.payment.web.forms import DETAIL_FIELD, KIND_LABELS, PAYERS, RecordForm, choices
from blueprints.payment.web.page_base import CASHIERS, finished
from medcover import pages
from medcover.errors import NotFound
from medcover.pages import render, submit
from medcover.rbac import Tenant, allow

#: the record page lists this many invoices, claims or coverages to choose from
CANDIDATES = 10


def _text(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def _whole(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None


def _kinds() -> list[str]:
    """What the user's organisation takes money for: a hospital its invoices, an insurer claims and premiums."""
    tenant = pages.tenant()
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


def _invoices_numbered(tenant: Tenant, q: str) -> list:
    """Numbered invoices starting with ``q`` (issued ones when ``q`` is empty), as billing answers them."""
    return billing.invoices_to_pay(tenant, number=q, limit=CANDIDATES)


def _candidates(kind: str, q: str) -> tuple[list[Candidate], str]:
    """Invoices by number, approved claims by number or member, a member's coverages: what may be paid."""
    tenant = pages.tenant()
    if kind == PaymentKind.INVOICE.value:
        rows = _invoices_numbered(tenant, q)
        patients = hospital.patients_by_id({row.patient_id for row in rows})
        found = []
        for row in rows:
            p = patients.get(row.patient_id)
            who = f"{p.first_name} {p.last_name}" if p else ""
            status = row.status.replace("_", " ")
            found.append(Candidate(row.id, row.number, f"{who} · {status} · balance {row.balance:,.2f}"))
        return found, "" if found or not q else f"No invoice numbered {q}… here."
    if kind == PaymentKind.CLAIM.value:
        found = [
            Candidate(
                row.id,
                row.claim_number,
                f"member {row.member_number} · {row.status.replace('_', ' ')} "
                f"· approved {row.total_approved:,.2f}, paid {row.total_paid:,.2f}",
            )
            for row in claims.payable_claims(tenant, search=q, limit=CANDIDATES)
        ]
        return found, "" if found else "No approved claim waits for payment" + (f" matching {q}." if q else ".")
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
    target = services.owed(pages.actor(), kind, reference_id, form.payer.data) if reference_id else None
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
            actor=pages.actor(),
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
        return finished(
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
