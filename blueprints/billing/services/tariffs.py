"""Tariffs: each institution's price list with its history, the price lookup claims use, and CSV import
of a whole price list with a preview of what would change."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, or_, select

from blueprints.billing.models import ServiceTariff
from blueprints.billing.services.access import institution_for_write
from blueprints.core import services as core
from blueprints.insurance import services as insurance
from medcover import fields
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.rbac import Tenant, ensure_owned, scope

MAX_IMPORT_ROWS = 5000
MAX_IMPORT_BYTES = 1024 * 1024
CSV_COLUMNS = ("service_code", "description", "benefit_code", "unit_price", "effective_from")


@dataclass(frozen=True)
class TariffPrice:
    """A price in effect on a day: what invoices and the adjudication engine read."""

    tariff_id: int
    service_code: str
    description: str
    benefit_code: str
    unit_price: Decimal
    effective_from: date
    effective_to: date | None


def _price_of(row: ServiceTariff) -> TariffPrice:
    return TariffPrice(
        row.id,
        row.service_code,
        row.description,
        row.benefit_code,
        row.unit_price,
        row.effective_from,
        row.effective_to,
    )


def _in_effect(day: date):
    return and_(
        ServiceTariff.effective_from <= day,
        or_(ServiceTariff.effective_to.is_(None), ServiceTariff.effective_to >= day),
    )


def tariff_price(institution_id: int, service_code: str, day: date) -> TariffPrice | None:
    """The price of a service at an institution on a day, or None when it has none."""
    return tariff_prices(institution_id, [service_code], day).get((service_code or "").strip().upper())


def tariff_prices(institution_id: int, service_codes, day: date) -> dict[str, TariffPrice]:
    """Many prices in one query (the engine's and the invoice editor's batch form)."""
    codes = {str(c).strip().upper() for c in service_codes if c}
    if not codes:
        return {}
    rows = db.session.scalars(
        select(ServiceTariff).where(
            ServiceTariff.institution_id == institution_id, ServiceTariff.service_code.in_(codes), _in_effect(day)
        )
    ).all()
    return {row.service_code: _price_of(row) for row in rows}


def prices_on(requests) -> dict[tuple[int, str, date], TariffPrice]:
    """Prices for many (institution, service code, day) at once, in one query: the claims engine's batch
    read. Missing keys have no price that day."""
    wanted = {(int(i), str(c).strip().upper(), d) for i, c, d in requests}
    if not wanted:
        return {}
    institutions = {i for i, _c, _d in wanted}
    codes = {c for _i, c, _d in wanted}
    earliest, latest = min(d for *_x, d in wanted), max(d for *_x, d in wanted)
    rows = db.session.scalars(
        select(ServiceTariff).where(
            ServiceTariff.institution_id.in_(institutions),
            ServiceTariff.service_code.in_(codes),
            ServiceTariff.effective_from <= latest,
            or_(ServiceTariff.effective_to.is_(None), ServiceTariff.effective_to >= earliest),
        )
    ).all()
    by_key: dict[tuple[int, str], list[ServiceTariff]] = {}
    for row in rows:
        by_key.setdefault((row.institution_id, row.service_code), []).append(row)
    found = {}
    for institution_id, code, day in wanted:
        for row in by_key.get((institution_id, code), ()):
            if row.effective_from <= day and (row.effective_to is None or row.effective_to >= day):
                found[(institution_id, code, day)] = _price_of(row)
                break
    return found


@dataclass(frozen=True)
class TariffInput:
    service_code: str
    description: str
    benefit_code: str
    unit_price: Decimal | str
    effective_from: date | str


def _clean(values: TariffInput, prefix: str = "") -> TariffInput:
    return TariffInput(
        service_code=fields.code(values.service_code, prefix + "service_code"),
        description=fields.text(values.description, prefix + "description", 200),
        benefit_code=fields.code(values.benefit_code, prefix + "benefit_code"),
        unit_price=fields.amount(values.unit_price, prefix + "unit_price"),
        effective_from=fields.day(values.effective_from, prefix + "effective_from"),
    )


def _check_benefits(codes, field_of) -> None:
    known = insurance.benefit_ids_by_code(set(codes))
    for code in codes:
        if code not in known:
            raise Invalid.field(field_of(code), f"{code} is not a benefit in the catalogue.")


def _place(institution_id: int, values: TariffInput, actor) -> ServiceTariff:
    """Insert one price into the history: the price it follows ends the day before, and when a later
    price already exists this one ends the day before that."""
    history = db.session.scalars(
        select(ServiceTariff)
        .where(ServiceTariff.institution_id == institution_id, ServiceTariff.service_code == values.service_code)
        .order_by(ServiceTariff.effective_from)
        .with_for_update()
    ).all()
    if any(row.effective_from == values.effective_from for row in history):
        raise Conflict(
            f"{values.service_code} already has a price from {values.effective_from}.",
            {"effective_from": ["A price starting that day exists; choose another day."]},
        )
    earlier = [row for row in history if row.effective_from < values.effective_from]
    later = [row for row in history if row.effective_from > values.effective_from]
    if earlier:
        earlier[-1].effective_to = values.effective_from - timedelta(days=1)
    row = ServiceTariff(
        institution_id=institution_id,
        service_code=values.service_code,
        description=values.description,
        benefit_code=values.benefit_code,
        unit_price=values.unit_price,
        effective_from=values.effective_from,
        effective_to=later[0].effective_from - timedelta(days=1) if later else None,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    core.record_audit(
        actor,
        "create",
        "service_tariff",
        row.id,
        before={"unit_price": str(earlier[-1].unit_price)} if earlier else None,
        after={"service_code": row.service_code, "unit_price": str(row.unit_price), "from": str(row.effective_from)},
        institution_id=institution_id,
    )
    return row


def set_price(*, actor, institution_id: int, values: TariffInput) -> ServiceTariff:
    """A new price from a date (the first price of a service, or a change)."""
    institution_for_write(actor, institution_id)
    clean = _clean(values)
    _check_benefits([clean.benefit_code], lambda _code: "benefit_code")
    return _place(institution_id, clean, actor)


def tariffs_query(tenant: Tenant, *, institution_id: int | None = None, q: str = "", on: date | None = None):
    """Prices by code; ``on`` keeps the prices in effect that day, otherwise the whole history."""
    stmt = scope(select(ServiceTariff), ServiceTariff, tenant).order_by(
        ServiceTariff.service_code, ServiceTariff.effective_from.desc()
    )
    if institution_id:
        stmt = stmt.where(ServiceTariff.institution_id == institution_id)
    text = (q or "").strip()[:60]
    if text:
        stmt = stmt.where(
            or_(
                ServiceTariff.service_code.startswith(text.upper(), autoescape=True),
                ServiceTariff.description.ilike(f"%{text}%"),
            )
        )
    if on is not None:
        stmt = stmt.where(_in_effect(on))
    return stmt


def price_history(tenant: Tenant, service_code: str, *, institution_id: int | None = None, limit: int) -> list:
    """Every price a service code has had (at most ``limit``), newest first."""
    stmt = tariffs_query(tenant, institution_id=institution_id).where(ServiceTariff.service_code == service_code)
    return list(db.session.scalars(stmt.limit(limit)))


def get_tariff(tenant: Tenant, tariff_id: int) -> ServiceTariff:
    row = db.session.get(ServiceTariff, tariff_id) if tariff_id else None
    ensure_owned(tenant, row)
    return row


# --- CSV import ----------------------------------------------------------------------------------


@dataclass
class ImportRow:
    line: int
    service_code: str
    description: str = ""
    benefit_code: str = ""
    unit_price: Decimal | None = None
    effective_from: date | None = None
    #: new, change, same (nothing to do) or error
    action: str = "new"
    current_price: Decimal | None = None
    errors: list[str] = field(default_factory=list)


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not any(row.errors for row in self.rows)

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)


def _read_csv(data: bytes | str) -> tuple[list[dict], list[str]]:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_IMPORT_BYTES:
        return [], [f"The file is larger than {MAX_IMPORT_BYTES // 1024} KB."]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], ["The file is not UTF-8 text; save it as CSV UTF-8."]
    try:
        rows = _csv_rows(text)
    except csv.Error as exc:  # a quote left open, a stray line break: the file, not the server, is at fault
        return [], [f"The file is not readable CSV: {exc}."]
    if isinstance(rows, str):
        return [], [rows]
    if not rows:
        return [], ["The file has no rows."]
    return rows, []


def _csv_rows(text: str) -> list[dict] | str:
    """The rows of a price list, or what is wrong with its header or size."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        return f"The header must name {', '.join(CSV_COLUMNS)}; missing: {', '.join(missing)}."
    reader.fieldnames = header
    rows = []
    for row in reader:
        if len(rows) >= MAX_IMPORT_ROWS:
            return f"At most {MAX_IMPORT_ROWS} rows per file."
        rows.append({k: (v or "") for k, v in row.items() if k in CSV_COLUMNS})
    return rows


def preview_import(*, actor, institution_id: int, data: bytes | str) -> ImportPreview:
    """What importing this price list would do, row by row, without changing anything."""
    institution_for_write(actor, institution_id)
    raw_rows, errors = _read_csv(data)
    if errors:
        return ImportPreview([], errors)
    parsed: list[ImportRow] = []
    for number, raw in enumerate(raw_rows, start=2):  # line 1 is the header
        row = ImportRow(number, raw.get("service_code", "").strip().upper()[:30])
        try:
            clean = _clean(TariffInput(**{c: raw.get(c, "") for c in CSV_COLUMNS}))
        except Invalid as exc:
            row.action = "error"
            row.errors = [f"{name}: {'; '.join(messages)}" for name, messages in exc.errors.items()]
        else:
            row.service_code, row.description, row.benefit_code = (
                clean.service_code,
                clean.description,
                clean.benefit_code,
            )
            row.unit_price, row.effective_from = clean.unit_price, clean.effective_from
        parsed.append(row)
    good = [row for row in parsed if not row.errors]
    known = insurance.benefit_ids_by_code({row.benefit_code for row in good})
    seen: dict[tuple[str, date], int] = {}
    for row in good:
        if row.benefit_code not in known:
            row.errors.append(f"benefit_code: {row.benefit_code} is not a benefit in the catalogue.")
        key = (row.service_code, row.effective_from)
        if key in seen:
            row.errors.append(f"Line {seen[key]} already prices {row.service_code} from {row.effective_from}.")
        seen.setdefault(key, row.line)
    codes = {row.service_code for row in good}
    history = (
        db.session.scalars(
            select(ServiceTariff).where(
                ServiceTariff.institution_id == institution_id, ServiceTariff.service_code.in_(codes)
            )
        ).all()
        if codes
        else []
    )
    by_code: dict[str, list[ServiceTariff]] = {}
    for tariff in history:
        by_code.setdefault(tariff.service_code, []).append(tariff)
    for row in good:
        if row.errors:
            row.action = "error"
            continue
        rows = by_code.get(row.service_code, [])
        current = next(
            (
                t
                for t in rows
                if t.effective_from <= row.effective_from and (t.effective_to or date.max) >= row.effective_from
            ),
            None,
        )
        row.current_price = current.unit_price if current else None
        if any(t.effective_from == row.effective_from for t in rows):
            same = next(t for t in rows if t.effective_from == row.effective_from)
            if same.unit_price == row.unit_price and same.benefit_code == row.benefit_code:
                row.action = "same"
            else:
                row.action = "error"
                row.errors.append(f"A different price from {row.effective_from} exists; import a new start date.")
        elif current is None:
            row.action = "new"
        elif current.unit_price == row.unit_price and current.benefit_code == row.benefit_code:
            row.action = "same"
        else:
            row.action = "change"
    return ImportPreview(parsed)


def apply_import(*, actor, institution_id: int, data: bytes | str) -> ImportPreview:
    """Import the whole list or nothing: any row in error refuses the file with the preview's messages."""
    preview = preview_import(actor=actor, institution_id=institution_id, data=data)
    if not preview.ok:
        messages = preview.errors + [f"Line {r.line}: {'; '.join(r.errors)}" for r in preview.rows if r.errors]
        raise Invalid("The price list has errors; nothing was imported.", {"file": messages[:50]})
    for row in preview.rows:
        if row.action in ("new", "change"):
            _place(
                institution_id,
                TariffInput(row.service_code, row.description, row.benefit_code, row.unit_price, row.effective_from),
                actor,
            )
    core.record_audit(
        actor,
        "import",
        "service_tariff",
        None,
        summary=(
            f"price list: {preview.count('new')} new, {preview.count('change')} changed, "
            f"{preview.count('same')} unchanged"
        ),
        institution_id=institution_id,
    )
    return preview
