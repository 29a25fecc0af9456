"""Payment gateways: every way money is taken goes through one small interface. ``manual`` (the clerk has
the money or the bank confirmation in hand and confirms) is the default; a card or mobile-money provider
is another adapter with the same ``take``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class GatewayResult:
    confirmed: bool
    reference: str | None = None
    message: str = ""


class Gateway(Protocol):
    name: str

    def take(self, *, amount: Decimal, method: str, reference: str | None) -> GatewayResult: ...


class ManualGateway:
    """The clerk confirms the money arrived; the gateway's reference is the clerk's."""

    name = "manual"

    def take(self, *, amount: Decimal, method: str, reference: str | None) -> GatewayResult:
        return GatewayResult(True, reference, "confirmed by the clerk")


_GATEWAYS: dict[str, Gateway] = {"manual": ManualGateway()}


def register(gateway: Gateway) -> None:
    _GATEWAYS[gateway.name] = gateway


def get(name: str) -> Gateway:
    try:
        return _GATEWAYS[name]
    except KeyError:
        raise LookupError(f"no payment gateway called {name!r}") from None


def for_method(method, *, institution_id: int | None, company_id: int | None) -> Gateway:
    """The adapter configured for that method of that hospital or insurer (``manual`` unless set up)."""
    from sqlalchemy import select

    from blueprints.payment.models import PaymentMethod
    from medcover.extensions import db

    owner = (
        PaymentMethod.institution_id == institution_id
        if institution_id is not None
        else PaymentMethod.company_id == company_id
    )
    name = db.session.scalar(
        select(PaymentMethod.gateway)
        .where(owner, PaymentMethod.kind == method, PaymentMethod.active.is_(True))
        .limit(1)
    )
    return get(name or "manual")
