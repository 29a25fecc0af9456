"""Billing JSON endpoints for an institution's billing settings (who may call them: api.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field, Strict

from blueprints.billing import api_bp, services
from blueprints.billing.services.settings import PREFIX
from blueprints.billing.web.api import ID, READERS, TAG, WRITERS, visible_institution, writer
from medcover.api import CurrencyIn, Money, Out, PercentIn, Schema, documented, jsonify_model, parse, saved
from medcover.rbac import allow


class SettingsIn(Schema):
    """The whole settings: fields left out take their defaults."""

    invoice_prefix: Annotated[str, Field(pattern=PREFIX.pattern)]
    currency: CurrencyIn = "KES"
    tax_percent: PercentIn = Decimal("0.00")
    payment_terms_days: Annotated[int, Strict(), Field(ge=0, le=365)] = 30
    bank_name: Annotated[str, Field(max_length=120)] | None = None
    bank_account: Annotated[str, Field(max_length=40)] | None = None
    bank_branch: Annotated[str, Field(max_length=80)] | None = None
    payment_instructions: Annotated[str, Field(max_length=1000)] | None = None


class SettingsOut(Out):
    institution_id: int
    invoice_prefix: str
    currency: str
    tax_percent: Money
    payment_terms_days: int
    bank_name: str | None
    bank_account: str | None
    bank_branch: str | None
    payment_instructions: str | None


def _settings_out(row) -> SettingsOut:
    return SettingsOut.model_validate(row)


@api_bp.get(f"/billing-settings/<{ID}:institution_id>")
@allow(READERS)
@documented(
    "An institution's billing settings (the defaults until someone saves them)",
    tag=TAG,
    responses={200: SettingsOut, 404: None},
)
def get_billing_settings(institution_id: int):
    institution = visible_institution(institution_id)
    return jsonify_model(_settings_out(services.settings_for(institution.id)))


@api_bp.put(f"/billing-settings/<{ID}:institution_id>")
@allow(WRITERS)
@documented(
    "Replace an institution's billing settings (audited)",
    tag=TAG,
    body=SettingsIn,
    responses={200: SettingsOut, 404: None},
    description=(
        "invoice_prefix: 1 to 12 letters, digits or hyphens (default INV-<code>); tax_percent: a string, 0 to 100."
    ),
)
def put_billing_settings(institution_id: int):
    data = parse(SettingsIn)
    visible_institution(institution_id)
    actor = writer()
    values = {key: ("" if value is None else value) for key, value in data.model_dump().items()}
    row = services.update_settings(actor=actor, institution_id=institution_id, values=services.SettingsInput(**values))
    return saved(_settings_out(row))
