"""Billing settings per institution: the invoice prefix, tax, payment terms, currency and the bank details
printed on invoices."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from blueprints.billing.models import BillingSettings
from blueprints.billing.services.access import institution_for_write
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from medcover import fields
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import Tenant


@dataclass(frozen=True)
class SettingsInput:
    invoice_prefix: str
    tax_percent: Decimal | str = "0"
    payment_terms_days: int | str = 30
    currency: str = "KES"
    bank_name: str = ""
    bank_account: str = ""
    bank_branch: str = ""
    payment_instructions: str = ""


#: invoice numbers start with this, so that they never look like patient numbers (which start with the code)
INVOICE_MARK = "INV-"


def default_prefix(institution_code: str) -> str:
    """``INV-`` and the institution's code: INV-RGH-000061 is an invoice, RGH-000061 a patient."""
    code = "".join(c for c in str(institution_code or "").upper() if c.isalnum())[: 12 - len(INVOICE_MARK)]
    return f"{INVOICE_MARK}{code}" if code else "INV"


def settings_for(institution_id: int) -> BillingSettings:
    """The institution's settings; defaults (prefix from its code, no tax, 30 days) until someone saves."""
    row = db.session.get(BillingSettings, institution_id)
    if row is not None:
        return row
    institution = hospital.get_institution(Tenant(None, None), institution_id)
    prefix = default_prefix(institution.code)
    return BillingSettings(
        institution_id=institution_id,
        invoice_prefix=prefix,
        currency="KES",
        tax_percent=Decimal("0.00"),
        payment_terms_days=30,
    )


#: an invoice number's prefix: 1 to 12 ASCII letters or digits
#: an invoice prefix (the API document states the same pattern): 1 to 12 letters, digits or hyphens,
#: starting with a letter or digit and not ending with a hyphen
PREFIX = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,10}[A-Za-z0-9])?$")


def update_settings(*, actor, institution_id: int, values: SettingsInput) -> BillingSettings:
    institution_for_write(actor, institution_id)
    prefix = str(values.invoice_prefix or "").strip().upper()
    if not PREFIX.match(prefix):
        raise Invalid.field(
            "invoice_prefix", "Use 1 to 12 letters, digits or hyphens, starting with a letter or digit."
        )
    tax = fields.amount(values.tax_percent, "tax_percent")
    if tax > 100:
        raise Invalid.field("tax_percent", "Use a percentage from 0 to 100.")
    currency = str(values.currency or "").strip().upper()
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise Invalid.field("currency", "Use a three-letter currency code such as KES.")
    new = {
        "invoice_prefix": prefix,
        "tax_percent": tax,
        "payment_terms_days": fields.whole(values.payment_terms_days, "payment_terms_days", 0, 365),
        "currency": currency,
        "bank_name": fields.text(values.bank_name, "bank_name", 120, required=False) or None,
        "bank_account": fields.text(values.bank_account, "bank_account", 40, required=False) or None,
        "bank_branch": fields.text(values.bank_branch, "bank_branch", 80, required=False) or None,
        "payment_instructions": _paragraph(values.payment_instructions, "payment_instructions", 1000) or None,
    }
    row = db.session.get(BillingSettings, institution_id)
    before = {k: str(getattr(row, k)) for k in new} if row else None
    if row is None:
        row = BillingSettings(institution_id=institution_id, **new)
        db.session.add(row)
    else:
        for name, value in new.items():
            setattr(row, name, value)
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "billing_settings",
        institution_id,
        before=before,
        after={k: str(v) for k, v in new.items()},
        institution_id=institution_id,
    )
    return row


def _paragraph(value, field: str, limit: int) -> str:
    text = str(value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise Invalid.field(field, f"Use at most {limit} characters.")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise Invalid.field(field, "Remove the control characters.")
    return text
