"""Batch printing: every invoice issued at an institution on a day into one PDF, by a background job whose
progress a page polls. The job reads the day's invoices in a fixed number of queries, writes each one's HTML and
has a pool of processes lay them out in parts (``medcover.pdf_pool``, ``PRINT_WORKERS`` of them, one per core by
default); the parts are merged in order. Progress counts pages.

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
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from blueprints.billing.models import Invoice
from blueprints.billing.services.access import WRITERS, institution_for_write
from blueprints.billing.services.printing import letterhead_of, printable, printed_html
from blueprints.core import services as core
from blueprints.hospital import services as hospital
from medcover import clock, fields, labels, pdf_pool, requested_work
from medcover.errors import Invalid, NotFound
from medcover.extensions import db
from medcover.rbac import Tenant, tenant_of

log = logging.getLogger(__name__)

#: how long a batch PDF and its status stay on disk
BATCH_KEEP = timedelta(hours=24)
#: the most invoices one batch prints (a busy hospital's day is far below this)
MAX_BATCH = 2000
_TOKEN = re.compile(r"[0-9a-f]{32}")
#: the requested work of a batch print is about ("invoice_print", its token)
PRINT_WORK = "invoice_print"


@dataclass(frozen=True)
class BatchStatus:
    token: str
    institution_id: int
    day: date
    #: queued, running, done or failed
    state: str
    #: pages laid out so far
    done: int
    #: the pages so far and at least one for each invoice still to go: exact once done
    total: int
    #: invoices in the batch
    invoices: int
    error: str = ""
    #: when a worker printing it was lost (killed, or cut off): the print is "interrupted, retrying"
    interrupted_at: datetime | None = None

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
    state = raw["state"]
    interrupted_at = None
    if state in ("queued", "running"):
        # The file says where the last run got to; the request says whether a worker is still on it.
        requested = requested_work.state_of(PRINT_WORK, [raw["token"]]).get(raw["token"])
        if requested is not None and requested.interrupted:
            interrupted_at = requested.interrupted_when
    return BatchStatus(
        raw["token"],
        int(raw["institution_id"]),
        date.fromisoformat(raw["day"]),
        state,
        int(raw["done"]),
        int(raw["total"]),
        int(raw.get("invoices", raw["total"])),
        raw.get("error", ""),
        interrupted_at,
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
    return hospital.institutions_of(tenant_of(actor))


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
        raise Invalid.field("day", f"No invoices were issued on {labels.day(day)}.")
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
            "invoices": count,
            "error": "",
            "created_at": clock.now().isoformat(),
        }
    )
    core.record_audit(
        actor,
        "print",
        "invoice_batch",
        token,
        summary=f"{count} invoice(s) issued on {labels.day(day)}",
        institution_id=institution_id,
    )
    requested_work.request(render_batch, token, about=(PRINT_WORK, token), queue="pdf")
    return _as_status(status)


def render_batch(token: str) -> str:
    """The job: lay out each invoice of the batch (each keeps its own "Page 1 of 2") across the print pool, then
    write one PDF. Idempotent: a finished batch is left alone; a retried or failed one starts over, and until the
    whole PDF is written nothing of it is on disk."""
    status = _read_status(token)
    if status["state"] == "done" and _pdf_path(token).exists():
        return "already done"
    institution_id, day = int(status["institution_id"]), date.fromisoformat(status["day"])
    try:
        invoices = list(db.session.scalars(_issued_on(institution_id, day).limit(MAX_BATCH)))
        count = len(invoices)
        status = _save_status(status, state="running", done=0, total=count, invoices=count, error="")
        if not invoices:
            _save_status(status, state="failed", error="No invoices were issued on that day.")
            return "nothing to print"
        letterhead = letterhead_of(institution_id)

        def laid_out(pages: int, documents: int) -> None:
            nonlocal status
            status = _save_status(status, done=pages, total=pages + count - documents)
            requested_work.heartbeat()

        data = pdf_pool.render_as_one(
            (printed_html(printed, letterhead) for printed in printable(invoices)),
            count,
            workers=print_workers(),
            progress=laid_out,
        )
        _write_atomically(_pdf_path(token), data)
        _save_status(status, state="done", finished_at=clock.now().isoformat())
    except Exception:
        log.exception("batch print %s failed", token)
        _save_status(status, state="failed", error="Printing failed; try again or ask an administrator.")
        raise
    return f"printed {count} invoice(s), {status['done']} page(s)"


def print_workers() -> int:
    """How many processes lay a batch out: ``PRINT_WORKERS``, or one per core when it is 0."""
    return int(current_app.config.get("PRINT_WORKERS") or 0) or pdf_pool.cores()


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


def audit_batch_read(actor, batch: BatchStatus) -> None:
    """A downloaded batch shows every patient whose invoice it holds: one read entry naming them by number."""
    query = _issued_on(batch.institution_id, batch.day).with_only_columns(Invoice.patient_id)
    shown = hospital.patients_by_id(db.session.scalars(query).all())
    hospital.audit_patient_read(actor, list(shown.values()), f"invoices issued on {batch.day.isoformat()}, printed")


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
