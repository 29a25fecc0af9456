"""Reading invoices: one invoice the tenant may see, its lines and money movements, the filtered list, and
the audit record every change to an invoice writes."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from blueprints.billing.models import Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, PaymentTransaction
from blueprints.core import services as core
from medcover import clock
from medcover.errors import NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, ensure_owned, scope

OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTIALLY_PAID)
#: not a status of its own: an open invoice with a balance after its due date (the list's filter and the home's count)
OVERDUE = "overdue"
#: what the invoices list shows of an invoice: a page reads these, not the payer split and its history
LIST_COLUMNS = (
    Invoice.id,
    Invoice.number,
    Invoice.kind,
    Invoice.status,
    Invoice.patient_id,
    Invoice.institution_id,
    Invoice.company_id,
    Invoice.currency,
    Invoice.issued_on,
    Invoice.due_on,
    Invoice.total,
    Invoice.balance,
)


def overdue(today: date):
    """Issued (or partly paid) invoices that still owe something after their due date, on the site's business day."""
    return Invoice.status.in_(OPEN) & (Invoice.balance > 0) & (Invoice.due_on < today)


def _insurer_only(tenant: Tenant) -> bool:
    return tenant.company_id is not None and tenant.institution_id is None


def get_invoice(tenant: Tenant, invoice_id: int) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id) if invoice_id else None
    ensure_owned(tenant, invoice)
    if _insurer_only(tenant) and invoice.number is None:
        raise NotFound("No such record.")  # a hospital's draft is not the insurer's business yet
    return invoice


def lines_of(invoice_id: int) -> list[InvoiceLine]:
    return list(
        db.session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.line_no)
        )
    )


def transactions_of(invoice_id: int) -> list[PaymentTransaction]:
    return list(
        db.session.scalars(
            select(PaymentTransaction)
            .where(PaymentTransaction.invoice_id == invoice_id)
            .order_by(PaymentTransaction.id)
        )
    )


def invoices_query(
    tenant: Tenant,
    *,
    status: str = "",
    patient_id: int | None = None,
    institution_id: int | None = None,
    company_id: int | None = None,
    issued_on: date | None = None,
    q: str = "",
    kind: str = "",
    columns: tuple = (),
):
    """The tenant's invoices, newest first, filtered: whole invoices, or rows of just ``columns`` (LIST_COLUMNS)."""
    stmt = scope(select(*columns) if columns else select(Invoice), Invoice, tenant).order_by(
        Invoice.created_at.desc(), Invoice.id.desc()
    )
    if _insurer_only(tenant):
        stmt = stmt.where(Invoice.number.is_not(None))
    if status in {s.value for s in InvoiceStatus}:
        stmt = stmt.where(Invoice.status == InvoiceStatus(status))
    elif status == OVERDUE:
        stmt = stmt.where(overdue(clock.today()))
    if kind in {k.value for k in InvoiceKind}:
        stmt = stmt.where(Invoice.kind == InvoiceKind(kind))
    if patient_id:
        stmt = stmt.where(Invoice.patient_id == patient_id)
    if institution_id:
        stmt = stmt.where(Invoice.institution_id == institution_id)
    if company_id:
        stmt = stmt.where(Invoice.company_id == company_id)
    if issued_on:
        stmt = stmt.where(Invoice.issued_on == issued_on)
    number = (q or "").strip().upper()[:40]
    if number:
        stmt = stmt.where(Invoice.number.startswith(number, autoescape=True))
    return stmt


def invoices_numbered(tenant: Tenant, number: str) -> list[Invoice]:
    """The global search's read: the tenant's invoices and credit notes with exactly this number, in any case
    (drafts have none). One query on the number's index."""
    number = (number or "").strip().upper()
    if not number or len(number) > 40:
        return []
    stmt = scope(select(Invoice), Invoice, tenant).where(Invoice.number == number).order_by(Invoice.id).limit(20)
    return list(db.session.scalars(stmt))


def invoices_by_id(ids) -> dict[int, Invoice]:
    """Invoices by id in one query (the receivables pages name the invoice behind each row)."""
    wanted = {int(i) for i in ids if i}
    if not wanted:
        return {}
    return {invoice.id: invoice for invoice in db.session.scalars(select(Invoice).where(Invoice.id.in_(wanted)))}


def audit_invoice(actor, action: str, invoice: Invoice, *, before=None, after=None) -> None:
    """The audit record of a change to an invoice, in the change's transaction."""
    core.record_audit(
        actor,
        action,
        "invoice",
        invoice.id,
        before=before,
        after=after,
        institution_id=invoice.institution_id,
        company_id=invoice.company_id,
    )
