"""Claims pages: the claims list and the claim page (its lines, timeline and the actions its viewer may take:
deciding with overrides, a draft edited, submitted or voided, a dispute opened). Who reads and acts on which
page is said here for all the claims pages."""

from __future__ import annotations

import re

from flask import flash, redirect, request, url_for
from flask_login import current_user

from blueprints.claims import bp, services
from blueprints.claims.engine import REASONS
from blueprints.claims.models import Claim, ClaimStatus
from blueprints.claims.services import submission
from blueprints.claims.services.transitions import VOIDABLE
from blueprints.claims.web.forms import ApproveForm, ClaimForm, DraftActionForm, RejectForm, VoidForm
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import confirm
from medcover.errors import Conflict, DomainError, Invalid
from medcover.extensions import db
from medcover.labels import badges
from medcover.pages import actor, form_failed, page_of, render, tenant, toast, wants_partial
from medcover.rbac import Role, allow

#: who reads claims (each sees its own tenant's: a hospital its claims, an insurer its members')
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR})
DECIDERS = services.DECIDERS
#: the provider's staff filing claims on pages (integration accounts file through the API)
PROVIDERS = services.PROVIDER_WRITERS - {Role.INTEGRATION}
INSURER_STAFF = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR})
#: a service's field name for a line of the claim: ``items.2.unit_price``
LINE_FIELD = re.compile(r"items\.(\d+)\.(\w+)")


def _text(value: str | None, limit: int) -> str:
    return (value or "").replace("\x00", "")[:limit]


#: each claim status's badge colour (the ``claim_badge`` filter)
BADGE_KINDS = {
    "draft": "off",
    "submitted": "warn",
    "pending_review": "warn",
    "approved": "ok",
    "partially_approved": "warn",
    "rejected": "bad",
    "disputed": "warn",
    "paid": "ok",
    "void": "off",
}


status_badge = badges(BADGE_KINDS)


def status_label(status) -> str:
    return str(getattr(status, "value", status)).replace("_", " ")


def claimant_names(rows) -> dict[int, str]:
    """Who each claim is for, as the viewer's side knows them: a hospital its patients, an insurer its members
    (one query either way)."""
    viewer = tenant()
    if viewer.institution_id is not None:
        patients = hospital.patients_by_id(c.patient_id for c in rows)
        return {c.id: f"{p.first_name} {p.last_name}" for c in rows if (p := patients.get(c.patient_id))}
    members = {m.id: m for m in insurance.members_by_id(viewer, (c.member_id for c in rows))}
    return {c.id: f"{m.first_name} {m.last_name}" for c in rows if (m := members.get(c.member_id))}


# --- the claims list -----------------------------------------------------------------------------


@bp.get("/claims")
@allow(READERS)
def claims():
    status = request.args.get("status", "")
    member = _text(request.args.get("member", ""), 30).strip()
    stmt = services.claims_query(tenant(), status=status, member_number=member, columns=services.LIST_COLUMNS)
    rows, paging = page_of(stmt.order_by(None).order_by(Claim.id.desc()))
    return render(
        "claims/claims.html",
        "claims/_claim_rows.html",
        rows=rows,
        paging=paging,
        status_filter=status,
        member=member,
        statuses=list(ClaimStatus),
        names=claimant_names(rows),
        providers=hospital.institution_names(),
        can_file=current_user.role in PROVIDERS and tenant().company_id is None,
    )


# --- the claim page ------------------------------------------------------------------------------


def _may_decide(claim: Claim) -> bool:
    viewer = tenant()
    return (
        claim.status is ClaimStatus.PENDING_REVIEW and current_user.role in DECIDERS and viewer.institution_id is None
    )


def _may_edit(claim: Claim) -> bool:
    viewer = tenant()
    return (
        claim.status is ClaimStatus.DRAFT
        and current_user.role in PROVIDERS
        and (viewer.is_global or viewer.institution_id == claim.institution_id)
    )


def _approve_form(claim: Claim, items) -> ApproveForm:
    form = ApproveForm(formdata=None, version=claim.version)
    for item in items:
        # A rejected line can be decided by hand only when its rule may be waived (M02).
        if item.decision != "rejected" or item.waivable:
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
            "what": (f"{status_label(h.from_status)} → " if h.from_status else "Created as ")
            + status_label(h.to_status),
            "who": who(h.by_id) if h.by_id else ("System" if h.to_status == "paid" else "Engine"),
            "note": h.note,
        }
        for h in history
    ]
    entries += [
        {
            "at": d.at,
            "kind": "decision",
            "what": f"Decided: {status_label(d.status)}, {d.total_approved:,.2f} approved",
            "who": who(d.by_id) if d.by_id else ("Engine" if d.source == "engine" else d.source.capitalize()),
            "note": d.note,
            "codes": sorted(
                {c for line in d.lines or [] for c in line.get("reason_codes", [])} | set(d.reason_codes or [])
            ),
        }
        for d in decisions
    ]
    return sorted(entries, key=lambda e: (e["at"], e["kind"] == "decision"))


def may_void(claim: Claim) -> bool:
    """The provider's billing staff void (or replace) a claim the table lets become void, with no payment."""
    viewer = tenant()
    return (
        claim.status in VOIDABLE
        and claim.total_paid == 0
        and current_user.role in PROVIDERS
        and (viewer.is_global or viewer.institution_id == claim.institution_id)
    )


def void_question(claim) -> dict:
    """What voiding says before it happens (the claim page's dialog and the confirmation page)."""
    if claim.status is ClaimStatus.DRAFT:
        consequence = "The draft is never sent; its charges stay billable. This can't be undone."
    else:
        consequence = (
            f"The insurer pays nothing on it (KES {claim.total_approved:,.2f} approved now), and what it used of the "
            "member's cover is freed. This can't be undone; to correct the claim instead, replace it."
        )
    return {
        "question": f"Void claim {claim.claim_number}, billed KES {claim.total_billed:,.2f}?",
        "consequence": consequence,
        "button": "Void the claim",
    }


def approve_question(claim) -> dict:
    """What approving says before it happens (the claim page's dialog and the confirmation page)."""
    return {
        "question": f"Approve claim {claim.claim_number} for KES {claim.total_approved:,.2f}?",
        "consequence": "The amounts are as proposed unless you set a line's amount. The provider and the member are "
        "told, and the approved amount waits for payment. After this the decision changes only through a dispute.",
        "button": "Approve",
    }


def reject_question(claim) -> dict:
    return {
        "question": f"Reject claim {claim.claim_number}, billed KES {claim.total_billed:,.2f}?",
        "consequence": "Nothing on it will be paid. The provider and the member are told, with your reason; after "
        "this the decision changes only through a dispute.",
        "button": "Reject the claim",
    }


def claim_page(claim: Claim, status: int = 200, partial: str | None = None, **extra):
    items = services.items_of(claim.id)
    history, decisions = services.history_of(claim.id), services.decisions_of(claim.id)
    users = core.users_by_id(
        ({h.by_id for h in history} | {d.by_id for d in decisions} | {claim.voided_by_id}) - {None}
    )
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
        poll=claim.status is ClaimStatus.SUBMITTED and submission.decides_in_background(),
        waiting=submission.decision_request(claim.id) if claim.status is ClaimStatus.SUBMITTED else None,
        approve_form=extra.pop("approve_form", None) or (_approve_form(claim, items) if may_decide else None),
        reject_form=extra.pop("reject_form", None) or RejectForm(formdata=None, version=claim.version),
        draft_form=extra.pop("draft_form", None) or (_claim_form(claim, items) if may_edit else None),
        action_form=extra.pop("action_form", None) or DraftActionForm(formdata=None),
        next_id=services.next_pending(tenant(), claim.id) if current_user.role in DECIDERS else None,
        in_queue=current_user.role in DECIDERS and tenant().institution_id is None,
        conflict=extra.pop("conflict", None),
        may_dispute=services.disputes.may_open(current_user, claim),
        claim_disputes=services.disputes.disputes_of(claim.id),
        decided=extra.pop("decided", False),
        approve_question=approve_question(claim),
        reject_question=reject_question(claim),
        suspect=services.suspects.suspect_of(tenant(), claim) if current_user.role in DECIDERS else None,
        duplicate_form=extra.pop("duplicate_form", None),
        may_void=may_void(claim),
        void_form=extra.pop("void_form", None) or VoidForm(formdata=None, version=claim.version),
        void_question=void_question(claim),
        chain=services.chain_of(tenant(), claim),
        voided_by=users.get(claim.voided_by_id),
        **extra,
    )


@bp.get("/claims/<id:claim_id>")
@allow(READERS)
def claim(claim_id: int):
    """The page; HTMX (the "Waiting to be decided" poll, a swap after deciding) gets the claim panel alone."""
    return claim_page(services.claim_row(tenant(), claim_id), partial="claims/_claim_panel.html")


def line_errors(form, exc: DomainError) -> DomainError:
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


def claim_action(claim_id: int, form, action, message: str, form_name: str, question=None, may_act=None):
    """Every change made on the claim page: one service call; HTMX gets the claim panel back (the form with its
    messages at 422; the claim as it now stands at 409, when someone else moved it first), others a 303. A
    decision (``question(claim)`` says what will happen) is confirmed first (medcover/confirm.py), once ``may_act``
    (by default: may decide it) has refused whoever may not act on it."""
    claim = services.claim_row(tenant(), claim_id)
    opened = getattr(getattr(form, "version", None), "data", None)
    if not form.validate_on_submit():
        return claim_page(claim, 422, "claims/_claim_panel.html", **{form_name: form})
    if question is not None and not confirm.confirmed():
        # someone who may not act on it is refused, not asked
        may_act() if may_act else services.for_decider(actor(), claim_id)
        return confirm.ask(question(claim))
    try:
        result = action()
    except Conflict as exc:
        db.session.rollback()
        claim = services.claim_row(tenant(), claim_id)
        text = exc.detail
        if opened is not None and opened != claim.version:
            text = f"Claim {claim.claim_number} changed since you opened it: it is now {status_label(claim.status)}."
        # What was typed into a draft stays on the screen (UI.md: nothing typed is lost).
        kept = {form_name: form} if form_name == "draft_form" and claim.status is ClaimStatus.DRAFT else {}
        return claim_page(claim, 409, "claims/_claim_panel.html", conflict=text, **kept)
    except DomainError as exc:
        status = form_failed(form, line_errors(form, exc))
        return claim_page(
            services.claim_row(tenant(), claim_id), status, "claims/_claim_panel.html", **{form_name: form}
        )
    db.session.commit()
    message = message.format(status=status_label(result.status), number=result.claim_number)
    if not wants_partial():
        flash(message, "success")
        return redirect(url_for("claims.claim", claim_id=result.id), 303)
    return toast(claim_page(result, partial="claims/_claim_panel.html", decided=True), message)
