"""Settlement pages: the settlements list, a new settlement (choose the provider and period, check the claims
and the total, pay them in one batch), a settlement with the claims it paid, and its PDF advice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import make_response, request, url_for
from flask_login import current_user

from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from blueprints.payment import bp, services
from blueprints.payment.web.forms import METHOD_CHOICES, METHOD_LABELS, PreviewForm, SettleForm, choices
from blueprints.payment.web.page_base import APPROVERS, READERS, finished, link
from medcover import clock, confirm, fields, pages
from medcover.errors import Conflict, DomainError
from medcover.labels import day
from medcover.pages import form_failed, page_of, render, submit
from medcover.rbac import allow

#: a new settlement's period: this many days up to today, unless chosen
SETTLEMENT_DAYS = 30


def _may_settle() -> bool:
    tenant = pages.tenant()
    return current_user.role in APPROVERS and (tenant.company_id is not None or tenant.is_global)


@bp.get("/settlements")
@allow(READERS)
def settlements():
    rows, paging = page_of(services.settlements_query(pages.tenant()))
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
                actor=pages.actor(),
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
    kept = _kept_claims()

    def settle():
        settlement = services.settle(
            actor=pages.actor(),
            institution_id=fields.whole(form.institution_id.data, "institution_id", 1, 2**31 - 1),
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            method=form.method.data,
            reference=form.reference.data or None,
            paid_on=form.paid_on.data or None,
            claim_ids=kept,
        )
        # The batch pays what is waiting now; the officer agreed to what the preview showed.
        if settlement.total != fields.amount(form.total.data, "total"):
            raise Conflict(
                f"The claims waiting for payment changed since the preview: {settlement.claims} claims now come to "
                f"{settlement.total:,.2f}. Check the list again."
            )
        return settlement

    if _may_settle() and not confirm.confirmed() and form.validate_on_submit():
        question = _settle_question(form, kept)
        if question is not None:
            return question
        status = 422
    else:
        done = submit(form, settle) if _may_settle() else None
        if done is not None and done.ok:
            s = done.result
            return finished(
                f"Settlement {s.number} pays {s.claims} claims, KES {s.total:,.2f}.",
                url_for("payment.settlement", settlement_id=s.id),
            )
        status = done.status if done is not None else 200
    return _settlement_new_page(_preview_form(request.form), form, status)


def _kept_claims() -> list[int] | None:
    """The claims ticked to pay (the page sends ``pick`` with them; a form without it pays all of the period)."""
    if "pick" not in request.form:
        return None
    kept = []
    for value in request.form.getlist("claim_ids"):
        try:
            kept.append(int(value))
        except ValueError:
            continue
    return kept


def _settle_question(form: SettleForm, kept: list[int] | None):
    """The confirmation: the claims to pay (each ticked one), their total and what paying means."""
    institution_id = request.form.get("institution_id", type=int) or 0
    try:
        lines = services.settlement_preview(
            actor=pages.actor(),
            institution_id=institution_id,
            period_start=form.period_start.data,
            period_end=form.period_end.data,
        )
    except DomainError as exc:
        form_failed(form, exc)
        return None
    if kept is not None:
        lines = [line for line in lines if line.claim_id in set(kept)]
    if not lines:
        form.form_errors = [*form.form_errors, "Tick at least one claim to pay."]
        return None
    total = sum((line.payable for line in lines), Decimal("0.00"))
    provider = hospital.institution_names().get(institution_id, "the provider")
    count = f"{len(lines)} claim{'' if len(lines) == 1 else 's'}"
    method = {c.value: c.label for c in METHOD_CHOICES}.get(form.method.data, form.method.data)
    return confirm.ask(
        confirm.Ask(
            question=f"Pay {provider} {count}, KES {total:,.2f}?",
            consequence="One payment is recorded per claim and each claim is marked paid; the provider gets the "
            "settlement advice. A payment can be reversed afterwards, but not deleted.",
            button=f"Pay {count}, KES {total:,.2f}",
            cancel_url=url_for("payment.settlement_new", **_period_args(institution_id, form)),
            facts=(
                ("Method", method),
                ("Reference", form.reference.data or "—"),
                ("Paid on", form.paid_on.data or "Today"),
            ),
            headings=("Claim", "Member", "Service date", "Payable (KES)"),
            numeric=frozenset({"Payable (KES)"}),
            rows=tuple(
                (line.claim_number, line.member_number, day(line.service_date), f"{line.payable:,.2f}")
                for line in lines
            ),
            replace={"total": f"{total:.2f}"},
        )
    )


def _period_args(institution_id: int, form) -> dict:
    return {
        "institution_id": institution_id,
        "period_start": form.period_start.data,
        "period_end": form.period_end.data,
    }


@bp.get("/settlements/<id:settlement_id>")
@allow(READERS)
def settlement(settlement_id: int):
    row = services.get_settlement(pages.tenant(), settlement_id)
    rows = services.settlement_payments(row.id)
    return render(
        "payment/settlement.html",
        settlement=row,
        payments=rows,
        claims=services.paid_claims(row, {p.reference_id for p in rows}),
        provider=hospital.institution_names().get(row.institution_id, ""),
        insurer=insurance.company_name(row.company_id) or "",
        methods=METHOD_LABELS,
        claim_url=lambda claim_id: link("claims.claim", claim_id=claim_id),
    )


@bp.get("/settlements/<id:settlement_id>.pdf")
@allow(READERS)
def settlement_pdf(settlement_id: int):
    tenant = pages.tenant()
    row = services.get_settlement(tenant, settlement_id)  # another tenant's: 404
    response = make_response(services.settlement_pdf(tenant, row.id))
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{services.pdf_filename(row)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
