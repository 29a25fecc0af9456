"""Billing JSON endpoints for tariffs: prices and their history, the price lookup, CSV import of a price list
(who may call them: api.py)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from pydantic import Field, StrictBool

from blueprints.billing import api_bp, services
from blueprints.billing.web.api import ID, PAGING, READERS, TAG, WRITERS, Code, Description, visible_institution, writer
from medcover import clock
from medcover.api import (
    Day,
    Id,
    Money,
    MoneyIn,
    Out,
    Schema,
    created,
    day_arg,
    documented,
    int_arg,
    jsonify_model,
    page_model,
    page_response,
    parse,
    referenced,
    required,
    saved,
    tenant,
    text_arg,
)
from medcover.errors import Invalid, NotFound
from medcover.rbac import allow


class TariffIn(Schema):
    institution_id: Id
    service_code: Code
    description: Description
    benefit_code: Annotated[str, Field(min_length=1, max_length=30, examples=["LAB-TEST"])]
    unit_price: MoneyIn
    effective_from: Day


class TariffImportIn(Schema):
    """``csv``: the price list's text with the header service_code, description, benefit_code, unit_price,
    effective_from. ``dry_run`` true answers the preview and changes nothing."""

    institution_id: Id
    csv: Annotated[str, Field(min_length=1, max_length=services.MAX_IMPORT_BYTES)]
    dry_run: StrictBool = False


class TariffOut(Out):
    id: int
    institution_id: int
    service_code: str
    description: str
    benefit_code: str
    unit_price: Money
    effective_from: date
    #: the last day of this price; null while it is the current one
    effective_to: date | None


class TariffPriceOut(Out):
    institution_id: int
    service_code: str
    on: date
    tariff_id: int
    description: str
    benefit_code: str
    unit_price: Money
    effective_from: date
    effective_to: date | None


class ImportRowOut(Out):
    line: int
    service_code: str
    description: str
    benefit_code: str
    unit_price: Money | None
    effective_from: date | None
    #: new, change, same (nothing to do) or error
    action: str
    current_price: Money | None
    errors: list[str]


class ImportOut(Out):
    institution_id: int
    dry_run: bool
    #: true when the prices were imported (dry_run false and every row good)
    applied: bool
    ok: bool
    #: file-level problems (header, encoding, size); row problems are on the rows
    errors: list[str]
    counts: dict[str, int]
    rows: list[ImportRowOut]


TariffPage = page_model(TariffOut)


@api_bp.post("/tariffs")
@allow(WRITERS)
@documented(
    "Price a service at an institution from a date (a new price ends the previous one the day before)",
    tag=TAG,
    body=TariffIn,
    responses={201: TariffOut, 409: None},
    description="A second price for the same service from the same day: 409. benefit_code must be in the "
    "benefit catalogue.",
)
def create_tariff():
    data = parse(TariffIn)
    actor = writer()
    referenced("institution_id", visible_institution, data.institution_id)
    row = services.set_price(
        actor=actor,
        institution_id=data.institution_id,
        values=services.TariffInput(**data.model_dump(exclude={"institution_id"})),
    )
    return created(TariffOut.model_validate(row))


@api_bp.get("/tariffs")
@allow(READERS)
@documented(
    "Prices by service code, each service's newest first (hospital staff: their institution's)",
    tag=TAG,
    responses={200: TariffPage},
    query={
        "institution_id": "one institution",
        "q": "service code starts with, or description contains",
        "on": "only the prices in effect that day (YYYY-MM-DD); otherwise the whole history",
        **PAGING,
    },
)
def list_tariffs():
    stmt = services.tariffs_query(tenant(), institution_id=int_arg("institution_id"), q=text_arg("q"), on=day_arg("on"))
    return page_response(stmt, TariffOut, TariffPage)


@api_bp.get("/tariffs/price")
@allow(READERS)
@documented(
    "The price of a service at an institution on a day (404 when it has none)",
    tag=TAG,
    responses={200: TariffPriceOut, 404: None},
    query={
        "institution_id": "the institution (required)",
        "service_code": "the service (required)",
        "on": "the day, YYYY-MM-DD (today when left out)",
    },
)
def tariff_price():
    institution_id = required("institution_id", int_arg("institution_id"))
    code = required("service_code", text_arg("service_code", 30).upper())
    day = day_arg("on") or clock.today()
    institution = visible_institution(institution_id)
    price = services.tariff_price(institution.id, code, day)
    if price is None:
        raise NotFound(f"{code} has no price at this institution on {day}.")
    return jsonify_model(TariffPriceOut(institution_id=institution.id, on=day, **asdict(price)))


@api_bp.get(f"/tariffs/<{ID}:tariff_id>")
@allow(READERS)
@documented("One price", tag=TAG, responses={200: TariffOut, 404: None})
def get_tariff(tariff_id: int):
    return jsonify_model(TariffOut.model_validate(services.get_tariff(tenant(), tariff_id)))


@api_bp.post("/tariffs/import")
@allow(WRITERS)
@documented(
    "Import a price list from CSV: all rows or none (dry_run: only the preview)",
    tag=TAG,
    body=TariffImportIn,
    responses={200: ImportOut},
    description="The answer lists each row with its action (new, change, same or error) and errors. "
    "dry_run true changes nothing and answers 200 even for a list with errors; dry_run false (the default) "
    "imports every new or changed price, or, when any row is bad, nothing: 422 with errors.csv naming the "
    "lines.",
)
def import_tariffs():
    data = parse(TariffImportIn)
    actor = writer()
    referenced("institution_id", visible_institution, data.institution_id)
    if data.dry_run:
        preview = services.preview_import(actor=actor, institution_id=data.institution_id, data=data.csv)
    else:
        try:
            preview = services.apply_import(actor=actor, institution_id=data.institution_id, data=data.csv)
        except Invalid as exc:  # the service names its upload "file"; here the body's field is "csv"
            errors = {("csv" if name == "file" else name): messages for name, messages in exc.errors.items()}
            raise Invalid(exc.detail, errors) from None
    answer = ImportOut(
        institution_id=data.institution_id,
        dry_run=data.dry_run,
        applied=not data.dry_run,
        ok=preview.ok,
        errors=preview.errors,
        counts={action: preview.count(action) for action in ("new", "change", "same", "error")},
        rows=[ImportRowOut.model_validate(row) for row in preview.rows],
    )
    return jsonify_model(answer) if data.dry_run else saved(answer)
