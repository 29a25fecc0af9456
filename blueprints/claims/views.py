"""Claims pages: the adjudicators' work queue with bulk approval, the claim page (deciding with overrides,
drafts edited, submitted and voided), intake by hand and from an invoice, the claims list, and the insurers'
dashboard with server-rendered charts."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.billing import services as billing
from blueprints.claims import bp, dashboard, disputes, services
from blueprints.claims.engine import REASONS
from blueprints.claims.forms import (
    ApproveForm,
    ClaimForm,
    DashboardFilters,
    DraftActionForm,
    QueueFilters,
    RejectForm,
    choices,
)
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import Conflict, DomainError, Invalid
from medcover.extensions import db
from medcover.pages import form_failed, page_of, render, safe_next, wants_partial
from medcover.rbac import Role, allow, tenant_of

#: who reads claims (each sees its own tenant's: a hospital its claims, an insurer its members')
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR})
DECIDERS = services.DECIDERS
#: the provider's staff filing claims on pages (integration accounts file through the API)
PROVIDERS = services.PROVIDER_WRITERS - {Role.INTEGRATION}
INSURER_STAFF = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR})
#: a service's field name for a line of the claim: ``items.2.unit_price``
LINE_FIELD = re.compile(r"items\.(\d+)\.(\w+)")
DASHBOARD_DAYS = 90


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


def _toast(response, message: str):
    response.headers["HX-Trigger"] = json.dumps({"toast": message})
    return response


def _text(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


def _label(status) -> str:
    return str(getattr(status, "value", status)).replace("_", " ")


def _names(rows) -> dict[int, str]:
    """Who each claim is for, as the viewer's side knows them: a hospital its patients, an insurer its members
    (one query either way)."""
    tenant = _tenant()
    if tenant.institution_id is not None:
        patients = hospital.patients_by_id(c.patient_id for c in rows)
        return {c.id: f"{p.first_name} {p.last_name}" for c in rows if (p := patients.get(c.patient_id))}
    members = {m.id: m for m in insurance.members_by_id(tenant, (c.member_id for c in rows))}
    return {c.id: f"{m.first_name} {m.last_name}" for c in rows if (m := members.get(c.member_id))}


def _scheme_names() -> dict[int, str]:
    return {s.id: f"{s.code} · {s.name}" for s in db.session.scalars(insurance.schemes_query(_tenant()))}


# --- the claims list -----------------------------------------------------------------------------


@bp.get("/claims")
@allow(READERS)
def claims():
    status = request.args.get("status", "")
    member = _text(request.args.get("member", ""), 30).strip()
    stmt = services.claims_query(_tenant(), status=status, member_number=member)
    rows, paging = page_of(stmt.order_by(None).order_by(Claim.id.desc()))
    return render(
        "claims/claims.html",
        "claims/_claim_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        member=member,
        statuses=list(ClaimStatus),
        names=_names(rows),
        providers=hospital.institution_names(),
        can_file=current_user.role in PROVIDERS and _tenant().company_id is None,
    )


# --- the work queue ------------------------------------------------------------------------------


def _queue_filters() -> tuple[QueueFilters, dict, dict[int, str], dict[int, str]]:
    """The filters as typed (a bad value is that field's message and is not applied) and as the query takes them."""
    form = QueueFilters(request.args)
    schemes, providers = _scheme_names(), hospital.institution_names()
    form.scheme_id.choices = choices([(0, "All schemes")] + list(schemes.items()))
    form.institution_id.choices = choices(
        [(0, "All providers")] + sorted(providers.items(), key=lambda pair: pair[1].lower())
    )
    form.validate()

    def value(field):
        return None if field.errors else field.data

    before = value(form.submitted_before)
    if value(form.older_than) is not None:
        cutoff = clock.today() - timedelta(days=form.older_than.data)
        before = min(before, cutoff) if before else cutoff
    filters = {
        "scheme_id": value(form.scheme_id) or None,
        "institution_id": value(form.institution_id) or None,
        "min_amount": value(form.min_amount),
        "max_amount": value(form.max_amount),
        "submitted_before": before,
        "sort": form.sort.data if form.sort.data in services.SORTS else "age",
    }
    return form, filters, schemes, providers


def _queue(status: int = 200, outcome: dict | None = None):
    """Claims waiting for review: five queries whatever the page size (filters' schemes and providers, the
    count, the page, the members on it)."""
    form, filters, schemes, providers = _queue_filters()
    rows, paging = page_of(services.claims_query(_tenant(), status=ClaimStatus.PENDING_REVIEW.value, **filters))
    return render(
        "claims/queue.html",
        "claims/_queue_rows.html",
        status=status,
        rows=rows,
        paging=paging,
        filters=form,
        schemes=schemes,
        providers=providers,
        names=_names(rows),
        outcome=outcome,
        today=clock.today(),
        query=request.args.to_dict(),
    )


@bp.get("/claims/queue")
@allow(DECIDERS)
def queue():
    return _queue()


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number < 2**31:
            ids.append(number)
    return ids


@bp.post("/claims/queue/approve")
@allow(DECIDERS)
def queue_approve():
    """Approve the ticked claims as proposed; each is approved or refused on its own, with the reason."""
    ids = _ids(request.form.getlist("claim_ids"))
    if not ids:
        outcome = {"approved": [], "refused": [], "message": "Tick the claims to approve first."}
        if not wants_partial():
            flash(outcome["message"], "error")
            return redirect(safe_next(request.form.get("next"), url_for("claims.queue")), 303)
        return _toast(_queue(422, outcome), outcome["message"])
    result = services.bulk_approve(actor=_actor(), claim_ids=ids)
    db.session.commit()
    refused_ids = [int(i) for i in result.refused]
    numbers = (
        dict(
            db.session.execute(
                services.claims_query(_tenant())
                .where(Claim.id.in_(refused_ids))
                .with_only_columns(Claim.id, Claim.claim_number)
            ).all()
        )
        if refused_ids
        else {}
    )
    outcome = {
        "approved": result.approved,
        "refused": [(numbers.get(int(i), f"#{i}"), reason) for i, reason in result.refused.items()],
    }
    message = f"Approved {len(result.approved)}" + (f"; {len(result.refused)} refused." if result.refused else ".")
    if not wants_partial():
        flash(message + "".join(f" {number}: {reason}" for number, reason in outcome["refused"]), "success")
        return redirect(safe_next(request.form.get("next"), url_for("claims.queue")), 303)
    return _toast(_queue(outcome=outcome), message)


# --- the claim page ------------------------------------------------------------------------------


def _may_decide(claim: Claim) -> bool:
    tenant = _tenant()
    return (
        claim.status is ClaimStatus.PENDING_REVIEW and current_user.role in DECIDERS and tenant.institution_id is None
    )


def _may_edit(claim: Claim) -> bool:
    tenant = _tenant()
    return (
        claim.status is ClaimStatus.DRAFT
        and current_user.role in PROVIDERS
        and (tenant.is_global or tenant.institution_id == claim.institution_id)
    )


def _approve_form(claim: Claim, items) -> ApproveForm:
    form = ApproveForm(formdata=None, version=claim.version)
    for item in items:
        if item.decision != "rejected":
            form.overrides.append_entry({"line_no": item.line_no})
    return form


def _claim_form(claim: Claim, items) -> ClaimForm:
    lines = [
        {
            "service_code": i.service_code,
            "quantity": i.quantity,
            "unit_price": i.unit_price,
            "preauth_code": i.preauth_code,
        }
        for i in items
    ]
    form = ClaimForm(
        formdata=None,
        member_number=claim.member_number,
        service_date=claim.service_date,
        diagnosis_codes=", ".join(claim.diagnosis_codes or []),
        lines=lines,
    )
    return form.with_blank_lines()


def _timeline(history, decisions, users) -> list[dict]:
    """Status changes and decisions in one list, oldest first: who or what, when, and why."""

    def who(user_id):
        return users[user_id].full_name if user_id in users else ("Engine" if user_id is None else f"User {user_id}")

    entries = [
        {
            "at": h.at,
            "kind": "status",
            "what": f"{_label(h.from_status) + ' → ' if h.from_status else 'Created as '}{_label(h.to_status)}",
            "who": who(h.by_id) if h.by_id else ("System" if h.to_status == "paid" else "Engine"),
            "note": h.note,
        }
        for h in history
    ]
    entries += [
        {
            "at": d.at,
            "kind": "decision",
            "what": f"Decided: {_label(d.status)}, {d.total_approved:,.2f} approved",
            "who": who(d.by_id) if d.by_id else ("Engine" if d.source == "engine" else d.source.capitalize()),
            "note": d.note,
            "codes": sorted(
                {c for line in d.lines or [] for c in line.get("reason_codes", [])} | set(d.reason_codes or [])
            ),
        }
        for d in decisions
    ]
    return sorted(entries, key=lambda e: (e["at"], e["kind"] == "decision"))


def _claim_page(claim: Claim, status: int = 200, partial: str | None = None, **extra):
    items = services.items_of(claim.id)
    history, decisions = services.history_of(claim.id), services.decisions_of(claim.id)
    users = core.users_by_id(({h.by_id for h in history} | {d.by_id for d in decisions}) - {None})
    may_decide, may_edit = _may_decide(claim), _may_edit(claim)
    patient = hospital.patients_by_id([claim.patient_id]).get(claim.patient_id) if claim.patient_id else None
    return render(
        "claims/claim.html",
        partial,
        status=status,
        claim=claim,
        items=items,
        reasons=REASONS,
        verdict=insurance.verify(claim.member_number, claim.service_date),
        patient=patient,
        provider=hospital.institution_names().get(claim.institution_id, ""),
        timeline=_timeline(history, decisions, users),
        may_decide=may_decide,
        may_edit=may_edit,
        deciding=claim.status is ClaimStatus.SUBMITTED,
        poll=claim.status is ClaimStatus.SUBMITTED and services.decides_in_background(),
        approve_form=extra.pop("approve_form", None) or (_approve_form(claim, items) if may_decide else None),
        reject_form=extra.pop("reject_form", None) or RejectForm(formdata=None, version=claim.version),
        draft_form=extra.pop("draft_form", None) or (_claim_form(claim, items) if may_edit else None),
        action_form=extra.pop("action_form", None) or DraftActionForm(formdata=None),
        next_id=services.next_pending(_tenant(), claim.id) if current_user.role in DECIDERS else None,
        in_queue=current_user.role in DECIDERS and _tenant().institution_id is None,
        conflict=extra.pop("conflict", None),
        may_dispute=disputes.may_open(current_user, claim),
        claim_disputes=disputes.disputes_of(claim.id),
        decided=extra.pop("decided", False),
        **extra,
    )


@bp.get("/claims/<id:claim_id>")
@allow(READERS)
def claim(claim_id: int):
    """The page; HTMX (the "Deciding…" poll, a swap after deciding) gets the claim panel alone."""
    return _claim_page(services.get_claim(_tenant(), claim_id), partial="claims/_claim_panel.html")


def _line_errors(form, exc: DomainError) -> DomainError:
    """A service names a line's field ``items.<n>.<field>``, n counting the lines sent (blank rows skipped):
    put those messages on the row's own inputs."""
    if not exc.errors or not hasattr(form, "lines"):
        return exc
    sent = [entry.form for entry in form.lines if not entry.form.is_blank()]
    rest, moved = {}, False
    for name, messages in exc.errors.items():
        match = LINE_FIELD.fullmatch(name)
        row = sent[int(match.group(1))] if match and int(match.group(1)) < len(sent) else None
        target = getattr(row, match.group(2), None) if row is not None else None
        if target is None:
            rest[name] = messages
            continue
        target.errors = [*target.errors, *messages]
        moved = True
    return Invalid("Check the lines marked below.", rest) if moved else exc


def _claim_action(claim_id: int, form, action, message: str, form_name: str):
    """Every change made on the claim page: one service call; HTMX gets the claim panel back (the form with its
    messages at 422; the claim as it now stands at 409, when someone else moved it first), others a 303."""
    claim = services.get_claim(_tenant(), claim_id)
    opened = getattr(getattr(form, "version", None), "data", None)
    if not form.validate_on_submit():
        return _claim_page(claim, 422, "claims/_claim_panel.html", **{form_name: form})
    try:
        result = action()
    except Conflict as exc:
        db.session.rollback()
        claim = services.get_claim(_tenant(), claim_id)
        text = exc.detail
        if opened is not None and opened != claim.version:
            text = f"Claim {claim.claim_number} changed since you opened it: it is now {_label(claim.status)}."
        return _claim_page(claim, 409, "claims/_claim_panel.html", conflict=text)
    except DomainError as exc:
        status = form_failed(form, _line_errors(form, exc))
        return _claim_page(
            services.get_claim(_tenant(), claim_id), status, "claims/_claim_panel.html", **{form_name: form}
        )
    db.session.commit()
    message = message.format(status=_label(result.status), number=result.claim_number)
    if not wants_partial():
        flash(message, "success")
        return redirect(url_for("claims.claim", claim_id=result.id), 303)
    return _toast(_claim_page(result, partial="claims/_claim_panel.html", decided=True), message)


def _overrides(form: ApproveForm) -> dict[int, tuple]:
    found = {}
    for entry in form.overrides:
        line = entry.form
        if line.amount.data is None and not (line.note.data or "").strip():
            continue
        try:
            line_no = int(line.line_no.data)
        except (TypeError, ValueError):
            raise Invalid.field("overrides", "The form lost track of a line; reload the claim.") from None
        found[line_no] = ("" if line.amount.data is None else line.amount.data, line.note.data or "")
    return found


@bp.post("/claims/<id:claim_id>/approve")
@allow(DECIDERS)
def claim_approve(claim_id: int):
    form = ApproveForm()
    return _claim_action(
        claim_id,
        form,
        lambda: services.approve_claim(
            actor=_actor(), claim_id=claim_id, overrides=_overrides(form), version=form.version.data
        ),
        "Claim {number} is {status}.",
        "approve_form",
    )


@bp.post("/claims/<id:claim_id>/reject")
@allow(DECIDERS)
def claim_reject(claim_id: int):
    form = RejectForm()
    return _claim_action(
        claim_id,
        form,
        lambda: services.reject_claim(
            actor=_actor(), claim_id=claim_id, reason=form.reason.data or "", version=form.version.data
        ),
        "Claim {number} is rejected.",
        "reject_form",
    )


# --- drafts: intake, edits, submit, void ---------------------------------------------------------


def _claim_input(form: ClaimForm, institution_id: int, **extra) -> services.ClaimInput:
    def given(value):
        return "" if value is None else value

    return services.ClaimInput(
        member_number=form.member_number.data or "",
        institution_id=institution_id,
        service_date=form.service_date.data,
        diagnosis_codes=[code for code in re.split(r"[\s,;]+", form.diagnosis_codes.data or "") if code],
        items=[
            services.ItemInput(
                entry.form.service_code.data or "",
                given(entry.form.quantity.data),
                given(entry.form.unit_price.data),
                entry.form.preauth_code.data or None,
            )
            for entry in form.lines
            if not entry.form.is_blank()
        ],
        **extra,
    )


def _hospitals(form: ClaimForm) -> bool:
    """Platform admins choose the hospital; a hospital's staff file for their own."""
    choose = _tenant().is_global
    institutions = db.session.scalars(hospital.institutions_query(_tenant())) if choose else []
    form.institution_id.choices = choices([(0, "Choose a hospital…")] + [(i.id, i.name) for i in institutions])
    return choose


@bp.route("/claims/new", methods=["GET", "POST"])
@allow(PROVIDERS)
def claim_new():
    form = ClaimForm() if request.method == "POST" else ClaimForm(formdata=None, service_date=clock.today())
    choose = _hospitals(form)
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                institution_id = current_user.institution_id or form.institution_id.data or 0
                if not institution_id:
                    raise Invalid.field("institution_id", "Choose a hospital.")
                claim = services.create_claim(actor=_actor(), values=_claim_input(form, institution_id))
            except DomainError as exc:
                status = form_failed(form, _line_errors(form, exc))
            else:
                db.session.commit()
                flash(f"Draft {claim.claim_number} saved. Check it and submit it to the insurer.", "success")
                return redirect(url_for("claims.claim", claim_id=claim.id), 303)
    return render("claims/new.html", status=status, form=form.with_blank_lines(), choose_institution=choose)


@bp.post("/claims/<id:claim_id>/edit")
@allow(PROVIDERS)
def claim_edit(claim_id: int):
    claim = services.get_claim(_tenant(), claim_id)
    form = ClaimForm()
    _hospitals(form)
    return _claim_action(
        claim_id,
        form,
        lambda: services.update_draft(
            actor=_actor(), claim_id=claim_id, values=_claim_input(form, claim.institution_id)
        ),
        "Draft {number} saved.",
        "draft_form",
    )


@bp.post("/claims/<id:claim_id>/submit")
@allow(PROVIDERS)
def claim_submit(claim_id: int):
    return _claim_action(
        claim_id,
        DraftActionForm(),
        lambda: services.submit_claim(actor=_actor(), claim_id=claim_id),
        "Claim {number} submitted: {status}.",
        "action_form",
    )


@bp.post("/claims/<id:claim_id>/void")
@allow(PROVIDERS)
def claim_void(claim_id: int):
    form = DraftActionForm()
    return _claim_action(
        claim_id,
        form,
        lambda: services.void_claim(actor=_actor(), claim_id=claim_id, reason=form.reason.data or ""),
        "Draft {number} is void.",
        "action_form",
    )


@bp.post("/claims/from-invoice/<id:invoice_id>")
@allow(PROVIDERS)
def claim_from_invoice(invoice_id: int):
    """ "Claim the insurer's part" on an invoice: a draft of its insured lines, then its page."""
    back = safe_next(request.form.get("next"), url_for("claims.claims"))
    if not DraftActionForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(back, 303)
    try:
        claim = services.claim_from_invoice(actor=_actor(), invoice_id=invoice_id)
    except (Conflict, Invalid) as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(back, 303)
    db.session.commit()
    flash(f"Draft {claim.claim_number} holds the insurer's part. Check it and submit it.", "success")
    return redirect(url_for("claims.claim", claim_id=claim.id), 303)


@bp.get("/claims/invoices/<id:invoice_id>")
@allow(READERS)
def invoice_claim(invoice_id: int):
    """A panel for the invoice page (medcover.navigation.add_panel): its claim, or the button to make one."""
    invoice = billing.invoice_summary(_tenant(), invoice_id)
    existing = db.session.scalars(
        services.claims_query(_tenant()).where(Claim.invoice_id == invoice.id, Claim.status != ClaimStatus.VOID)
    ).all()
    may_claim = (
        not existing
        and current_user.role in PROVIDERS
        and _tenant().company_id is None
        and invoice.status in ("issued", "partially_paid", "paid")
        and bool(invoice.member_number)
        and invoice.insurer_part > 0
    )
    return render("claims/_invoice_claim.html", invoice=invoice, existing=existing, may_claim=may_claim)


# --- the dashboard -------------------------------------------------------------------------------


def _bars(pairs, *, money_values: bool = False) -> dict:
    """Geometry of a horizontal bar chart drawn as SVG by the template: bars scaled to the largest value."""
    left, width, bar, gap = 190, 420, 20, 8
    top = max((value for _label_, value in pairs), default=0) or 1
    rows = [
        {
            "label": label,
            "value": value,
            "text": f"{value:,.2f}" if money_values else f"{value:,}",
            "y": n * (bar + gap),
            "width": round(float(value) / float(top) * width, 1) if value else 0,
        }
        for n, (label, value) in enumerate(pairs)
    ]
    return {
        "left": left,
        "width": width,
        "bar": bar,
        "gap": gap,
        "rows": rows,
        "height": max(len(rows), 1) * (bar + gap),
    }


def _dashboard_range(form: DashboardFilters):
    """No dates asked for: the last 90 days; a date cleared: no bound on that side."""
    today = clock.today()
    start = form.start.data if "start" in request.args and not form.start.errors else None
    end = form.end.data if "end" in request.args and not form.end.errors else None
    if "start" not in request.args and "end" not in request.args:
        start, end = today - timedelta(days=DASHBOARD_DAYS - 1), today
        form.start.data, form.end.data = start, end
    return start, end


@bp.get("/claims/dashboard")
@allow(INSURER_STAFF)
def claims_dashboard():
    form = DashboardFilters(request.args)
    form.validate()
    start, end = _dashboard_range(form)
    tenant = _tenant()
    counts = dashboard.by_status(tenant, start, end)
    reasons = dashboard.top_rejection_reasons(tenant, start, end)
    spend = dashboard.spend_by_scheme(tenant, start, end)
    return render(
        "claims/dashboard.html",
        "claims/_dashboard.html",
        filters=form,
        start=start,
        end=end,
        counts=counts,
        approval=dashboard.approval(counts),
        turnaround=dashboard.turnaround(tenant, start, end),
        reviewed=dashboard.turnaround(tenant, start, end, reviewed_only=True),
        reasons=reasons,
        spend=spend,
        status_chart=_bars([(_label(row.status).capitalize(), row.claims) for row in counts]),
        reason_chart=_bars([(row.code, row.lines) for row in reasons]),
        spend_chart=_bars([(f"{row.code} · {row.name}", row.approved) for row in spend], money_values=True),
    )
