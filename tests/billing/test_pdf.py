"""Printed invoices: what the PDF says and looks like, HTML from people printed as text, the renderer fetching
nothing but static files, tenant checks on the PDF routes, and batch printing a day into one PDF."""

from __future__ import annotations

import builtins
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from blueprints.billing import services
from blueprints.billing.services import print_batches, printing
from blueprints.core.models import AuditLog
from medcover import clock, labels, pdf
from medcover.extensions import db
from medcover.money import format_money
from medcover.rbac import Role, tenant_of
from tests.factories import make_patient, make_user

EVIL_NAME = "<b>Evil</b><script>alert(1)</script>"
EVIL_DESCRIPTION = '<img src="file:///etc/passwd">'
DPI = 96
A4_MM = (210, 297)


def _text(data: bytes) -> list[str]:
    """Each page's text, whitespace collapsed (a wrapped cell must not split what a test looks for)."""
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]


def _issue(world, *, patient=None, lines=(("CONSULT", 1, None), ("LAB-FBC", 2, None)), clerk=None):
    patient, clerk = patient or world.insured, clerk or world.clerk
    invoice = services.create_invoice(
        actor=clerk,
        institution_id=patient.institution_id,
        patient_id=patient.id,
        lines=[services.LineInput(code, qty, price, *description) for code, qty, price, *description in lines],
    )
    return services.issue_invoice(actor=clerk, invoice_id=invoice.id)


# --- what the PDF says ---------------------------------------------------------------------------


def test_an_issued_invoice_prints_its_number_patient_lines_totals_split_payments_and_balance(world, letterhead):
    invoice = _issue(world)
    services.record_payment_event(
        7, {"payment_id": 7, "invoice_id": invoice.id, "payer": "patient", "amount": "100.00", "method": "mpesa"}
    )
    text = " ".join(_text(printing.invoice_pdf(tenant_of(world.clerk), invoice.id)))

    for expected in (
        "Hospital A",
        "Hospital Road 1, Nairobi",
        "+254700000001",
        "INVOICE",
        invoice.number,
        f"Issued {labels.day(invoice.issued_on)}",
        f"Due {labels.day(invoice.due_on)}",
        "Wanjiru Kamau",
        world.insured.patient_number,
        "Member no. ACM-001",
        "Acme Insurance",
        "GP consultation",
        "Full blood count",
        "CONSULT",
        "LAB-FBC",
        "2,500.00",  # unit prices, two places and a thousands separator
        "1,200.00",
        "Payment",
        "Equity Bank",
        "0123456789",
        "M-Pesa paybill 123456",
    ):
        assert expected in text, expected
    for label, amount in (
        ("Subtotal", invoice.subtotal),
        ("Tax", invoice.tax),
        ("Total", invoice.total),
        ("Patient pays, estimate", invoice.patient_part),
        ("Paid", invoice.paid),
        ("Balance", invoice.balance),
    ):
        assert f"{label} {format_money(amount, 'KES')}" in text, label
    assert f"Insurer pays (Acme Insurance), estimate {format_money(invoice.insurer_part, 'KES')}" in text
    assert "The insurer's and the patient's parts are an estimate" in text
    assert invoice.insurer_part > 0 and invoice.paid == 100 and invoice.balance == invoice.total - 100
    assert "DRAFT" not in text and "VOID" not in text
    assert "Page 1 of 1" in text


def test_tax_prints_per_line_and_in_the_totals(world, letterhead):
    # Self-pay: services.split.recompute cannot yet tax an insured patient's lines (its autoflush trips the
    # payer-split check mid-way), which is services' to fix.
    services.update_settings(
        actor=world.clerk, institution_id=world.hospital.id, values=services.SettingsInput("HA", tax_percent="16")
    )
    invoice = _issue(world, patient=world.self_pay, lines=[("CONSULT", 1, None)])
    text = _text(printing.invoice_pdf(tenant_of(world.clerk), invoice.id))[0]
    assert "2,500.00 400.00 2,900.00" in text  # unit price, tax, amount of the line
    assert "Tax KES 400.00" in text and "Total KES 2,900.00" in text


def test_a_draft_and_a_void_invoice_carry_a_watermark(world, letterhead):
    draft = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.self_pay.id,
        lines=[services.LineInput("CONSULT")],
    )
    assert "DRAFT" in _text(printing.invoice_pdf(tenant_of(world.clerk), draft.id))[0]
    voided = _issue(world, patient=world.self_pay)
    services.void_invoice(actor=world.clerk, invoice_id=voided.id, reason="Wrong patient")
    assert "VOID" in _text(printing.invoice_pdf(tenant_of(world.clerk), voided.id))[0]


def test_a_credit_note_prints_as_one_naming_the_invoice_it_credits(world, letterhead):
    invoice = _issue(world, patient=world.self_pay)
    note = services.issue_credit_note(actor=world.clerk, invoice_id=invoice.id, amount="500.00", reason="Goodwill")
    text = _text(printing.invoice_pdf(tenant_of(world.clerk), note.id))[0]
    assert "CREDIT NOTE" in text and note.number in text and f"Invoice {invoice.number}" in text


def test_a_long_invoice_runs_over_pages_repeating_the_table_header_and_numbering_them(world, letterhead):
    invoice = _issue(
        world, patient=world.self_pay, lines=[("CONSULT", 1, None, f"Visit number {n}") for n in range(70)]
    )
    pages = _text(printing.invoice_pdf(tenant_of(world.clerk), invoice.id))
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Description" in page and "Unit price" in page  # the header row again on every page
    assert "Visit number 0 " in pages[0] and "Visit number 69" in pages[-1]
    assert invoice.number in pages[1]  # the running header names the invoice from page 2 on


def test_the_first_page_is_a4_with_the_letterhead_inked_at_the_top(world, letterhead):
    invoice = _issue(world)
    data = printing.invoice_pdf(tenant_of(world.clerk), invoice.id)
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert [round(float(side) / 72 * 25.4, 1) for side in (box.width, box.height)] == list(A4_MM)
    image = Image.open(io.BytesIO(pdf.page_png(data, dpi=DPI)))
    # pdftoppm rounds a page's 793.7 x 1122.5 pixels up
    assert [abs(got - mm / 25.4 * DPI) < 1 for got, mm in zip(image.size, A4_MM, strict=True)] == [True, True]
    grey = image.convert("L")
    width, height = grey.size
    top = grey.crop((0, 0, width, height // 6))
    dark = sum(1 for value in top.getdata() if value < 100)
    assert dark > 1000, "no letterhead ink in the top sixth of page 1"
    assert sum(1 for value in grey.getdata() if value > 250) > width * height // 2  # on white paper


def test_the_number_of_queries_does_not_grow_with_the_lines(world, letterhead, count_queries):
    short = _issue(world, patient=world.self_pay, lines=[("CONSULT", 1, None)])
    long = _issue(world, patient=world.self_pay, lines=[("CONSULT", 1, None)] * 40)
    tenant = tenant_of(world.clerk)
    counts = []
    for invoice in (short, long):
        printing.invoice_html(tenant, invoice.id)  # warm: the tenant check's identity-map hit is not the point
        with count_queries() as counter:
            printing.invoice_html(tenant, invoice.id)
        counts.append(counter.count)
    assert counts[0] == counts[1] > 0


# --- people's text is text -----------------------------------------------------------------------


def test_html_in_a_patient_name_and_a_line_description_prints_as_literal_text(world, letterhead):
    patient = make_patient(world.hospital, first_name=EVIL_NAME, last_name="Doe")
    invoice = _issue(world, patient=patient, lines=[("CONSULT", 1, None, EVIL_DESCRIPTION)])
    html = printing.invoice_html(tenant_of(world.clerk), invoice.id)
    assert "<script>" not in html and "<img src=" not in html
    assert "&lt;b&gt;Evil&lt;/b&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html

    text = _text(printing.invoice_pdf(tenant_of(world.clerk), invoice.id))[0]
    assert f"{EVIL_NAME} Doe" in text
    assert EVIL_DESCRIPTION in text
    assert "root:" not in text


# --- the renderer fetches only static files ------------------------------------------------------


@pytest.fixture
def fetcher(app):
    with app.app_context():
        return pdf.StaticFilesOnly.for_app(app)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x",
        "../../etc/passwd",
        "https://127.0.0.1/static/css/app.css",
        "data:text/css,body{color:red}",
        f"{pdf.ORIGIN}/etc/passwd",
        f"{pdf.ORIGIN}/static/../../etc/passwd",
        f"{pdf.ORIGIN}/static/%2e%2e/%2e%2e/etc/passwd",
        f"{pdf.ORIGIN}/static/css%2f..%2f..%2f..%2fetc/passwd",
        f"{pdf.ORIGIN}/static/css/missing.css",
        f"{pdf.ORIGIN}/static/css/",
        "ftp://example.com/x",
    ],
)
def test_the_fetcher_refuses_anything_but_a_static_file(fetcher, url):
    with pytest.raises(pdf.RefusedResource):
        fetcher.fetch(url)


def test_the_fetcher_serves_a_static_file_by_path_on_the_render_origin(fetcher):
    response = fetcher.fetch(f"{pdf.ORIGIN}/static/css/invoice-print.css?v=1")
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


def test_the_fetcher_refuses_a_symlink_leading_out_of_the_static_folder(tmp_path):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "ok.css").write_text("body { color: black }")
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0")
    os.symlink(secret, static / "css" / "out.css")
    os.symlink(tmp_path, static / "up")
    fetcher = pdf.StaticFilesOnly(static, "/static")
    assert fetcher.fetch(f"{pdf.ORIGIN}/static/css/ok.css").read() == b"body { color: black }"
    for path in ("css/out.css", "up/secret.txt"):
        with pytest.raises(pdf.RefusedResource):
            fetcher.fetch(f"{pdf.ORIGIN}/static/{path}")


def test_rendering_html_that_points_outside_static_completes_without_opening_those_files(app, monkeypatch):
    opened: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    html = (
        '<link rel="stylesheet" href="file:///etc/passwd">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/x">'
        '<link rel="stylesheet" href="../../etc/passwd">'
        '<link rel="stylesheet" href="/static/css/invoice-print.css">'
        '<img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x"><img src="../../etc/passwd">'
        "<style>@font-face { font-family: x; src: url(file:///etc/passwd) }</style>"
        "<p>Still printed</p>"
    )
    with app.app_context():
        data = pdf.render_pdf(html)
    assert "Still printed" in _text(data)[0]
    static = Path(app.static_folder).resolve()
    assert [p for p in opened if "passwd" in p] == []
    assert str(static / "css" / "invoice-print.css") in opened  # the one allowed fetch did read from disk
    outside = [p for p in opened if p.startswith("/") and "/static/" in p and not Path(p).is_relative_to(static)]
    assert outside == []


# --- the pages -----------------------------------------------------------------------------------


def test_the_invoice_pdf_opens_inline_under_its_number_and_is_not_cached(client, login, world, letterhead):
    invoice = _issue(world)
    login(world.clerk)
    response = client.get(f"/billing/invoices/{invoice.id}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="{invoice.number}.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    assert invoice.number in _text(response.data)[0]


def test_another_hospitals_clerk_gets_404_for_the_pdf(client, login, world):
    invoice = _issue(world)
    login(world.other_clerk)
    assert client.get(f"/billing/invoices/{invoice.id}.pdf").status_code == 404


def test_an_insurer_reads_the_pdf_of_an_invoice_billing_it_and_no_other(client, login, world, letterhead):
    insured, self_pay = _issue(world), _issue(world, patient=world.self_pay)
    login(make_user(Role.FINANCE_OFFICER, company_id=world.company.id, institution_id=None))
    assert client.get(f"/billing/invoices/{insured.id}.pdf").status_code == 200
    assert client.get(f"/billing/invoices/{self_pay.id}.pdf").status_code == 404


def test_a_receptionist_may_not_print_invoices(client, login, world):
    invoice = _issue(world)
    login(make_user(Role.RECEPTIONIST, institution_id=world.hospital.id))
    assert client.get(f"/billing/invoices/{invoice.id}.pdf").status_code == 403


# --- batch printing ------------------------------------------------------------------------------


def test_a_batch_print_runs_inline_into_one_pdf_and_the_progress_widget_shows_done(
    client, login, world, letterhead, prints
):
    invoices = [_issue(world), _issue(world, patient=world.self_pay), _issue(world)]
    long = _issue(world, patient=world.self_pay, lines=[("CONSULT", 1, None)] * 60)
    invoices.append(long)
    _issue(world, patient=world.other_patient, clerk=world.other_clerk)  # another hospital's: stays out
    login(world.clerk)
    page = client.get("/billing/print")
    assert page.status_code == 200 and 'name="day"' in page.get_data(as_text=True)

    answer = client.post("/billing/print", data={"day": clock.today().isoformat()}, headers={"HX-Request": "true"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    fragment = answer.get_data(as_text=True)
    assert 'id="print-progress"' in fragment and 'hx-trigger="every 1s"' in fragment
    token = next(p.stem for p in prints.glob("*.json"))

    progress = client.get(f"/billing/print/{token}", headers={"HX-Request": "true"})
    body = progress.get_data(as_text=True)
    assert progress.status_code == 200
    assert "every 1s" not in body
    assert f"/billing/print/{token}.pdf" in body

    download = client.get(f"/billing/print/{token}.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Cache-Control"] == "no-store"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    pages = _text(download.data)
    single = [len(_text(printing.invoice_pdf(tenant_of(world.clerk), i.id))) for i in invoices]
    assert len(pages) == sum(single) > len(invoices)  # the long one runs over pages
    # progress counts pages, and says how many invoices they print
    assert f"Done: {len(pages)} of {len(pages)} pages, the 4 invoices issued on {labels.day(clock.today())}." in body
    joined = " ".join(pages)
    assert [n for n in (i.number for i in invoices) if n not in joined] == []
    assert "INV-HB-000001" not in joined
    assert "Page 1 of 1" in pages[0] and f"Page 1 of {single[-1]}" in pages[sum(single[:-1])]
    stored = list(prints.iterdir())
    assert {p.suffix for p in stored} == {".json", ".pdf"} and all(p.stem == token for p in stored)
    # the download showed every patient on the day's invoices: one read entry names them by number, no one else
    [read] = db.session.scalars(select(AuditLog).where(AuditLog.action == "read", AuditLog.entity_type == "patient"))
    assert read.actor_id == world.clerk.id and "printed" in read.summary
    assert read.after["patients"] == sorted({world.insured.patient_number, world.self_pay.patient_number})


def test_a_batch_token_belongs_to_its_institution(client, login, world, prints):
    _issue(world)
    batch = print_batches.print_batch(actor=world.clerk, institution_id=world.hospital.id, day=clock.today())
    print_batches.render_batch(batch.token)
    login(world.other_clerk)
    assert client.get(f"/billing/print/{batch.token}").status_code == 404
    assert client.get(f"/billing/print/{batch.token}.pdf").status_code == 404
    assert client.get("/billing/print/not-a-token").status_code == 404
    assert client.get("/billing/print/..%2f..%2fetc%2fpasswd.pdf").status_code == 404


def test_a_batch_with_nothing_issued_that_day_is_refused_with_a_message(client, login, world, prints):
    login(world.clerk)
    answer = client.post("/billing/print", data={"day": "2001-01-01"}, headers={"HX-Request": "true"})
    assert answer.status_code == 422
    assert "No invoices were issued on 1 Jan 2001" in answer.get_data(as_text=True)
    assert not prints.exists() or list(prints.iterdir()) == []


def test_an_auditor_opens_the_print_page_but_may_not_start_a_batch(client, login, world, prints):
    login(make_user(Role.AUDITOR))
    assert client.get("/billing/print").status_code == 200
    assert client.post("/billing/print", data={"day": clock.today().isoformat()}).status_code == 403


def test_without_htmx_a_platform_admin_picks_the_institution_and_lands_on_the_progress_page(
    client, login, world, prints
):
    invoice = _issue(world)
    login(make_user(Role.ADMIN))
    page = client.get("/billing/print").get_data(as_text=True)
    assert f'<option value="{world.hospital.id}"' in page and "Hospital B" in page

    answer = client.post("/billing/print", data={"day": clock.today().isoformat(), "institution_id": world.hospital.id})
    assert answer.status_code == 303
    progress = client.get(answer.headers["Location"])
    body = progress.get_data(as_text=True)
    assert progress.status_code == 200 and "<html" in body and "Done: 1 of 1 pages, the 1 invoice issued" in body
    token = answer.headers["Location"].rsplit("/", 1)[-1]
    assert invoice.number in " ".join(_text(client.get(f"/billing/print/{token}.pdf").data))
    audit = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == "invoice_batch")).all()
    assert [(a.action, a.entity_id, a.institution_id) for a in audit] == [("print", token, world.hospital.id)]


def test_a_batch_print_whose_worker_was_killed_shows_interrupted_retrying_and_prints_each_invoice_once(
    app, client, login, world, letterhead, prints, monkeypatch
):
    from medcover import jobs, requested_work
    from medcover.requested_work import RequestedWork

    invoices = [_issue(world), _issue(world, patient=world.self_pay), _issue(world)]
    login(world.clerk)
    with monkeypatch.context() as redis_down:
        redis_down.setattr(jobs, "enqueue", lambda *args, **kwargs: None)  # the job goes nowhere
        client.post("/billing/print", data={"day": clock.today().isoformat()}, headers={"HX-Request": "true"})
    token = next(p.stem for p in prints.glob("*.json"))
    progress = client.get(f"/billing/print/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "0 of 3 pages</strong> waiting to start" in progress and "Interrupted" not in progress

    # A worker takes it, lays out one invoice, and is killed: the file says "running 1 of 3" for ever.
    work = db.session.query(RequestedWork).filter_by(about_kind="invoice_print", about_key=token).one()
    assert requested_work._take(work.id) is not None
    db.session.commit()
    status = print_batches._read_status(token)
    print_batches._save_status(status, state="running", done=1)
    progress = client.get(f"/billing/print/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "1 of 3 pages</strong> laid out" in progress and "Interrupted" not in progress  # under its lease

    with clock.travel(timedelta(seconds=app.config["REQUESTED_WORK_LEASE"] + 5)):
        progress = client.get(f"/billing/print/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
        assert 'id="print-interrupted"' in progress and "Interrupted at" in progress and "retrying" in progress
        assert "every 1s" in progress  # still polling: the retry will finish it
        assert requested_work.sweep() == 1  # the scheduler's sweep sends it again
        jobs.run_ready()
    progress = client.get(f"/billing/print/{token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Done: 3 of 3 pages" in progress and "Interrupted" not in progress
    pages = _text(client.get(f"/billing/print/{token}.pdf").data)
    assert len(pages) == 3
    assert [sum(i.number in page for page in pages) for i in invoices] == [1, 1, 1]  # one page each, once
    assert sorted(p.suffix for p in prints.iterdir()) == [".json", ".pdf"]
