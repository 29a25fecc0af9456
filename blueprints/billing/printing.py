"""Printable invoices: one invoice (or credit note) as an A4 PDF, and batch printing of a day's invoices at an
institution into one PDF by a background job whose progress a page polls.

A batch's progress lives in a small JSON file beside its PDF under the instance folder (``PRINT_DIR`` when
set), so it reads the same whether the job ran inline (no Redis) or on an RQ worker sharing that folder.
Batches are kept for ``BATCH_KEEP`` and then swept: they hold patients' data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import func, select

from blueprints.billing import services
from blueprints.billing.access import WRITERS, institution_for_write
from blueprints.billing.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    PaymentTransaction,
    TransactionKind,
)
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from blueprints.insurance import services as insurance
from medcover import clock, fields, jobs, pdf
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, tenant_of

log = logging.getLogger(__name__)

TEMPLATE = "billing/invoice_pdf.html"
STYLESHEET = "css/invoice-print.css"
#: how long a batch PDF and its status stay on disk
BATCH_KEEP = timedelta(hours=24)
#: the most invoices one batch prints (a busy hospital's day is far below this)
MAX_BATCH = 2000
_TOKEN = re.compile(r"[0-9a-f]{32}")
MOVEMENT_LABELS = {
    TransactionKind.PAYMENT: "Payment",
    TransactionKind.REFUND: "Refund",
    TransactionKind.CREDIT: "Credit note",
}


# --- what a printed invoice shows ----------------------------------------------------------------


@dataclass(frozen=True)
class PrintedLine:
    service_date: date | None
    service_code: str
    description: str
    quantity: int
    unit_price: Decimal
    tax: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PrintedMovement:
    label: str
    occurred_on: date
    payer: str
    method: str
    reference: str
    amount: Decimal


@dataclass(frozen=True)
class PrintedInvoice:
    id: int
    title: str
    number: str | None
    status: str
    #: "DRAFT" or "VOID" across every page; None once issued
    watermark: str | None
    currency: str
    issued_on: date | None
    due_on: date | None
    patient_name: str
    patient_number: str
    member_number: str | None
    insurer: str | None
    credited_invoice_number: str | None
    notes: str | None
    lines: tuple[PrintedLine, ...]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    insurer_part: Decimal
    patient_part: Decimal
    paid: Decimal
    refunded: Decimal
    credited: Decimal
    balance: Decimal
    movements: tuple[PrintedMovement, ...]


@dataclass(frozen=True)
class Letterhead:
    name: str
    address: str | None
    phone: str | None
    payment_instructions: str | None
    bank_name: str | None
    bank_account: str | None
    bank_branch: str | None


def _letterhead(institution_id: int) -> Letterhead:
    institution = hospital.get_institution(Tenant(None, None), institution_id)
    settings = services.settings_for(institution_id)
    return Letterhead(
        institution.name,
        institution.address,
        institution.phone,
        settings.payment_instructions,
        settings.bank_name,
        settings.bank_account,
        settings.bank_branch,
    )


def _printed(invoices: list[Invoice]) -> list[PrintedInvoice]:
    """The printable form of many invoices in a fixed number of queries, however many lines they hold."""
    ids = [invoice.id for invoice in invoices]
    lines: dict[int, list[PrintedLine]] = {}
    movements: dict[int, list[PrintedMovement]] = {}
    if ids:
        for line in db.session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id.in_(ids))
            .order_by(InvoiceLine.invoice_id, InvoiceLine.line_no)
        ):
            lines.setdefault(line.invoice_id, []).append(
                PrintedLine(
                    line.service_date,
                    line.service_code,
                    line.description,
                    line.quantity,
                    line.unit_price,
                    line.tax,
                    line.amount,
                )
            )
        for row in db.session.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.invoice_id.in_(ids))
            .order_by(PaymentTransaction.invoice_id, PaymentTransaction.occurred_on, PaymentTransaction.id)
        ):
            movements.setdefault(row.invoice_id, []).append(
                PrintedMovement(
                    MOVEMENT_LABELS.get(row.kind, row.kind.value.title()),
                    row.occurred_on,
                    row.payer.value.title(),
                    (row.method or "").replace("_", " "),
                    row.reference or "",
                    row.amount,
                )
            )
    patients = hospital.patients_by_id({invoice.patient_id for invoice in invoices})
    companies = insurance.company_names() if any(invoice.company_id for invoice in invoices) else {}
    credited_ids = {invoice.credited_invoice_id for invoice in invoices if invoice.credited_invoice_id}
    credited_numbers = (
        dict(db.session.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(credited_ids))).all())
        if credited_ids
        else {}
    )
    printed = []
    for invoice in invoices:
        patient = patients.get(invoice.patient_id)
        credit_note = invoice.kind is InvoiceKind.CREDIT_NOTE
        printed.append(
            PrintedInvoice(
                id=invoice.id,
                title="CREDIT NOTE" if credit_note else "INVOICE",
                number=invoice.number,
                status=invoice.status.value.replace("_", " "),
                watermark={InvoiceStatus.DRAFT: "DRAFT", InvoiceStatus.VOID: "VOID"}.get(invoice.status),
                currency=invoice.currency,
                issued_on=invoice.issued_on,
                due_on=invoice.due_on,
                patient_name=f"{patient.first_name} {patient.last_name}" if patient else "",
                patient_number=patient.patient_number if patient else "",
                member_number=invoice.member_number,
                insurer=companies.get(invoice.company_id) if invoice.company_id else None,
                credited_invoice_number=credited_numbers.get(invoice.credited_invoice_id),
                notes=invoice.notes,
                lines=tuple(lines.get(invoice.id, ())),
                subtotal=invoice.subtotal,
                tax=invoice.tax,
                total=invoice.total,
                insurer_part=invoice.insurer_part,
                patient_part=invoice.patient_part,
                paid=invoice.paid,
                refunded=invoice.refunded,
                credited=invoice.credited,
                balance=invoice.balance,
                movements=tuple(movements.get(invoice.id, ())),
            )
        )
    return printed


def _html(invoice: PrintedInvoice, letterhead: Letterhead) -> str:
    # A .html template: Jinja autoescapes, so a patient called "<b>x</b>" prints as those characters.
    return render_template(
        TEMPLATE,
        invoice=invoice,
        letterhead=letterhead,
        stylesheet=pdf.static_url(STYLESHEET),
        printed_on=clock.today(),
    )


def invoice_html(tenant: Tenant, invoice_id: int) -> str:
    """The printable HTML of one invoice the tenant may see (another tenant's is ``NotFound``)."""
    invoice = services.get_invoice(tenant, invoice_id)
    return _html(_printed([invoice])[0], _letterhead(invoice.institution_id))


def invoice_pdf(tenant: Tenant, invoice_id: int) -> bytes:
    """The A4 PDF of one invoice the tenant may see (another tenant's is ``NotFound``)."""
    return pdf.render_pdf(invoice_html(tenant, invoice_id))


def pdf_filename(invoice: Invoice) -> str:
    """``KNH-000042.pdf``; drafts have no number yet."""
    name = re.sub(r"[^A-Za-z0-9-]", "", invoice.number or "") or f"draft-invoice-{invoice.id}"
    return f"{name}.pdf"


# --- batch printing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchStatus:
    token: str
    institution_id: int
    day: date
    #: queued, running, done or failed
    state: str
    done: int
    total: int
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")


def prints_dir() -> Path:
    return Path(current_app.config.get("PRINT_DIR") or Path(current_app.instance_path) / "prints")


def _status_path(token: str) -> Path:
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise NotFound("No such print.")
    return prints_dir() / f"{token}.json"


def _pdf_path(token: str) -> Path:
    return _status_path(token).with_suffix(".pdf")


def _read_status(token: str) -> dict:
    try:
        return json.loads(_status_path(token).read_text())
    except (OSError, ValueError):
        raise NotFound("No such print.") from None


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers never see half a file: write beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _save_status(status: dict, **changes) -> dict:
    status = {**status, **changes}
    _write_atomically(_status_path(status["token"]), json.dumps(status).encode())
    return status


def _as_status(raw: dict) -> BatchStatus:
    return BatchStatus(
        raw["token"],
        int(raw["institution_id"]),
        date.fromisoformat(raw["day"]),
        raw["state"],
        int(raw["done"]),
        int(raw["total"]),
        raw.get("error", ""),
    )


def _issued_on(institution_id: int, day: date):
    """Everything numbered that day (void ones too: every number of the day is accounted for)."""
    return (
        select(Invoice)
        .where(Invoice.institution_id == institution_id, Invoice.issued_on == day, Invoice.number.is_not(None))
        .order_by(Invoice.number, Invoice.id)
    )


def printable_institutions(actor) -> list:
    """The institutions whose batches this user may print: a platform admin picks one, staff print their own."""
    if actor.role not in WRITERS or actor.company_id is not None:
        return []
    return list(db.session.scalars(hospital.institutions_query(tenant_of(actor))))


def print_batch(*, actor, institution_id: int | str | None, day: date | str) -> BatchStatus:
    """Start printing every invoice issued at the institution on the day into one PDF (a background job)."""
    day = fields.day(day, "day")
    if institution_id in (None, "") and actor.institution_id is not None:
        institution_id = actor.institution_id
    try:
        institution_id = int(institution_id)
    except (TypeError, ValueError):
        raise Invalid.field("institution_id", "Choose an institution.") from None
    institution_for_write(actor, institution_id)
    count = db.session.scalar(select(func.count()).select_from(_issued_on(institution_id, day).subquery()))
    if not count:
        raise Invalid.field("day", f"No invoices were issued on {day.isoformat()}.")
    if count > MAX_BATCH:
        raise Invalid.field("day", f"{count:,} invoices were issued that day; a batch prints at most {MAX_BATCH:,}.")
    sweep_old_batches()
    token = secrets.token_hex(16)
    status = _save_status(
        {
            "token": token,
            "institution_id": institution_id,
            "day": day.isoformat(),
            "requested_by": actor.id,
            "state": "queued",
            "done": 0,
            "total": count,
            "error": "",
            "created_at": clock.now().isoformat(),
        }
    )
    core.record_audit(
        actor,
        "print",
        "invoice_batch",
        token,
        summary=f"{count} invoice(s) issued on {day.isoformat()}",
        institution_id=institution_id,
    )
    jobs.enqueue(render_batch, token, queue="default")
    return _as_status(status)


def render_batch(token: str) -> str:
    """The job: lay out each invoice of the batch (each keeps its own "Page 1 of 2"), then write one PDF.
    Idempotent: a finished batch is left alone; a retried one starts over."""
    status = _read_status(token)
    if status["state"] == "done" and _pdf_path(token).exists():
        return "already done"
    institution_id, day = int(status["institution_id"]), date.fromisoformat(status["day"])
    try:
        invoices = list(db.session.scalars(_issued_on(institution_id, day).limit(MAX_BATCH)))
        status = _save_status(status, state="running", done=0, total=len(invoices), error="")
        if not invoices:
            _save_status(status, state="failed", error="No invoices were issued on that day.")
            return "nothing to print"
        letterhead = _letterhead(institution_id)
        fonts = pdf.shared_fonts()
        documents = []
        for n, printed in enumerate(_printed(invoices), start=1):
            documents.append(pdf.render_document(_html(printed, letterhead), font_config=fonts))
            status = _save_status(status, done=n)
        _write_atomically(_pdf_path(token), pdf.write_pdf(documents))
        _save_status(status, state="done", finished_at=clock.now().isoformat())
    except Exception:
        log.exception("batch print %s failed", token)
        _save_status(status, state="failed", error="Printing failed; try again or ask an administrator.")
        raise
    return f"printed {len(invoices)}"


def batch_status(tenant: Tenant, token: str) -> BatchStatus:
    """A batch of the tenant's institution; anyone else's (or an unknown token) is ``NotFound``."""
    status = _as_status(_read_status(token))
    if not tenant.owns(status.institution_id, None):
        raise NotFound("No such print.")
    return status


def batch_file(tenant: Tenant, token: str) -> Path:
    """The finished PDF of a batch the tenant may see."""
    status = batch_status(tenant, token)
    path = _pdf_path(token)
    if status.state != "done" or not path.is_file():
        raise NotFound("This print is not ready.")
    return path


def sweep_old_batches(now: datetime | None = None) -> int:
    """Delete batch files older than ``BATCH_KEEP``. Returns how many files went."""
    folder = prints_dir()
    if not folder.is_dir():
        return 0
    cutoff = (now or clock.now()).timestamp() - BATCH_KEEP.total_seconds()
    removed = 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:
            continue  # another process swept it a moment ago
    return removed
