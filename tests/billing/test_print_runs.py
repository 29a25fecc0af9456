"""Print runs in parts: a day's invoices laid out by a pool of processes (or this one) and merged in number order,
progress in pages, a failed part failing the whole run with nothing left half-written, and the static-files-only
fetcher in the pool's children too."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import pytest

from blueprints.billing.services import print_batches
from medcover import clock, pdf, pdf_pool
from tests.billing.test_pdf import _issue, _text

LONG = [("CONSULT", 1, None)] * 60


@pytest.fixture
def small_parts(monkeypatch):
    """Two invoices a part, and a process of the pool for as few, so a handful of invoices makes several parts."""
    monkeypatch.setattr(pdf_pool, "PART_SIZE", 2)
    monkeypatch.setattr(pdf_pool, "MIN_PER_WORKER", 1)


@pytest.fixture
def workers(app, monkeypatch):
    def use(count: int) -> None:
        monkeypatch.setitem(app.config, "PRINT_WORKERS", count)

    return use


@pytest.fixture
def pool_parts(monkeypatch):
    """How many parts went to a process pool, and on how many processes."""
    seen = {"parts": 0, "processes": 0}

    class Watched(ProcessPoolExecutor):
        def __init__(self, max_workers=None, **kwargs):
            seen["processes"] = max_workers
            super().__init__(max_workers=max_workers, **kwargs)

        def submit(self, fn, /, *args, **kwargs):
            seen["parts"] += 1
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(pdf_pool, "ProcessPoolExecutor", Watched)
    return seen


def _run(world) -> tuple[str, list[str]]:
    """Print today's invoices of the clerk's hospital; the token and each page's text."""
    batch = print_batches.print_batch(actor=world.clerk, institution_id=world.hospital.id, day=clock.today())
    print_batches.render_batch(batch.token)
    return batch.token, _text(print_batches._pdf_path(batch.token).read_bytes())


def _day_of_invoices(world):
    """Five invoices, the third running over several pages, and another hospital's invoice the same day."""
    invoices = [
        _issue(world),
        _issue(world, patient=world.self_pay),
        _issue(world, patient=world.self_pay, lines=LONG),
        _issue(world),
        _issue(world, patient=world.self_pay),
    ]
    _issue(world, patient=world.other_patient, clerk=world.other_clerk)
    return invoices


def _starts(pages: list[str], numbers: list[str]) -> list[int]:
    """The page each invoice starts on: its number and "Page 1 of" on the same page."""
    return [next(i for i, page in enumerate(pages) if n in page and "Page 1 of" in page) for n in numbers]


def test_parts_merge_in_number_order_and_each_invoice_keeps_its_own_page_numbers(
    world, letterhead, prints, small_parts
):
    invoices = _day_of_invoices(world)
    token, pages = _run(world)
    numbers = [i.number for i in invoices]
    starts = _starts(pages, numbers)
    assert starts == sorted(starts) and starts[0] == 0
    long_pages = starts[3] - starts[2]
    assert long_pages > 1 and len(pages) == len(invoices) - 1 + long_pages
    assert [f"Page {n} of {long_pages}" in pages[starts[2] + n - 1] for n in range(1, long_pages + 1)] == [True] * (
        long_pages
    )
    assert "INV-HB-" not in " ".join(pages)  # the other hospital's invoice stays out
    assert sorted(p.name for p in prints.iterdir()) == [f"{token}.json", f"{token}.pdf"]


def test_progress_counts_pages_each_invoice_one_until_it_is_laid_out(world, letterhead, prints, monkeypatch):
    _issue(world)
    _issue(world, patient=world.self_pay, lines=LONG)
    _issue(world)
    seen = []
    save = print_batches._save_status

    def watched(status, **changes):
        saved = save(status, **changes)
        seen.append((saved["state"], saved["done"], saved["total"]))
        return saved

    monkeypatch.setattr(print_batches, "_save_status", watched)
    _, pages = _run(world)
    long_pages = len(pages) - 2
    assert seen == [
        ("queued", 0, 3),
        ("running", 0, 3),
        ("running", 1, 3),
        ("running", 1 + long_pages, 2 + long_pages),
        ("running", len(pages), len(pages)),
        ("done", len(pages), len(pages)),
    ]


def test_the_pool_prints_the_same_pages_as_one_process(world, letterhead, prints, small_parts, workers, pool_parts):
    _day_of_invoices(world)
    workers(1)
    _, alone = _run(world)
    assert pool_parts == {"parts": 0, "processes": 0}

    workers(2)
    token, pooled = _run(world)
    assert pool_parts == {"parts": 3, "processes": 2}
    assert pooled == alone
    status = print_batches._read_status(token)
    assert (status["state"], status["done"], status["total"], status["invoices"]) == ("done", len(alone), len(alone), 5)


def test_a_part_that_fails_fails_the_run_leaves_nothing_half_written_and_the_run_can_go_again(
    client, login, world, letterhead, prints, small_parts, monkeypatch
):
    invoices = _day_of_invoices(world)
    render = pdf.render_document
    calls = []

    def third_fails(html, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("the layout engine ran out of memory")
        return render(html, **kwargs)

    batch = print_batches.print_batch(actor=world.clerk, institution_id=world.hospital.id, day=clock.today())
    with monkeypatch.context() as broken:
        broken.setattr(pdf, "render_document", third_fails)
        with pytest.raises(RuntimeError):
            print_batches.render_batch(batch.token)
    assert [p.name for p in prints.iterdir()] == [f"{batch.token}.json"]  # no PDF, no part, no temporary file
    login(world.clerk)
    page = client.get(f"/billing/print/{batch.token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "The print failed" in page and "every 1s" not in page and ".pdf" not in page
    assert client.get(f"/billing/print/{batch.token}.pdf").status_code == 404

    print_batches.render_batch(batch.token)  # the retry starts over and finishes
    page = client.get(f"/billing/print/{batch.token}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Done:" in page and "failed" not in page
    pages = _text(client.get(f"/billing/print/{batch.token}.pdf").data)
    assert [sum(i.number in p and "Page 1 of" in p for p in pages) for i in invoices] == [1] * 5


def test_a_pool_whose_children_cannot_start_fails_the_run_cleanly(
    world, letterhead, prints, small_parts, workers, monkeypatch
):
    _day_of_invoices(world)
    workers(2)
    batch = print_batches.print_batch(actor=world.clerk, institution_id=world.hospital.id, day=clock.today())
    nowhere = staticmethod(lambda app=None: ("/nonexistent", "/static", ()))
    with monkeypatch.context() as gone:  # the children build their fetcher on a static folder that is not there
        gone.setattr(pdf.StaticFilesOnly, "settings_for", nowhere)
        with pytest.raises(Exception):  # noqa: B017 - the pool's own error (BrokenProcessPool) or the child's
            print_batches.render_batch(batch.token)
    status = print_batches._read_status(batch.token)
    assert status["state"] == "failed" and status["error"]
    assert [p.name for p in prints.iterdir()] == [f"{batch.token}.json"]
    print_batches.render_batch(batch.token)
    assert print_batches._read_status(batch.token)["state"] == "done"


def test_the_pool_children_fetch_static_files_and_nothing_else(app, tmp_path, small_parts, pool_parts):
    evil = tmp_path / "evil.css"
    evil.write_text('body::after { content: "LEAKED FROM DISK"; }')
    stylesheet = pdf.static_url("css/invoice-print.css")
    html = (
        f'<html><head><link rel="stylesheet" href="{stylesheet}"><link rel="stylesheet" href="{evil.as_uri()}">'
        '<link rel="stylesheet" href="https://example.com/x.css"></head>'
        '<body><h1>INVOICE</h1><img src="file:///etc/passwd"><p>Document {n}</p></body></html>'
    )
    documents = [html.replace("{n}", str(n)) for n in range(4)]
    heard = []
    data = pdf_pool.render_as_one(documents, 4, workers=2, progress=lambda pages, done: heard.append((pages, done)))
    pages = _text(data)
    assert [f"Document {n}" in page for n, page in enumerate(pages)] == [True] * 4
    assert all("Page 1 of 1" in page for page in pages)  # the stylesheet came from the static folder
    assert "LEAKED" not in " ".join(pages)  # the file: URL was refused in the child
    assert heard[-1] == (4, 4)
    assert pool_parts == {"parts": 2, "processes": 2}
