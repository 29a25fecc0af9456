"""Billing's public face: what other domains (and billing's own pages, API, jobs and CLI) call.

One module per concept: ``access`` (who changes billing), ``settings``, ``tariffs`` (prices, their history,
CSV import), ``items`` (charges waiting to be billed), ``drafts`` (draft invoices and their lines), ``split``
(the payer split and totals), ``issuing`` (gap-free numbers, status transitions), ``credits`` (voids and
credit notes), ``balances`` (money from payment events), ``invoices`` (reading invoices), ``summaries`` (plain
values and purpose-named reads for other domains), ``receivables`` (aging), ``printing`` and
``print_batches`` (PDFs), ``waiting`` (the home page's counts). Other domains import only the names below.
"""

from blueprints.billing.services.access import API_WRITERS, WRITERS, institution_for_write, may_write
from blueprints.billing.services.balances import record_payment_event, record_refund_event
from blueprints.billing.services.credits import issue_credit_note, void_invoice
from blueprints.billing.services.drafts import (
    MAX_LINES,
    LineInput,
    add_line,
    create_invoice,
    draft_from_items,
    remove_line,
    update_line,
)
from blueprints.billing.services.invoices import (
    OPEN,
    OVERDUE,
    get_invoice,
    invoices_by_id,
    invoices_query,
    lines_of,
    transactions_of,
)
from blueprints.billing.services.issuing import INVOICE_TRANSITIONS, issue_invoice
from blueprints.billing.services.items import MAX_QUANTITY, add_item, items_query, record_charge, unbilled_items
from blueprints.billing.services.price_list import PICK_LIMIT, known_code, price_options
from blueprints.billing.services.print_batches import (
    BatchStatus,
    batch_file,
    batch_status,
    print_batch,
    printable_institutions,
    render_batch,
    sweep_old_batches,
)
from blueprints.billing.services.printing import invoice_html, invoice_pdf, pdf_filename
from blueprints.billing.services.receivables import (
    BUCKET_KEYS,
    BUCKETS,
    AgingReport,
    AgingRow,
    age_in_days,
    aging,
    bucket_of,
    receivables_query,
)
from blueprints.billing.services.settings import SettingsInput, default_prefix, settings_for, update_settings
from blueprints.billing.services.summaries import (
    CLAIMABLE,
    InvoiceSummary,
    LineSummary,
    claimable_invoice_ids,
    invoice_summaries,
    invoice_summary,
    invoices_to_pay,
)
from blueprints.billing.services.tariffs import (
    CSV_COLUMNS,
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ImportPreview,
    ImportRow,
    TariffInput,
    TariffPrice,
    apply_import,
    get_tariff,
    preview_import,
    price_history,
    prices_on,
    set_price,
    tariff_price,
    tariff_prices,
    tariffs_query,
)
from blueprints.billing.services.waiting import work_waiting

__all__ = [
    "PICK_LIMIT",
    "known_code",
    "price_options",
    "API_WRITERS",
    "BUCKETS",
    "BUCKET_KEYS",
    "CLAIMABLE",
    "CSV_COLUMNS",
    "INVOICE_TRANSITIONS",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "MAX_LINES",
    "MAX_QUANTITY",
    "OPEN",
    "OVERDUE",
    "WRITERS",
    "AgingReport",
    "AgingRow",
    "BatchStatus",
    "ImportPreview",
    "ImportRow",
    "InvoiceSummary",
    "LineInput",
    "LineSummary",
    "SettingsInput",
    "TariffInput",
    "TariffPrice",
    "add_item",
    "add_line",
    "age_in_days",
    "aging",
    "apply_import",
    "batch_file",
    "batch_status",
    "bucket_of",
    "claimable_invoice_ids",
    "create_invoice",
    "draft_from_items",
    "get_invoice",
    "get_tariff",
    "institution_for_write",
    "invoice_html",
    "invoice_pdf",
    "invoice_summaries",
    "invoice_summary",
    "invoices_by_id",
    "invoices_query",
    "invoices_to_pay",
    "issue_credit_note",
    "issue_invoice",
    "items_query",
    "lines_of",
    "may_write",
    "pdf_filename",
    "preview_import",
    "price_history",
    "prices_on",
    "receivables_query",
    "print_batch",
    "printable_institutions",
    "record_charge",
    "record_payment_event",
    "record_refund_event",
    "remove_line",
    "render_batch",
    "set_price",
    "settings_for",
    "default_prefix",
    "sweep_old_batches",
    "tariff_price",
    "tariff_prices",
    "tariffs_query",
    "transactions_of",
    "unbilled_items",
    "update_line",
    "update_settings",
    "void_invoice",
    "work_waiting",
]
