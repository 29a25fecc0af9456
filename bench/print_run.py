"""Print runs: a day's 1,000 one-page invoices (200 with --quick) printed as one job by ``render_batch`` into one
PDF, with one worker (``PRINT_WORKERS=1``: laid out in the job's own process) and with every core (a process pool),
in pages per second; beside them the limit, bare WeasyPrint laying the same HTML out in one process and writing
one PDF (``HTML(string=html).render(stylesheets=[the invoice stylesheet])`` each, then ``write_pdf`` of all the
pages): no database, no template, no fetcher, no pool, no merge.

The invoices are one issued through the services and its copies written with Core ``insert()`` executemany (lines
and receivables too), so seeding takes a second. SQLite in a temporary folder: the job reads the day in a fixed
number of queries (``queries``), so the database hardly counts. ``hb_subset`` says whether WeasyPrint found
HarfBuzz's subsetting library (``make bench`` installs it); without it each part's fonts go through fontTools.

    .venv/bin/python -m bench print_run [--quick]
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from bench.invoice_pdf import _world

SIZE, QUICK_SIZE = 1_000, 200
GOAL = "1,000 invoices as one job using every core, pages/s reported"


def _copies(invoice_id: int, count: int) -> None:
    """``count`` copies of the invoice, numbered after it, issued the same day: Core executemany, no ORM."""
    from sqlalchemy import func, select

    from blueprints.billing.models import AccountReceivable, Invoice, InvoiceLine
    from medcover.extensions import db

    invoices, lines, receivables = Invoice.__table__, InvoiceLine.__table__, AccountReceivable.__table__
    source = dict(db.session.execute(select(invoices).where(invoices.c.id == invoice_id)).one()._mapping)
    source_lines = [dict(r._mapping) for r in db.session.execute(select(lines).where(lines.c.invoice_id == invoice_id))]
    source_ar = [
        dict(r._mapping) for r in db.session.execute(select(receivables).where(receivables.c.invoice_id == invoice_id))
    ]
    first = db.session.scalar(select(func.max(invoices.c.id))) + 1
    next_line = db.session.scalar(select(func.max(lines.c.id))) + 1
    next_ar = (db.session.scalar(select(func.max(receivables.c.id))) or 0) + 1
    prefix = source["number"].rstrip("0123456789")
    new_invoices, new_lines, new_ar = [], [], []
    for n in range(count):
        copy_id = first + n
        new_invoices.append({**source, "id": copy_id, "number": f"{prefix}{copy_id:06d}"})
        for line in source_lines:
            new_lines.append({**line, "id": next_line, "invoice_id": copy_id, "billing_item_id": None})
            next_line += 1
        for row in source_ar:
            new_ar.append({**row, "id": next_ar, "invoice_id": copy_id})
            next_ar += 1
    for table, rows in ((invoices, new_invoices), (lines, new_lines), (receivables, new_ar)):
        if rows:
            db.session.execute(table.insert(), rows)
    db.session.commit()


def _print_run(app, institution_id: int, workers: int, admin) -> tuple[float, int, int]:
    """Seconds, pages and queries of one print run of today's invoices as one job."""
    from sqlalchemy import event

    from blueprints.billing.services import print_batches
    from medcover import clock
    from medcover.extensions import db

    app.config["PRINT_WORKERS"] = workers
    batch = print_batches.print_batch(actor=admin, institution_id=institution_id, day=clock.today())
    db.session.commit()
    queries = []
    listen = lambda *args: queries.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    started = time.perf_counter()
    print_batches.render_batch(batch.token)
    took = time.perf_counter() - started
    event.remove(db.engine, "before_cursor_execute", listen)
    status = print_batches._read_status(batch.token)
    assert status["state"] == "done", status
    return took, int(status["done"]), len(queries)


def _bare(htmls: list[str], stylesheet) -> tuple[float, int]:
    """WeasyPrint alone: each HTML laid out in this process, all the pages written as one PDF."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    started = time.perf_counter()
    fonts = FontConfiguration()
    documents = [weasyprint.HTML(string=h).render(stylesheets=[stylesheet], font_config=fonts) for h in htmls]
    pages = [page for document in documents for page in document.pages]
    documents[0].copy(pages).write_pdf()
    return time.perf_counter() - started, len(pages)


def run(quick: bool = False) -> list[dict]:
    import weasyprint
    from sqlalchemy import select, update
    from weasyprint.text.ffi import harfbuzz_subset

    from blueprints.billing.models import Invoice
    from blueprints.billing.services import printing
    from blueprints.core.models import User
    from medcover import clock, pdf_pool
    from medcover.app import create_app
    from medcover.extensions import db
    from medcover.rbac import Tenant

    size = QUICK_SIZE if quick else SIZE
    cores = pdf_pool.cores()
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)  # the bare run's skipped stylesheet link
    rows = []
    with tempfile.TemporaryDirectory(prefix="medcover-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "PRINT_DIR": tmp})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            invoice_id = _world()["one page"]
            # the ten-page invoice of invoice_pdf's world moves to the day before: only one-page ones print
            db.session.execute(
                update(Invoice).where(Invoice.id != invoice_id).values(issued_on=clock.today() - timedelta(days=1))
            )
            _copies(invoice_id, size - 1)
            admin = db.session.scalars(select(User).where(User.email == "bench.pdf@medcover.example")).one()
            institution_id = db.session.get(Invoice, invoice_id).institution_id
            stylesheet = weasyprint.CSS(filename=str(Path(app.static_folder) / printing.STYLESHEET))
            html = printing.invoice_html(Tenant(None, None), invoice_id)
            bare_s, bare_pages = _bare([html] * size, stylesheet)
            limit = bare_pages / bare_s
            one = _print_run(app, institution_id, 1, admin)
            every = _print_run(app, institution_id, cores, admin)
            db.session.remove()
            db.engine.dispose()
    for workers, (seconds, pages, queries) in ((1, one), (cores, every)):
        figure = pages / seconds
        row = {
            "benchmark": "print_run",
            "work": f"print run, {workers} worker{'s' if workers > 1 else ''}",
            "size": f"{size:,} invoices",
            "figure": round(figure, 1),
            "unit": "pages/s",
            "limit": round(limit, 1),
            "of_limit": f"{figure / limit:.0%}".replace("%", " %"),
        }
        # the goal is the all-core run's; the one-worker row is what it is measured against
        every_core = workers == cores
        row |= {"goal": GOAL if every_core else "", "met": ("yes" if pages == size else "no") if every_core else ""}
        row |= {
            "workers": workers,
            "pages": pages,
            "seconds": round(seconds, 1),
            "vs_1_worker": f"{one[0] / seconds:.2f}x",
            "queries": queries,
            "hb_subset": "yes" if harfbuzz_subset else "no",
        }
        rows.append(row)
    return rows
