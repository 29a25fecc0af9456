"""Uploaded files: checked by their content (never their name or declared type), stored under generated
names in the upload folder outside ``static/``, shown by a cleaned display name. Medical record and dispute
attachments both come through here."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Response, current_app, send_file
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from medcover.dbtypes import UtcDateTime, utcnow
from medcover.errors import Invalid, NotFound

FILENAME_CHARS = 120
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
#: content signatures of the files we accept; the name and the declared type are never believed
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
STORED_NAME = re.compile(r"[0-9a-f]{32}")
FOLDER = re.compile(r"[a-z][a-z0-9_]{0,30}")


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class StoredFileColumns:
    """The columns of an attachment row (mixed into a domain's table): what ``store`` kept and who sent it."""

    #: the uploader's file name, cleaned, for display and download only; never used as a path
    filename: Mapped[str] = mapped_column(String(120))
    #: random name in UPLOAD_DIR; never derived from the upload
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    #: the type sniffed from the content, not the browser's word
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def clean_filename(name) -> str:
    """The upload's name for display only: its last path part, control characters dropped, at most 120
    characters (the extension kept). HTML stays as text; templates escape it."""
    text = unicodedata.normalize("NFC", str(name or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc: control characters; Cf: invisible formatting such as right-to-left overrides that disguise extensions
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf"))
    text = " ".join(text.split())
    if not text.strip(". "):
        return "attachment"
    if len(text) > FILENAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and 0 < len(ext) <= 10:
            text = stem[: FILENAME_CHARS - len(ext) - 1] + "." + ext
        else:
            text = text[:FILENAME_CHARS]
    return text


def sniff_type(data: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def folder_path(folder: str) -> Path:
    if not FOLDER.fullmatch(folder):
        raise ValueError(f"not an upload folder name: {folder!r}")
    return Path(current_app.config["UPLOAD_DIR"]) / folder


def max_bytes() -> int:
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def _read(stream, limit: int) -> bytes:
    if stream is None or not hasattr(stream, "read"):
        raise Invalid.field("file", "Choose a file to attach.")
    data = stream.read(limit + 1)
    if isinstance(data, str):
        raise Invalid.field("file", "Only PDF, PNG or JPEG files can be attached.")
    return data or b""


def store(folder: str, filename, stream) -> StoredFile:
    """Check and write one upload; raises ``Invalid`` (field ``file``) and writes nothing when it is empty,
    too large or not a PDF, PNG or JPEG. The caller registers it and calls ``discard`` if that fails."""
    limit = max_bytes()
    data = _read(stream, limit)
    if not data:
        raise Invalid.field("file", "The file is empty.")
    if len(data) > limit:
        raise Invalid.field("file", f"The file is larger than {limit / (1024 * 1024):g} MB.")
    content_type = sniff_type(data)
    if content_type is None:
        raise Invalid.field("file", "Only PDF, PNG or JPEG files can be attached.")
    directory = folder_path(folder)
    directory.mkdir(parents=True, exist_ok=True)
    stored_name = secrets.token_hex(16)
    with open(directory / stored_name, "xb") as handle:  # "x": never overwrite, should two names ever collide
        handle.write(data)
    return StoredFile(stored_name, clean_filename(filename), content_type, len(data), hashlib.sha256(data).hexdigest())


def discard(folder: str, stored_name: str) -> None:
    if STORED_NAME.fullmatch(stored_name or ""):
        (folder_path(folder) / stored_name).unlink(missing_ok=True)


def stored_path(folder: str, stored_name: str) -> Path:
    """The file of a registered upload; NotFound for a malformed name or a missing file."""
    if not STORED_NAME.fullmatch(stored_name or ""):
        raise NotFound("No such attachment.")
    path = folder_path(folder) / stored_name
    if not path.is_file():
        raise NotFound("The attachment's file is missing; ask an administrator.")
    return path


@contextmanager
def kept(folder: str, filename, stream) -> Iterator[StoredFile]:
    """Store an upload for the caller to register inside the block; the file is discarded again when
    registering it fails, so no file outlives a rolled-back row."""
    stored = store(folder, filename, stream)
    try:
        yield stored
    except BaseException:
        discard(folder, stored.stored_name)
        raise


def file_part(files) -> tuple[str, object | None]:
    """The ``file`` part of a multipart request as (name, stream); no part, or one without a name, is ("", None)."""
    upload = files.get("file")
    if upload is None or not upload.filename:
        return "", None
    return upload.filename, upload.stream


def download(path: Path, content_type: str, filename: str) -> Response:
    """A stored file as an attachment: never rendered inline, never cached, its type as sniffed on upload."""
    response = send_file(
        path,
        mimetype=content_type,
        as_attachment=True,
        download_name=clean_filename(filename),
        conditional=False,
        etag=False,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response
