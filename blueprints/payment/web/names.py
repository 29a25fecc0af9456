"""Payments, settlements and refunds named by number for pages that list any kind of record (``medcover.naming``)."""

from __future__ import annotations

from flask import url_for
from sqlalchemy import select

from blueprints.payment.models import FinancialSettlement, Refund
from blueprints.payment.services import payments_by_id
from medcover.extensions import db
from medcover.naming import Named, whole_ids


def payment_names(ids: set[str]) -> dict[str, Named]:
    return {
        str(payment_id): Named(f"Payment {p.number}", url_for("payment.payment", payment_id=payment_id))
        for payment_id, p in payments_by_id(whole_ids(ids)).items()
        if p.number
    }


def settlement_names(ids: set[str]) -> dict[str, Named]:
    wanted = whole_ids(ids)
    rows = (
        db.session.execute(
            select(FinancialSettlement.id, FinancialSettlement.number).where(FinancialSettlement.id.in_(wanted))
        ).all()
        if wanted
        else []
    )
    return {
        str(sid): Named(f"Settlement {number}", url_for("payment.settlement", settlement_id=sid))
        for sid, number in rows
        if number
    }


def refund_names(ids: set[str]) -> dict[str, Named]:
    wanted = whole_ids(ids)
    rows = db.session.execute(select(Refund.id, Refund.payment_id).where(Refund.id.in_(wanted))).all() if wanted else []
    paid = payments_by_id({payment_id for _rid, payment_id in rows})
    return {
        str(rid): Named(f"Refund on payment {paid[pid].number}", url_for("payment.payment", payment_id=pid))
        for rid, pid in rows
        if pid in paid and paid[pid].number
    }
