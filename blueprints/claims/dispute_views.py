"""Dispute and reconciliation pages: opening a dispute on a claim (a page, or the form alone for the claim page
to load), the disputes list, a dispute with its claim, timeline, evidence and the adjudicator's resolve form;
starting a reconciliation, its report (totals, filter, pages) and its CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Response, flash, redirect, request, url_for
from flask_login import current_user
from wtforms import DateField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.claims import bp, disputes, reconciliation, services
from blueprints.claims.dispute_api import attachment_download
from blueprints.claims.models import DisputeStatus, ReconciliationStatus
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.errors import DomainError, Invalid
from medcover.exports import csv_cell
from medcover.extensions import db
from medcover.forms import Form
from medcover.pages import form_failed, page_of, render, wants_partial
from medcover.rbac import Role, allow, tenant_of

#: pages are for people: integration accounts use the API
PAGE_OPENERS = disputes.OPENERS - {Role.INTEGRATION}
PAGE_READERS = disputes.READERS - {Role.INTEGRATION}
RECONCILIATION_READERS = reconciliation.READERS - {Role.INTEGRATION}
EXPORT_LIMIT = 50_000


def _actor():
    return current_user._get_current_object()


def _tenant():
    return tenant_of(current_user)


# --- forms ---------------------------------------------------------------------------------------


class DisputeForm(Form):
    """The evidence file is read from ``request.files`` (optional); the service checks it by content."""

    reason = TextAreaField(
        "Why the decision should change",
        validators=[DataRequired("Say why the claim is disputed."), Length(max=disputes.REASON_CHARS)],
    )
    line_nos = SelectMultipleField("Disputed lines (none ticked: the whole claim)", coerce=int, validate_choice=False)


class ResolveForm(Form):
    """Per-line overrides come as ``approved-<line_no>`` and ``note-<line_no>``; blank lines are left alone."""

    status = RadioField(
        "Decision",
        choices=[("upheld", "Uphold: decide the claim again"), ("dismissed", "Dismiss: the decision stands")],
        validators=[DataRequired("Choose upheld or dismissed.")],
    )
    resolution = TextAreaField(
        "Resolution", validators=[DataRequired("Write the resolution."), Length(max=disputes.REASON_CHARS)]
    )


class ReconciliationForm(Form):
    institution_id = SelectField("Provider", coerce=int, validate_choice=False)
    period_start = DateField("Service dates from", validators=[DataRequired("Enter a date.")])
    period_end = DateField("to", validators=[DataRequired("Enter a date.")])
    company_id = SelectField("Insurer", coerce=int, validate_choice=False, validators=[Optional()])


# --- opening a dispute ---------------------------------------------------------------------------


def _dispute_form_page(claim, form, status: int = 200):
    items = services.items_of(claim.id)
    return render(
        "claims/dispute_new.html",
        "claims/_dispute_form.html",
        status=status,
        claim=claim,
        form=form,
        lines=[i for i in items if i.decision in disputes.DISPUTABLE_LINES],
        may_open=disputes.may_open(_actor(), claim),
    )


@bp.route("/claims/<id:claim_id>/disputes/new", methods=["GET", "POST"])
@allow(PAGE_OPENERS)
def dispute_new(claim_id: int):
    """The dispute form (the claim page loads it with htmx); posting it opens the dispute, with evidence."""
    claim = services.get_claim(_tenant(), claim_id)
    form = DisputeForm()
    if request.method == "GET":
        return _dispute_form_page(claim, form)
    if not form.validate_on_submit():
        return _dispute_form_page(claim, form, 422)
    upload = request.files.get("file")
    try:
        dispute = disputes.open_dispute(
            actor=_actor(), claim_id=claim.id, reason=form.reason.data, line_nos=form.line_nos.data or []
        )
        if upload is not None and upload.filename:
            disputes.add_attachment(
                actor=_actor(), dispute_id=dispute.id, filename=upload.filename, stream=upload.stream
            )
    except DomainError as exc:
        status = form_failed(form, exc)  # the file's messages (no such form field) show above the form
        return _dispute_form_page(services.get_claim(_tenant(), claim_id), form, status)
    db.session.commit()
    flash(f"Dispute #{dispute.id} opened on claim {claim.claim_number}.", "success")
    target = url_for("claims.dispute", dispute_id=dispute.id)
    if wants_partial():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, 303)


# --- the disputes list ---------------------------------------------------------------------------


@bp.get("/disputes")
@allow(PAGE_READERS)
def disputes_list():
    """Newest first; filtered by status and by who raised them. HTMX gets the rows."""
    tenant = _tenant()
    status = request.args.get("status", "open")
    status = status if status in {s.value for s in DisputeStatus} else ""
    kind = request.args.get("raised_by", "")
    kind = kind if kind in ("provider", "member") else ""
    rows, paging = page_of(disputes.disputes_query(tenant, status=status, raised_by_kind=kind))
    return render(
        "claims/disputes.html",
        "claims/_dispute_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        kind_filter=kind,
        statuses=list(DisputeStatus),
        claim_numbers=disputes.claim_numbers(r.claim_id for r in rows),
        institutions=hospital.institution_names() if tenant.institution_id is None and rows else {},
        companies=insurance.company_names() if tenant.company_id is None and rows else {},
    )


# --- one dispute ---------------------------------------------------------------------------------


def _timeline(dispute, claim, attachments, users) -> list[tuple]:
    """The claim's status changes and the dispute's own events, oldest first: (when, what, who)."""
    events = [
        (c.at, f"Claim {c.from_status or 'created'} → {c.to_status}" + (f" ({c.note})" if c.note else ""), c.by_id)
        for c in services.history_of(claim.id)
    ]
    events.append((dispute.created_at, f"Dispute opened by the {dispute.raised_by_kind}", dispute.raised_by_id))
    events += [(a.uploaded_at, f"Evidence added: {a.filename}", a.uploaded_by_id) for a in attachments]
    if dispute.resolved_at:
        events.append((dispute.resolved_at, f"Dispute {dispute.status.value}", dispute.resolved_by_id))
    events.sort(key=lambda e: (e[0] is None, e[0]))
    return [
        (at, what, users.get(by).full_name if by in users else ("MedCover" if by is None else ""))
        for at, what, by in events
    ]


def _dispute_page(dispute, *, resolve_form=None, override_errors=None, status: int = 200):
    actor = _actor()
    claim = services.get_claim(_tenant(), dispute.claim_id)
    items = services.items_of(claim.id)
    attachments = disputes.attachments_of([dispute.id]).get(dispute.id, [])
    history = services.history_of(claim.id)
    users = core.users_by_id(
        {
            dispute.raised_by_id,
            dispute.resolved_by_id,
            *(a.uploaded_by_id for a in attachments),
            *(h.by_id for h in history),
        }
    )
    return render(
        "claims/dispute.html",
        "claims/_dispute_detail.html",
        status=status,
        dispute=dispute,
        claim=claim,
        items=items,
        disputed=set(dispute.line_nos or []) or {i.line_no for i in items},
        attachments=attachments,
        timeline=_timeline(dispute, claim, attachments, users),
        users=users,
        institution=hospital.institution_names().get(claim.institution_id, ""),
        company=insurance.company_name(claim.company_id) if claim.company_id else "",
        may_resolve=disputes.may_resolve(actor, dispute),
        may_attach=disputes.may_attach(actor, dispute),
        resolve_form=resolve_form or ResolveForm(formdata=None),
        override_values={k: v for k, v in request.form.items() if k.startswith(("approved-", "note-"))},
        override_errors=override_errors or [],
    )


@bp.get("/disputes/<id:dispute_id>")
@allow(PAGE_READERS)
def dispute(dispute_id: int):
    return _dispute_page(disputes.get_dispute(_tenant(), dispute_id))


def _overrides_from_form(items) -> dict[int, tuple[str, str]]:
    overrides = {}
    for item in items:
        amount = (request.form.get(f"approved-{item.line_no}") or "").strip()[:20]
        note = (request.form.get(f"note-{item.line_no}") or "").strip()[:500]
        if amount:
            overrides[item.line_no] = (amount, note)
        elif note:
            raise Invalid.field("overrides", f"Line {item.line_no}: give the approved amount with the note.")
    return overrides


@bp.post("/disputes/<id:dispute_id>/resolve")
@allow(disputes.RESOLVERS)
def dispute_resolve(dispute_id: int):
    dispute = disputes.get_dispute(_tenant(), dispute_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        return _dispute_page(dispute, resolve_form=form, status=422)
    try:
        overrides = _overrides_from_form(services.items_of(dispute.claim_id))
        disputes.resolve_dispute(
            actor=_actor(),
            dispute_id=dispute.id,
            status=form.status.data,
            resolution=form.resolution.data,
            overrides=overrides,
        )
    except DomainError as exc:
        status = form_failed(form, exc)
        messages = exc.errors.get("overrides", [])
        form.form_errors = [m for m in form.form_errors if m not in messages]
        return _dispute_page(
            disputes.get_dispute(_tenant(), dispute_id), resolve_form=form, override_errors=messages, status=status
        )
    db.session.commit()
    flash(f"Dispute #{dispute.id} {dispute.status.value}.", "success")
    return redirect(url_for("claims.dispute", dispute_id=dispute.id), 303)


@bp.post("/disputes/<id:dispute_id>/attachments")
@allow(PAGE_OPENERS)
def dispute_attachment_upload(dispute_id: int):
    dispute = disputes.get_dispute(_tenant(), dispute_id)
    back = url_for("claims.dispute", dispute_id=dispute.id, _anchor="evidence")
    form = Form()
    if not form.validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(back, 303)
    upload = request.files.get("file")
    stream = upload.stream if upload is not None and upload.filename else None
    try:
        row = disputes.add_attachment(
            actor=_actor(), dispute_id=dispute.id, filename=upload.filename if stream is not None else "", stream=stream
        )
    except Invalid as exc:
        db.session.rollback()
        messages = [m for field_messages in (exc.errors or {}).values() for m in field_messages]
        flash("The file was not attached: " + (" ".join(messages) or exc.detail), "error")
        return redirect(back, 303)
    db.session.commit()
    flash(f"{row.filename} attached.", "success")
    return redirect(back, 303)


@bp.get("/disputes/attachments/<id:attachment_id>")
@allow(PAGE_READERS)
def dispute_attachment_download(attachment_id: int):
    """A dispute's evidence as a download, for those who may see the claim."""
    return attachment_download(attachment_id)


# --- reconciliation ------------------------------------------------------------------------------


def _reconciliation_form(formdata: bool = True) -> ReconciliationForm:
    tenant = _tenant()
    form = ReconciliationForm() if formdata else ReconciliationForm(formdata=None)
    names = hospital.institution_names()
    if tenant.institution_id is not None:
        names = {k: v for k, v in names.items() if k == tenant.institution_id}
    form.institution_id.choices = [(0, "Choose a provider…")] + sorted(names.items(), key=lambda kv: kv[1])
    companies = insurance.company_names()
    if tenant.company_id is not None:
        form.company_id.choices = [(tenant.company_id, companies.get(tenant.company_id, "Your company"))]
    else:
        form.company_id.choices = [(0, "All insurers")] + sorted(companies.items(), key=lambda kv: kv[1])
    if not formdata or request.method == "GET":
        first = clock.today().replace(day=1)
        previous_end = first - timedelta(days=1)
        form.period_start.data = form.period_start.data or previous_end.replace(day=1)
        form.period_end.data = form.period_end.data or previous_end
        if tenant.institution_id is not None:
            form.institution_id.data = tenant.institution_id
    return form


def _reconciliation_page(form, status: int = 200):
    actor = _actor()
    return render(
        "claims/reconciliation.html",
        status=status,
        form=form,
        may_run=actor.role in reconciliation.RUNNERS,
        runs=reconciliation.recent_runs(_tenant()),
        institutions=hospital.institution_names(),
    )


@bp.get("/reconciliation")
@allow(RECONCILIATION_READERS)
def reconciliation_start():
    """The form to start a run (finance officers and admins) and the latest runs the viewer may see."""
    return _reconciliation_page(_reconciliation_form())


@bp.post("/reconciliation")
@allow(reconciliation.RUNNERS)
def reconciliation_run():
    form = _reconciliation_form()
    if not form.validate_on_submit():
        return _reconciliation_page(form, 422)
    try:
        run_id = reconciliation.start_reconciliation(
            actor=_actor(),
            institution_id=form.institution_id.data or None,
            period_start=form.period_start.data,
            period_end=form.period_end.data,
            company_id=form.company_id.data or None,
        )
    except DomainError as exc:
        return _reconciliation_page(form, form_failed(form, exc))
    db.session.commit()
    flash("Reconciliation started.", "success")
    return redirect(url_for("claims.reconciliation_report", run_id=run_id), 303)


@bp.get("/reconciliation/<run_id>")
@allow(RECONCILIATION_READERS)
def reconciliation_report(run_id: str):
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ReconciliationStatus} else ""
    found = reconciliation.report(_tenant(), run_id, status=status)
    rows, paging = page_of(found.query)
    return render(
        "claims/reconciliation_report.html",
        "claims/_reconciliation_rows.html",
        report=found,
        rows=rows,
        paging=paging,
        status_filter=status,
        statuses=list(ReconciliationStatus),
        institution=hospital.institution_names().get(found.institution_id, ""),
        companies=insurance.company_names() if any(r.company_id for r in rows) else {},
    )


@bp.get("/reconciliation/<run_id>.csv")
@allow(RECONCILIATION_READERS)
def reconciliation_csv(run_id: str):
    status = request.args.get("status", "")
    status = status if status in {s.value for s in ReconciliationStatus} else ""
    found = reconciliation.report(_tenant(), run_id, status=status)
    rows = db.session.scalars(found.query.limit(EXPORT_LIMIT)).all()
    companies = insurance.company_names()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["status", "claim_number", "invoice_number", "insurer", "invoiced", "approved", "paid", "difference"]
    )
    for row in rows:
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    row.status.value,
                    row.claim_number,
                    row.invoice_number,
                    companies.get(row.company_id, "") if row.company_id else "",
                    f"{row.invoiced:.2f}",
                    f"{row.approved:.2f}",
                    f"{row.paid:.2f}",
                    f"{row.difference:.2f}",
                )
            ]
        )
    core.record_audit(
        _actor(),
        "export",
        "reconciliation",
        found.run_id,
        summary=f"{len(rows)} rows",
        institution_id=current_user.institution_id,
        company_id=current_user.company_id,
    )
    db.session.commit()
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=reconciliation-{found.run_id[:8]}.csv",
            "X-Content-Type-Options": "nosniff",
        },
    )
