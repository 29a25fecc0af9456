"""Payment methods: the kinds of method with what the clerk must capture for each (a reference and its details),
and the ways each hospital or insurer takes money, set up by its finance officers."""

from __future__ import annotations

import re

from sqlalchemy import select

from blueprints.payment.models import MethodKind, PaymentMethod
from blueprints.payment.services import rules
from medcover import fields
from medcover.errors import Conflict, Forbidden, Invalid
from medcover.extensions import db
from medcover.rbac import Tenant, ensure_owned, scope, tenant_of

#: what the clerk must capture for each method (the payment's ``reference`` field), as a pattern and a hint
REFERENCE_RULES: dict[MethodKind, tuple[re.Pattern | None, str]] = {
    MethodKind.CASH: (None, "a receipt number (optional)"),
    MethodKind.CARD: (re.compile(r"[A-Z0-9]{4,12}"), "the card terminal's approval code"),
    MethodKind.BANK_TRANSFER: (re.compile(r"[A-Z0-9][A-Z0-9/-]{3,39}"), "the bank transfer reference"),
    MethodKind.MOBILE_MONEY: (re.compile(r"[A-Z0-9]{6,20}"), "the mobile money transaction code"),
    MethodKind.CHEQUE: (re.compile(r"[0-9]{4,12}"), "the cheque number"),
}
DETAIL_FIELDS = {
    MethodKind.CARD: ("last4",),
    MethodKind.MOBILE_MONEY: ("phone",),
    MethodKind.CHEQUE: ("bank",),
    MethodKind.BANK_TRANSFER: ("bank",),
    MethodKind.CASH: (),
}


def method_kind(value) -> MethodKind:
    try:
        return MethodKind(str(value or "").strip())
    except ValueError:
        raise Invalid.field("method", "Choose cash, card, bank_transfer, mobile_money or cheque.") from None


def method_reference(method: MethodKind, value) -> str | None:
    """The reference the method asks for, upper-cased; a missing or malformed one is a ``reference`` error."""
    pattern, hint = REFERENCE_RULES[method]
    text = str(value or "").strip().upper()
    if not text:
        if pattern is None:
            return None
        raise Invalid.field("reference", f"Enter {hint}.")
    if pattern is not None and not pattern.fullmatch(text):
        raise Invalid.field("reference", f"That is not {hint}.")
    if len(text) > 80 or not text.isprintable():
        raise Invalid.field("reference", "Use at most 80 letters and digits.")
    return text


def method_details(method: MethodKind, values: dict | None) -> dict:
    """The details captured beside the reference (card digits, paying phone, bank), checked and cleaned."""
    values = values or {}
    unknown = set(values) - set(DETAIL_FIELDS[method])
    if unknown:
        raise Invalid.field("details", f"{method.value} takes {', '.join(DETAIL_FIELDS[method]) or 'no details'}.")
    clean = {}
    if values.get("last4"):
        if not re.fullmatch(r"[0-9]{4}", str(values["last4"]).strip()):
            raise Invalid.field("details", "Give the card's last four digits.")
        clean["last4"] = str(values["last4"]).strip()
    if values.get("phone"):
        phone = re.sub(r"[\s-]", "", str(values["phone"]))
        if not re.fullmatch(r"\+?[0-9]{9,15}", phone):
            raise Invalid.field("details", "Give the phone number the money came from.")
        clean["phone"] = phone
    if values.get("bank"):
        clean["bank"] = fields.text(values["bank"], "details", 80)
    return clean


# --- the organisations' payment methods ----------------------------------------------------------


def add_method(*, actor, kind: str, label: str, settings: dict | None = None) -> PaymentMethod:
    tenant = tenant_of(actor)
    if actor.role not in rules.APPROVERS or tenant.is_global:
        raise Forbidden("A hospital's or insurer's finance officer sets up its payment methods.")
    method = PaymentMethod(
        institution_id=tenant.institution_id,
        company_id=tenant.company_id if tenant.institution_id is None else None,
        kind=method_kind(kind),
        label=fields.text(label, "label", 80),
        gateway="manual",
        settings={
            k: fields.text(v, "settings", 120)
            for k, v in (settings or {}).items()
            if k in ("account", "paybill", "bank", "instructions")
        },
        active=True,
    )
    if db.session.scalar(
        select(PaymentMethod.id).where(
            PaymentMethod.institution_id.is_(method.institution_id)
            if method.institution_id is None
            else PaymentMethod.institution_id == method.institution_id,
            PaymentMethod.company_id.is_(None)
            if method.company_id is None
            else PaymentMethod.company_id == method.company_id,
            PaymentMethod.kind == method.kind,
            PaymentMethod.label == method.label,
        )
    ):
        raise Conflict("A payment method with that name exists.", {"label": ["Choose another name."]})
    db.session.add(method)
    db.session.flush()
    rules.audit(actor, "create", "payment_method", method, after={"kind": method.kind.value, "label": method.label})
    return method


def set_method_active(*, actor, method_id: int, active: bool) -> PaymentMethod:
    method = db.session.get(PaymentMethod, method_id) if method_id else None
    ensure_owned(tenant_of(actor), method)
    if actor.role not in rules.APPROVERS:
        raise Forbidden("A finance officer changes payment methods.")
    before = method.active
    method.active = bool(active)
    db.session.flush()
    rules.audit(actor, "update", "payment_method", method, before={"active": before}, after={"active": method.active})
    return method


def get_method(tenant: Tenant, method_id: int) -> PaymentMethod:
    """One payment method the tenant may see (another tenant's is ``NotFound``)."""
    method = db.session.get(PaymentMethod, method_id) if method_id else None
    ensure_owned(tenant, method)
    return method


def methods_query(tenant: Tenant, *, active_only: bool = False):
    stmt = scope(select(PaymentMethod), PaymentMethod, tenant).order_by(PaymentMethod.kind, PaymentMethod.label)
    return stmt.where(PaymentMethod.active.is_(True)) if active_only else stmt


def methods_of(tenant: Tenant) -> list[PaymentMethod]:
    """All the tenant's payment methods, by kind and label (the methods page lists them all)."""
    return list(db.session.scalars(methods_query(tenant)))
