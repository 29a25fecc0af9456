"""The price list as a pick list: the services a charge can be for, found by code or description as a clerk types
(UI.md: "service codes from the tariff ... with search as you type"), and whether a code is on the list at all."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from blueprints.billing.models import ServiceTariff
from blueprints.billing.services.tariffs import TariffPrice, _price_of, tariffs_query
from medcover.extensions import db
from medcover.rbac import Tenant

#: how many services the pick list offers at once
PICK_LIMIT = 15


def price_options(
    tenant: Tenant, institution_id: int, q: str, day: date, *, limit: int = PICK_LIMIT
) -> list[TariffPrice]:
    """The institution's services in effect on ``day`` whose code starts with, or description contains, ``q``."""
    stmt = tariffs_query(tenant, institution_id=institution_id, q=q, on=day).limit(limit)
    return [_price_of(row) for row in db.session.scalars(stmt)]


def known_code(institution_id: int, service_code: str) -> bool:
    """Whether the code has ever been on the institution's price list (a typo never has)."""
    code = (service_code or "").strip().upper()
    return bool(
        code
        and db.session.scalar(
            select(ServiceTariff.id)
            .where(ServiceTariff.institution_id == institution_id, ServiceTariff.service_code == code)
            .limit(1)
        )
    )
