"""Many HTML documents into one PDF: laid out in parts by a pool of processes, merged in order.

WeasyPrint lays out a page in a few hundred milliseconds on one core and holds the GIL while it does, so a
thousand invoices only go faster on more processes. The caller (with the app and the database) turns its records
into HTML strings; each part - a run of consecutive documents - goes to a child of a ``ProcessPoolExecutor``
started with ``spawn`` (no copy of the parent's database connections, locks or threads), which lays the part out
with the same static-files-only fetcher as the app (built from ``StaticFilesOnly.settings_for``), writes it as
one PDF and sends the bytes back. The parent appends the parts in their order with pypdf: every document keeps
its own pages and "Page 1 of 2", and a part's failure fails the whole run (nothing is written).

Progress counts pages: a child reports each document's pages as it lays them out, on a queue the parent reads
while it waits. With one worker, or too few documents to be worth starting processes for (``MIN_PER_WORKER``
each), the parts are laid out in this process, the same way, one after another.
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import queue as queues
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from pypdf import PdfReader, PdfWriter

from medcover import pdf

#: the most documents one part holds: a part's pages stay in its child's memory until it writes them
PART_SIZE = 50
#: the fewest documents worth a process of the pool: a child takes about as long to start (importing WeasyPrint)
#: as laying out a few invoices, so a small day is laid out in the job's own process
MIN_PER_WORKER = 4
#: seconds between looks at the children's progress while the parts are out
POLL_SECONDS = 0.2

#: called with (pages laid out so far, documents laid out so far)
Progress = Callable[[int, int], None]

#: in a child of the pool: its fetcher and the queue its progress goes on (set once, when the child starts)
_child: dict = {}


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container's cpuset narrows)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def render_as_one(
    documents: Iterable[str], count: int, *, workers: int, progress: Progress, part_size: int | None = None
) -> bytes:
    """One PDF of ``count`` HTML documents, in their order. ``workers`` processes lay them out (1: this one);
    ``progress`` hears of every page laid out. Must run inside an app context (for the fetcher's settings)."""
    if count < 1:
        raise ValueError("nothing to print")
    workers = max(1, min(workers, count // MIN_PER_WORKER))
    size = max(1, min(part_size or PART_SIZE, math.ceil(count / workers)))
    parts = _parts(documents, size)
    if workers == 1:
        fetcher = pdf.StaticFilesOnly.for_app()
        return _merge(_render_here(parts, fetcher, progress))
    return _merge(_render_in_pool(parts, workers, progress))


def _parts(documents: Iterable[str], size: int) -> Iterator[list[str]]:
    part: list[str] = []
    for html in documents:
        part.append(html)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


def render_part(htmls: list[str], fetcher: pdf.StaticFilesOnly, laid_out: Callable[[int], None]) -> tuple[bytes, int]:
    """One part as one PDF and its page count: each document laid out on its own (its own page numbers), the
    fonts loaded once. ``laid_out`` hears each document's page count."""
    fonts = pdf.shared_fonts()
    documents = []
    for html in htmls:
        document = pdf.render_document(html, font_config=fonts, fetcher=fetcher)
        documents.append(document)
        laid_out(len(document.pages))
    return pdf.write_pdf(documents), sum(len(document.pages) for document in documents)


def _render_here(parts: Iterator[list[str]], fetcher, progress: Progress) -> Iterator[bytes]:
    pages = documents = 0

    def laid_out(count: int) -> None:
        nonlocal pages, documents
        pages, documents = pages + count, documents + 1
        progress(pages, documents)

    for part in parts:
        yield render_part(part, fetcher, laid_out)[0]


def _start_child(settings: tuple, progress) -> None:
    """A pool child's start: the app's fetcher rebuilt from its settings, and the queue for progress."""
    _child["fetcher"] = pdf.StaticFilesOnly(*settings)
    _child["progress"] = progress


def _render_in_child(htmls: list[str]) -> tuple[bytes, int]:
    return render_part(htmls, _child["fetcher"], _child["progress"].put)


def _render_in_pool(parts: Iterator[list[str]], workers: int, progress: Progress) -> list[bytes]:
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_child,
        initargs=(pdf.StaticFilesOnly.settings_for(), reports),
    )
    pages = documents = 0
    try:
        # each part leaves as soon as its HTML is written: the first are laid out while the last are written
        futures, count = [], 0
        for part in parts:
            futures.append(pool.submit(_render_in_child, part))
            count += len(part)
        waiting = set(futures)
        while waiting:
            finished, waiting = wait(waiting, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            for future in finished:
                future.result()  # a part that failed fails the run now, not after the others
            heard = _drain(reports)
            if heard:
                pages, documents = pages + sum(heard), documents + len(heard)
                progress(pages, documents)
        results = [future.result() for future in futures]
        # the last reports may still be in the queue's pipe: the parts' own counts are the final word
        progress(sum(laid for _, laid in results), count)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        reports.close()
    pool.shutdown(wait=True)
    return [data for data, _ in results]


def _drain(reports) -> list[int]:
    heard = []
    while True:
        try:
            heard.append(reports.get_nowait())
        except queues.Empty:
            return heard


def _merge(parts: Iterable[bytes]) -> bytes:
    """The parts' pages in order, in one PDF (a single part is already that PDF)."""
    parts = list(parts)
    if len(parts) == 1:
        return parts[0]
    writer = PdfWriter()
    for part in parts:
        for page in PdfReader(io.BytesIO(part)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
