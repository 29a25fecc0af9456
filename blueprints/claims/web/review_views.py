"""The adjudicators' pages: the work queue of claims pending review (filters, sort, bulk approval) and the claim
page's approve (with overrides, M01) and reject."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import flash, redirect, request, url_for

from blueprints.claims import bp, services
from blueprints.claims.engine import REASONS, TRIGGER_NAMES
from blueprints.claims.models import ClaimStatus
from blueprints.claims.web.claim_views import (
    DECIDERS,
    approve_question,
    claim_action,
    claimant_names,
    reject_question,
)
from blueprints.claims.web.forms import ApproveForm, QueueFilters, RejectForm, choices
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, confirm
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.labels import day
from medcover.pages import actor, page_of, render, safe_next, tenant, toast, wants_partial
from medcover.rbac import allow


def _scheme_names() -> dict[int, str]:
    return {id_: f"{code} · {name}" for id_, (code, name) in insurance.scheme_codes_and_names(tenant()).items()}


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
    """Claims waiting for review: two queries whatever the page size (the page with its count, the members on it);
    the filters' schemes and providers come from the directories the process keeps."""
    form, filters, schemes, providers = _queue_filters()
    pending = ClaimStatus.PENDING_REVIEW.value
    rows, paging = page_of(services.claims_query(tenant(), status=pending, columns=services.QUEUE_COLUMNS, **filters))
    return render(
        "claims/queue.html",
        "claims/_queue_rows.html",
        status=status,
        rows=rows,
        paging=paging,
        filters=form,
        schemes=schemes,
        providers=providers,
        names=claimant_names(rows),
        outcome=outcome,
        today=clock.today(),
        query=request.args.to_dict(),
        why=TRIGGER_NAMES,
        reasons=REASONS,
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
        return toast(_queue(422, outcome), outcome["message"])
    if not confirm.confirmed():
        return confirm.ask(_bulk_question(ids))
    result = services.bulk_approve(actor=actor(), claim_ids=ids)
    db.session.commit()
    refused_ids = [int(i) for i in result.refused]
    numbers = services.claim_numbers(tenant(), refused_ids)
    outcome = {
        "approved": result.approved,
        "refused": [(numbers.get(int(i), "A claim you can't see"), reason) for i, reason in result.refused.items()],
    }
    message = f"Approved {len(result.approved)}" + (f"; {len(result.refused)} refused." if result.refused else ".")
    if not wants_partial():
        flash(message + "".join(f" {number}: {reason}" for number, reason in outcome["refused"]), "success")
        return redirect(safe_next(request.form.get("next"), url_for("claims.queue")), 303)
    return toast(_queue(outcome=outcome), message)


def _bulk_question(ids: list[int]) -> confirm.Ask:
    """Bulk approval says how many claims and how much, and lists them (the ticked claims the person may see)."""
    found = services.claim_summaries(tenant(), ids)
    rows = [found[i] for i in ids if i in found]
    total = sum((c.total_approved for c in rows), Decimal("0.00"))
    count = f"{len(rows)} claim{'' if len(rows) == 1 else 's'}"
    return confirm.Ask(
        question=f"Approve {count} as proposed, KES {total:,.2f} in all?",
        consequence="Each claim is approved at its proposed amount, and its provider and member are told; a claim "
        "that can't be approved is listed with the reason. After this a decision changes only through a dispute.",
        button=f"Approve {count}",
        cancel_url=safe_next(request.form.get("next"), url_for("claims.queue")),
        headings=("Claim", "Member", "Service date", "Proposed (KES)"),
        numeric=frozenset({"Proposed (KES)"}),
        rows=tuple((c.claim_number, c.member_number, day(c.service_date), f"{c.total_approved:,.2f}") for c in rows),
    )


def _overrides(form: ApproveForm) -> dict[int, tuple]:
    found = {}
    for entry in form.overrides:
        line = entry.form
        if line.amount.data is None and not line.reject.data and not (line.note.data or "").strip():
            continue
        try:
            line_no = int(line.line_no.data)
        except (TypeError, ValueError):
            raise Invalid.field("overrides", "The form lost track of a line; reload the claim.") from None
        found[line_no] = ("" if line.amount.data is None else line.amount.data, line.note.data or "", line.reject.data)
    return found


@bp.post("/claims/<id:claim_id>/approve")
@allow(DECIDERS)
def claim_approve(claim_id: int):
    form = ApproveForm()
    return claim_action(
        claim_id,
        form,
        lambda: services.approve_claim(
            actor=actor(), claim_id=claim_id, overrides=_overrides(form), version=form.version.data
        ),
        "Claim {number} is {status}.",
        "approve_form",
        lambda claim: confirm.Ask(**approve_question(claim), cancel_url=url_for("claims.claim", claim_id=claim.id)),
    )


@bp.post("/claims/<id:claim_id>/reject")
@allow(DECIDERS)
def claim_reject(claim_id: int):
    form = RejectForm()
    return claim_action(
        claim_id,
        form,
        lambda: services.reject_claim(
            actor=actor(), claim_id=claim_id, reason=form.reason.data or "", version=form.version.data
        ),
        "Claim {number} is rejected.",
        "reject_form",
        lambda claim: confirm.Ask(
            **reject_question(claim),
            cancel_url=url_for("claims.claim", claim_id=claim.id),
            danger=True,
            facts=(("Reason", form.reason.data or ""),),
        ),
    )
