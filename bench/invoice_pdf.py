"""Invoice PDFs: median time to print a one-page and a ten-page invoice through ``printing.invoice_pdf``
(database reads, the template, the static-only fetcher, WeasyPrint) against WeasyPrint alone on the same HTML.

Two bare baselines: ``HTML(string=html).write_pdf()`` exactly (it has no base URL, so the stylesheet link is
skipped and the layout is unstyled), and the same call given the stylesheet directly, which lays out the very
same pages as ours. SQLite in a temporary folder; nothing else is needed.

    .venv/bin/python -m bench invoice_pdf [--quick]
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

RUNS, QUICK_RUNS = 15, 5
WARMUP = 2
#: a description that wraps to three lines in the lines table: 130 such lines fill ten pages
LONG_TEXT = "Ward round, nursing care and observations, including vital signs charting and medication review"
PASSWORD = "Bench-pdf-2026"
SHAPES = (("one page", 3, "GP consultation"), ("ten pages", 130, LONG_TEXT))


def _median_ms(call, runs: int) -> tuple[float, object]:
    timings, result = [], None
    for n in range(WARMUP + runs):
        started = time.perf_counter()
        result = call()
        if n >= WARMUP:
            timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 1), result


def _world():
    from blueprints.billing import services
    from blueprints.core import services as core
    from blueprints.hospital import services as hospital
    from medcover.extensions import db

    admin = core.create_user(
        actor=None, email="bench.pdf@medcover.example", full_name="Bench Admin", role="admin", password=PASSWORD
    )
    institution = hospital.create_institution(
        actor=admin, code="BENCH", name="Bench County Hospital", phone="+254700000000", address="1 Hospital Road"
    )
    patient = hospital.register_patient(
        actor=admin,
        institution_id=institution.id,
        details=hospital.PatientDetails("Amani", "Otieno", date(1990, 3, 14), "female"),
    )
    invoices = {}
    for label, count, text in SHAPES:
        lines = [services.LineInput("CONSULT", 1 + n % 3, "2500.00", f"{text} {n + 1}") for n in range(count)]
        draft = services.create_invoice(actor=admin, institution_id=institution.id, patient_id=patient.id, lines=lines)
        invoices[label] = services.issue_invoice(actor=admin, invoice_id=draft.id).id
    db.session.commit()
    return invoices


def run(quick: bool = False) -> list[dict]:
    import weasyprint

    from blueprints.billing.services import printing
    from medcover import pdf
    from medcover.app import create_app
    from medcover.extensions import db
    from medcover.rbac import Tenant

    runs = QUICK_RUNS if quick else RUNS
    logging.getLogger("weasyprint").setLevel(logging.CRITICAL)  # the bare run's skipped stylesheet, every time
    results = []
    with tempfile.TemporaryDirectory(prefix="medcover-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING"})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            invoices = _world()
            stylesheet = weasyprint.CSS(filename=str(Path(app.static_folder) / printing.STYLESHEET))
            tenant = Tenant(None, None)
            for label, invoice_id in invoices.items():
                html = printing.invoice_html(tenant, invoice_id)
                ours_ms, _ = _median_ms(lambda i=invoice_id: printing.invoice_pdf(tenant, i), runs)
                bare_ms, _ = _median_ms(lambda h=html: weasyprint.HTML(string=h).write_pdf(), runs)
                styled_ms, _ = _median_ms(
                    lambda h=html: weasyprint.HTML(string=h).write_pdf(stylesheets=[stylesheet]), runs
                )
                pages = (
                    len(pdf.render_document(html).pages),
                    len(weasyprint.HTML(string=html).render().pages),
                    len(weasyprint.HTML(string=html).render(stylesheets=[stylesheet]).pages),
                )
                for way, ms, count in zip(
                    (
                        "printing.invoice_pdf",
                        "bare HTML(string=html).write_pdf()",
                        "bare + the stylesheet given directly",
                    ),
                    (ours_ms, bare_ms, styled_ms),
                    pages,
                    strict=True,
                ):
                    results.append(
                        {
                            "benchmark": "invoice_pdf",
                            "invoice": label,
                            "way": way,
                            "pages": count,
                            "median_ms": ms,
                            "ours_vs_this": f"{ours_ms / ms:.2f}x",
                            "runs": runs,
                        }
                    )
            db.session.remove()
            db.engine.dispose()
    return results
