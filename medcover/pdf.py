"""PDFs from HTML with WeasyPrint, fetching nothing but the app's own static files.

The HTML we print holds text other people typed (patient names, line descriptions). Jinja escapes it, and
the fetcher is the second wall: a stylesheet, image or font is served only when its URL names a file under
the app's static folder, read straight from disk. Everything else - ``file:``, ``data:``, any other host,
paths outside ``/static/``, ``..`` tricks, symlinks leading out - is refused, and WeasyPrint then skips that
resource with a warning. Nothing ever goes over the network, so there is no redirect to follow.

``data:`` URLs are refused too although they read no file: our templates never need one, and refusing them
keeps bytes from the printed content (an SVG, a font) away from the image and font parsers should a template
ever print something unescaped.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

#: the origin documents are rendered under; ``.invalid`` never resolves, should anything try
ORIGIN = "https://medcover.invalid"
BASE_URL = ORIGIN + "/"
#: a stylesheet, image or font larger than this is not a static asset of ours
MAX_RESOURCE_BYTES = 5 * 1024 * 1024


class RefusedResource(ValueError):
    """A URL the PDF renderer will not fetch. WeasyPrint catches it and leaves the resource out."""


class StaticFilesOnly(URLFetcher):
    """WeasyPrint's documented fetcher interface (subclass ``URLFetcher``, override ``fetch``), serving only
    files under ``static_folder`` at ``static_url_path`` on the render origin (or the site's public one)."""

    def __init__(self, static_folder: str | os.PathLike, static_url_path: str = "/static", hosts=()):
        # No protocol allowed and no redirect handler: the parent's network code must stay unreachable
        # even if a future WeasyPrint called it directly.
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=False)
        self.root = Path(static_folder).resolve(strict=True)
        self.prefix = "/" + static_url_path.strip("/") + "/"
        self.hosts = {urlsplit(ORIGIN).netloc, *(h.lower() for h in hosts if h)}

    @classmethod
    def for_app(cls, app=None) -> StaticFilesOnly:
        """The current app's static folder; its own public host too, so ``url_for(..., _external=True)``
        links to its static files work (they are still read from disk, never fetched)."""
        return cls(*cls.settings_for(app))

    @staticmethod
    def settings_for(app=None) -> tuple[str, str, tuple[str, ...]]:
        """``for_app``'s arguments as plain values: a process without the app (a print run's pool) builds the
        very same fetcher from them."""
        app = app or current_app
        hosts = []
        for setting in ("PUBLIC_BASE_URL", "SERVER_NAME"):
            value = app.config.get(setting)
            if value:
                hosts.append(urlsplit(value if "//" in value else "//" + value).netloc)
        return str(app.static_folder), app.static_url_path or "/static", tuple(hosts)

    def path_for(self, url: str) -> Path:
        """The static file a URL names, or ``RefusedResource``."""
        if not isinstance(url, str) or any(ord(c) < 32 or ord(c) == 127 for c in url) or "\\" in url:
            raise RefusedResource("not a plain URL")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise RefusedResource(f"only the app's static files are fetched, not {parts.scheme or 'relative'} URLs")
        if parts.netloc.lower() not in self.hosts:
            raise RefusedResource("only the app's static files are fetched, not other hosts")
        path = unquote(parts.path)
        if not path.startswith(self.prefix) or "\x00" in path:
            raise RefusedResource("only files under the static folder are fetched")
        relative = path[len(self.prefix) :]
        pieces = relative.split("/")
        if not relative or any(piece in ("", ".", "..") for piece in pieces):
            raise RefusedResource("no path traversal")
        try:
            # resolve() follows every symlink; what it lands on must still be inside the static folder.
            target = self.root.joinpath(*pieces).resolve(strict=True)
        except (OSError, RuntimeError):
            raise RefusedResource("no such static file") from None
        if not target.is_relative_to(self.root):
            raise RefusedResource("symlink out of the static folder")
        return target

    def fetch(self, url, headers=None):
        try:
            target = self.path_for(url)
            data = self._read(target)
        except RefusedResource as exc:
            log.warning("pdf resource refused: %s (%s)", str(url)[:200], exc)
            raise
        content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, data, {"Content-Type": content_type})

    @staticmethod
    def _read(target: Path) -> bytes:
        try:
            # O_NOFOLLOW: the resolved path itself must not have become a symlink since we checked it.
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            raise RefusedResource("cannot open the static file") from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RESOURCE_BYTES:
                raise RefusedResource("not a regular static file of a sane size")
            return handle.read(MAX_RESOURCE_BYTES + 1)


def static_url(filename: str) -> str:
    """A stylesheet or image link for a printed template: the static file's path on the render origin.
    (``url_for`` needs a request or SERVER_NAME, and jobs on a worker have neither.)"""
    return f"{current_app.static_url_path}/{filename.lstrip('/')}"


def render_document(
    html: str,
    *,
    base_url: str = BASE_URL,
    font_config: FontConfiguration | None = None,
    fetcher: StaticFilesOnly | None = None,
):
    """Lay the HTML out into pages (a ``weasyprint.Document``); ``write_pdf`` writes one or several. The fetcher
    is the current app's unless given (a process without the app passes one built from ``settings_for``)."""
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher or StaticFilesOnly.for_app()).render(
        font_config=font_config or FontConfiguration()
    )


def shared_fonts() -> FontConfiguration:
    """One font configuration for documents written into one PDF: fonts load once, and stay alive until the write."""
    return FontConfiguration()


def write_pdf(documents) -> bytes:
    """One PDF from the pages of one or more documents, in order (each keeps its own page numbering)."""
    documents = list(documents)
    if not documents:
        raise ValueError("nothing to write")
    pages = [page for document in documents for page in document.pages]
    return documents[0].copy(pages).write_pdf()


def render_pdf(html: str, *, base_url: str = BASE_URL) -> bytes:
    """The PDF of one HTML document. Relative links resolve against ``base_url`` (the render origin)."""
    return write_pdf([render_document(html, base_url=base_url)])


def page_png(pdf: bytes, *, page: int = 1, dpi: int = 72) -> bytes:
    """One page of a PDF as a PNG, for tests and previews. WeasyPrint no longer writes PNG (since v53), so
    this runs poppler's ``pdftoppm`` (package poppler-utils, installed by ``make install-test``)."""
    program = shutil.which("pdftoppm")
    if program is None:
        raise RuntimeError("pdftoppm is not installed (apt-get install poppler-utils)")
    result = subprocess.run(  # noqa: S603 - a fixed program and numeric arguments; the PDF goes in on stdin
        [program, "-png", "-r", str(int(dpi)), "-f", str(int(page)), "-l", str(int(page)), "-singlefile", "-"],
        input=pdf,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def render_png(html: str, *, page: int = 1, dpi: int = 72) -> bytes:
    """A page of the rendered HTML as a PNG (see ``page_png``)."""
    return page_png(render_pdf(html), page=page, dpi=dpi)
