"""Dispute pages: opening a dispute on a claim (a page, or the form alone for the claim page to load), the
disputes list, a dispute with its claim, timeline, evidence and the adjudicator's resolve form."""

from __future__ import annotations

from flask import Response, flash, redirect, request, url_for

from blueprints.claims import bp, services
from blueprints.claims.models import DisputeStatus
from blueprints.claims.services import disputes
from blueprints.claims.web.dispute_api import attachment_download
from blueprints.claims.web.forms import DisputeForm, ResolveForm
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover.errors import DomainError, Invalid
from medcover.extensions import db
from medcover.forms import Form
from medcover.labels import label
from medcover.pages import actor, attach_upload, form_failed, page_of, render, tenant, wants_partial
from medcover.rbac import Role, allow
from medcover.uploads import file_part

#: pages are for people: integration accounts use the API
PAGE_OPENERS = disputes.OPENERS - {Role.INTEGRATION}
PAGE_READERS = disputes.READERS - {Role.INTEGRATION}


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
        may_open=disputes.may_open(actor(), claim),
    )


@bp.route("/claims/<id:claim_id>/disputes/new", methods=["GET", "POST"])
@allow(PAGE_OPENERS)
def dispute_new(claim_id: int):
    """The dispute form (the claim page loads it with htmx); posting it opens the dispute, with evidence."""
    claim = services.claim_row(tenant(), claim_id)
    form = DisputeForm()
    if request.method == "GET":
        return _dispute_form_page(claim, form)
    if not form.validate_on_submit():
        return _dispute_form_page(claim, form, 422)
    filename, stream = file_part(request.files)
    try:
        dispute = disputes.open_dispute(
            actor=actor(), claim_id=claim.id, reason=form.reason.data, line_nos=form.line_nos.data or []
        )
        if stream is not None:
            disputes.add_attachment(actor=actor(), dispute_id=dispute.id, filename=filename, stream=stream)
    except DomainError as exc:
        status = form_failed(form, exc)  # the file's messages (no such form field) show above the form
        return _dispute_form_page(services.claim_row(tenant(), claim_id), form, status)
    db.session.commit()
    flash(f"Dispute opened on claim {claim.claim_number}.", "success")
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
    viewer = tenant()
    status = request.args.get("status", "open")
    status = status if status in {s.value for s in DisputeStatus} else ""
    kind = request.args.get("raised_by", "")
    kind = kind if kind in ("provider", "member") else ""
    rows, paging = page_of(disputes.disputes_query(viewer, status=status, raised_by_kind=kind))
    return render(
        "claims/disputes.html",
        "claims/_dispute_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        kind_filter=kind,
        statuses=list(DisputeStatus),
        claim_numbers=services.claim_numbers(viewer, (r.claim_id for r in rows)),
        institutions=hospital.institution_names() if viewer.institution_id is None and rows else {},
        companies=insurance.company_names() if viewer.company_id is None and rows else {},
    )


# --- one dispute ---------------------------------------------------------------------------------


def _timeline(dispute, claim, attachments, users) -> list[tuple]:
    """The claim's status changes and the dispute's own events, oldest first: (when, what, who)."""
    events = [
        (
            c.at,
            f"Claim {label(c.from_status).lower() if c.from_status else 'created'} → {label(c.to_status).lower()}"
            + (f" ({c.note})" if c.note else ""),
            c.by_id,
        )
        for c in services.history_of(claim.id)
    ]
    events.append((dispute.created_at, f"Dispute opened by the {dispute.raised_by_kind}", dispute.raised_by_id))
    events += [(a.uploaded_at, f"Evidence added: {a.filename}", a.uploaded_by_id) for a in attachments]
    if dispute.resolved_at:
        events.append((dispute.resolved_at, f"Dispute {label(dispute.status).lower()}", dispute.resolved_by_id))
    events.sort(key=lambda e: (e[0] is None, e[0]))
    return [
        (at, what, users.get(by).full_name if by in users else ("MedCover" if by is None else ""))
        for at, what, by in events
    ]


def _dispute_page(dispute, *, resolve_form=None, override_errors=None, status: int = 200):
    viewer = actor()
    claim = services.claim_row(tenant(), dispute.claim_id)
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
        chain=services.chain_of(tenant(), claim),
        attachments=attachments,
        timeline=_timeline(dispute, claim, attachments, users),
        users=users,
        institution=hospital.institution_names().get(claim.institution_id, ""),
        company=insurance.company_name(claim.company_id) if claim.company_id else "",
        may_resolve=disputes.may_resolve(viewer, dispute),
        may_attach=disputes.may_attach(viewer, dispute),
        resolve_form=resolve_form or ResolveForm(formdata=None),
        override_values={k: v for k, v in request.form.items() if k.startswith(("approved-", "note-", "reject-"))},
        proposal=disputes.new_proposal(viewer, dispute) if dispute.status.value == "open" else {},
        override_errors=override_errors or [],
    )


@bp.get("/disputes/<id:dispute_id>")
@allow(PAGE_READERS)
def dispute(dispute_id: int):
    return _dispute_page(disputes.get_dispute(tenant(), dispute_id))


def _overrides_from_form(items) -> dict[int, tuple]:
    """Per line: an amount (M01 or, on a rejected line, an M02 waiver) or "reject" (M03), with a note."""
    overrides = {}
    for item in items:
        amount = (request.form.get(f"approved-{item.line_no}") or "").strip()[:20]
        note = (request.form.get(f"note-{item.line_no}") or "").strip()[:500]
        reject = bool(request.form.get(f"reject-{item.line_no}"))
        if amount or reject:
            overrides[item.line_no] = (amount or None, note, reject)
        elif note:
            raise Invalid.field("overrides", f"Line {item.line_no}: give the approved amount with the note.")
    return overrides


@bp.post("/disputes/<id:dispute_id>/resolve")
@allow(disputes.RESOLVERS)
def dispute_resolve(dispute_id: int):
    dispute = disputes.get_dispute(tenant(), dispute_id)
    form = ResolveForm()
    if not form.validate_on_submit():
        return _dispute_page(dispute, resolve_form=form, status=422)
    try:
        overrides = _overrides_from_form(services.items_of(dispute.claim_id))
        disputes.resolve_dispute(
            actor=actor(),
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
            disputes.get_dispute(tenant(), dispute_id), resolve_form=form, override_errors=messages, status=status
        )
    db.session.commit()
    number = services.claim_row(tenant(), dispute.claim_id).claim_number
    flash(f"Dispute on claim {number} {label(dispute.status).lower()}.", "success")
    return redirect(url_for("claims.dispute", dispute_id=dispute.id), 303)


@bp.post("/disputes/<id:dispute_id>/attachments")
@allow(PAGE_OPENERS)
def dispute_attachment_upload(dispute_id: int):
    dispute = disputes.get_dispute(tenant(), dispute_id)
    back = url_for("claims.dispute", dispute_id=dispute.id, _anchor="evidence")
    return attach_upload(
        Form(),
        back,
        lambda filename, stream: disputes.add_attachment(
            actor=actor(), dispute_id=dispute.id, filename=filename, stream=stream
        ),
    )


@bp.get("/disputes/attachments/<id:attachment_id>")
@allow(PAGE_READERS)
def dispute_attachment_download(attachment_id: int):
    """A dispute's evidence as a download, for those who may see the claim."""
    return attachment_download(attachment_id)
