"""Payment method JSON API: /payment-methods, adding one, activating and deactivating.
Who may call what and tenancy: ``api_base``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from flask import Response
from pydantic import Field

from blueprints.payment import api_bp, services
from blueprints.payment.models import MethodKind
from blueprints.payment.web.api_base import APPROVERS, ID, PAGING, READERS, TAG
from medcover import api
from medcover.api import (
    Out,
    Schema,
    bool_arg,
    created,
    documented,
    optional_body,
    page_model,
    page_response,
    parse,
    saved,
)
from medcover.rbac import allow


class MethodSettingsIn(Schema):
    """What the clerk tells the payer: an account, a paybill number, a bank, instructions."""

    account: Annotated[str, Field(max_length=120)] | None = None
    paybill: Annotated[str, Field(max_length=120)] | None = None
    bank: Annotated[str, Field(max_length=120)] | None = None
    instructions: Annotated[str, Field(max_length=120)] | None = None


class MethodIn(Schema):
    kind: MethodKind
    label: Annotated[str, Field(min_length=1, max_length=80)]
    settings: MethodSettingsIn | None = None


class EmptyIn(Schema):
    """No fields: the body may be left out or be ``{}``."""


class MethodOut(Out):
    id: int
    institution_id: int | None
    company_id: int | None
    kind: MethodKind
    label: str
    gateway: str
    settings: dict
    active: bool
    created_at: datetime


MethodPage = page_model(MethodOut)


# --- payment methods --------------------------------------------------------------------------------


@api_bp.get("/payment-methods")
@allow(READERS)
@documented(
    "The hospital's or insurer's payment methods, by kind and label",
    tag=TAG,
    responses={200: MethodPage},
    query={"active": "true: only the active ones", **PAGING},
)
def list_payment_methods():
    stmt = services.methods_query(api.tenant(), active_only=bool_arg("active"))
    return page_response(stmt, MethodOut, MethodPage)


@api_bp.post("/payment-methods")
@allow(APPROVERS)
@documented(
    "Add a payment method for the caller's hospital or insurer (finance officers)",
    tag=TAG,
    body=MethodIn,
    responses={201: MethodOut, 409: None},
    description="The same kind and label twice: 409. A platform admin belongs to no hospital or insurer: 403.",
)
def create_payment_method():
    data = parse(MethodIn)
    method = services.add_method(
        actor=api.actor(),
        kind=data.kind.value,
        label=data.label,
        settings=data.settings.model_dump(exclude_none=True) if data.settings else None,
    )
    return created(MethodOut.model_validate(method))


def _set_active(method_id: int, active: bool) -> Response:
    optional_body(EmptyIn)
    method = services.set_method_active(actor=api.actor(), method_id=method_id, active=active)
    return saved(MethodOut.model_validate(method))


@api_bp.post(f"/payment-methods/<{ID}:method_id>/deactivate")
@allow(APPROVERS)
@documented(
    "Stop offering a payment method (payments already taken keep it)",
    tag=TAG,
    body=EmptyIn,
    responses={200: MethodOut, 404: None},
    description="The body may be left out.",
)
def deactivate_payment_method(method_id: int):
    return _set_active(method_id, False)


@api_bp.post(f"/payment-methods/<{ID}:method_id>/activate")
@allow(APPROVERS)
@documented(
    "Offer a payment method again",
    tag=TAG,
    body=EmptyIn,
    responses={200: MethodOut, 404: None},
    description="The body may be left out.",
)
def activate_payment_method(method_id: int):
    return _set_active(method_id, True)
