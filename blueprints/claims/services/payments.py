"""Payments seen on claims: the payment domain's ``payment.recorded`` and ``refund.recorded`` events kept against
the claim they pay, once each; a claim is paid once its approved total is, and open for payment again when a
refund takes it below."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from blueprints.claims.models import Claim, ClaimPayment, ClaimStatus
from blueprints.claims.services.reading import items_of
from blueprints.claims.services.transitions import move_claim
from medcover import clock
from medcover.extensions import db
from medcover.money import money


def record_payment_event(event_id: int, payload: dict) -> None:
    """Subscriber of ``payment.recorded`` for claim payments: the claim is paid once its approved total is."""
    if payload.get("kind") != "claim" or not payload.get("claim_id"):
        return
    _apply_payment(
        int(payload["claim_id"]),
        money(str(payload["amount"])),
        f"payment:{payload.get('payment_id') or event_id}",
        payload.get("paid_on"),
    )


def record_refund_event(event_id: int, payload: dict) -> None:
    if not payload.get("claim_id"):
        return
    _apply_payment(
        int(payload["claim_id"]),
        -money(str(payload["amount"])),
        f"refund:{payload.get('refund_id') or event_id}",
        payload.get("refunded_on"),
    )


def _apply_payment(claim_id: int, amount: Decimal, source: str, day) -> None:
    if db.session.scalar(select(ClaimPayment.id).where(ClaimPayment.source == source)):
        return
    claim = db.session.scalar(select(Claim).where(Claim.id == claim_id).with_for_update())
    if claim is None:
        return
    db.session.add(
        ClaimPayment(
            claim_id=claim.id,
            institution_id=claim.institution_id,
            company_id=claim.company_id,
            amount=amount,
            source=source,
            paid_on=date.fromisoformat(day) if day else clock.today(),
        )
    )
    claim.total_paid = money(claim.total_paid + amount)
    claim.version += 1
    db.session.flush()
    if (
        claim.status in (ClaimStatus.APPROVED, ClaimStatus.PARTIALLY_APPROVED)
        and claim.total_paid >= claim.total_approved
    ):
        move_claim(claim, ClaimStatus.PAID, by_id=None, note=f"paid {claim.total_paid:,.2f}")
    elif claim.status is ClaimStatus.PAID and claim.total_paid < claim.total_approved:
        decided = [item.decision for item in items_of(claim.id)]
        target = ClaimStatus.PARTIALLY_APPROVED if "rejected" in decided else ClaimStatus.APPROVED
        move_claim(
            claim, target, by_id=None, note=f"payment refunded: {claim.total_paid:,.2f} paid of the approved total"
        )
