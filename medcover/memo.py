"""Answers kept for the rest of one request (``per_request``): what a page asks for several times is read once,
however many templates and views ask; a commit forgets them, so a page rendered after a write shows what was
written. The short directories every page reads (hospital and insurer names for the identity bar, a list's
provider column and its filters) are kept longer, by the process (``per_process``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

_KEY = "_per_request"


def per_request(fn: Callable) -> Callable:
    """``fn(*args)`` once per request and arguments (outside a request: every time). The answer is shared:
    callers read it and never change it."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @wraps(fn)
    def remembered(*args):
        if not has_request_context():
            return fn(*args)
        memo = g.setdefault(_KEY, {})
        key = (name, args)
        if key not in memo:
            memo[key] = fn(*args)
        return memo[key]

    return remembered


@event.listens_for(Session, "after_commit")
def _forget(_session) -> None:
    if has_app_context():
        g.pop(_KEY, None)


# --- directories kept by the process -------------------------------------------------------------------------

_DIRECTORIES = "medcover.directories"
#: model class -> (a kept directory that lists it, the columns it shows)
_WATCHED: dict[type, list[tuple[str, tuple[str, ...]]]] = {}


class Directory(dict):
    """A kept ``{id: name}`` directory. An id it lacks may have been added since it was read (by another process):
    asking for one reads the directory again, at most once a second, so a new hospital's name shows at once and a
    row naming an id that is gone costs no query per row."""

    __slots__ = ("_read", "_read_at")

    def __init__(self, read: Callable[[], dict], read_at: float):
        super().__init__(read())
        self._read, self._read_at = read, read_at

    def _reread(self, key) -> bool:
        if key is None:  # "no hospital" (a self-pay invoice's insurer): nothing to look for
            return False
        now = time.monotonic()
        if now - self._read_at < 1.0:
            return False
        self._read_at = now
        fresh = self._read()
        # in place and never empty: a thread of a threaded server reading meanwhile sees old names or new ones
        self.update(fresh)
        for gone in self.keys() - fresh.keys():
            self.pop(gone, None)
        return True

    def __contains__(self, key) -> bool:
        return super().__contains__(key) or (self._reread(key) and super().__contains__(key))

    def __getitem__(self, key):
        if not super().__contains__(key):
            self._reread(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        if not super().__contains__(key):
            self._reread(key)
        return super().get(key, default)


def per_process(*models: type, shows: tuple[str, ...] = ("name",), read_missing: bool = True) -> Callable:
    """``fn()``, a short ``{id: name}`` directory every page reads (the hospitals' and insurers' names), kept by
    this process for ``DIRECTORY_SECONDS`` instead of read on every request. A change this process flushes to one
    of ``models`` (a new or deleted row, or a change to a column it ``shows``) forgets it at once (a renamed
    hospital shows renamed on the next page; an insurer's next member number does not count); another process shows
    the old name for at most ``DIRECTORY_SECONDS``, and an id it does not know yet is read again (``Directory``).
    With ``read_missing=False`` a key it lacks is an answer (who is clinical staff: most users are not), never a
    reason to read again, so a page asking for one costs no query. Outside an app (scripts) it reads every time."""

    def wrap(fn: Callable[[], dict]) -> Callable[[], dict]:
        name = f"{fn.__module__}.{fn.__qualname__}"
        for model in models:
            _WATCHED.setdefault(model, []).append((name, shows))

        @wraps(fn)
        def kept() -> dict:
            if not has_app_context():
                return fn()
            kept_here = current_app.extensions.setdefault(_DIRECTORIES, {})
            now = time.monotonic()
            found = kept_here.get(name)
            if found is None or now - found[0] >= current_app.config.get("DIRECTORY_SECONDS", 30):
                found = kept_here[name] = (now, Directory(fn, now) if read_missing else fn())
            return found[1]

        return kept

    return wrap


def forget_directories() -> None:
    """Read every kept directory again on next use (a test's world is rolled back under the process)."""
    if has_app_context():
        current_app.extensions.pop(_DIRECTORIES, None)


@event.listens_for(Session, "after_flush")
def _forget_changed(session, _context) -> None:
    if not _WATCHED or not has_app_context():
        return
    kept_here = current_app.extensions.get(_DIRECTORIES) or {}
    changed = [(obj, False) for obj in (*session.new, *session.deleted)] + [(obj, True) for obj in session.dirty]
    for obj, dirty in changed:
        for name, shows in _WATCHED.get(type(obj), ()):
            if dirty and not any(inspect(obj).attrs[column].history.has_changes() for column in shows):
                continue
            kept_here.pop(name, None)
            # read again once the change is committed or undone: what was read in between may not last
            session.info.setdefault(_DIRECTORIES, set()).add(name)


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_read_mid_change(session) -> None:
    names = session.info.pop(_DIRECTORIES, None)
    if names and has_app_context():
        kept_here = current_app.extensions.get(_DIRECTORIES) or {}
        for name in names:
            kept_here.pop(name, None)
