"""The time, in one place: stored instants are UTC, business dates and shown times are the site's time zone.

``now()`` is the instant (UTC, aware); ``today()`` is the date on the site's calendar (``MEDCOVER_TIMEZONE``), so
a claim for a service at 00:30 in Nairobi is dated that day, not the UTC day before. Tests move the clock
(``travel``) or stop it at an instant (``frozen``) instead of sleeping.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: the demo world's zone, and development's and the tests' default
DEFAULT_ZONE = "Africa/Nairobi"

_offset = timedelta(0)
_frozen: datetime | None = None
_zone = ZoneInfo(DEFAULT_ZONE)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone called ``name``; ValueError for a name that is not one."""
    if not name or not name.strip():
        raise ValueError("No time zone given.")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Africa/Nairobi).") from exc


def set_zone(name: str) -> None:
    """Make ``name`` the site's time zone (the app factory calls this with ``MEDCOVER_TIMEZONE``)."""
    global _zone
    _zone = zone_named(name)


def zone() -> ZoneInfo:
    return _zone


def now() -> datetime:
    """The instant, in UTC."""
    return (_frozen if _frozen is not None else datetime.now(UTC)) + _offset


def local_now() -> datetime:
    """The instant on the site's wall clock."""
    return now().astimezone(_zone)


def today() -> date:
    """The business date: today on the site's calendar."""
    return local_now().date()


def local(moment: datetime) -> datetime:
    """A stored instant on the site's wall clock (a naive value is taken as UTC, as the columns store it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone)


def local_date(moment: datetime) -> date:
    """The site's calendar date of an instant (a claim submitted at 00:30 Nairobi time is dated that day)."""
    return local(moment).date()


def from_local(wall: datetime) -> datetime:
    """A wall-clock time typed at the site (naive) as the UTC instant to store; an aware value is just converted."""
    if wall.tzinfo is None:
        wall = wall.replace(tzinfo=_zone)
    return wall.astimezone(UTC)


def day_start(day: date) -> datetime:
    """The UTC instant the site's ``day`` begins (local midnight); the calendar's ends clamp to the first and last
    instants there are, so a filter from ``date.min`` to ``date.max`` still means "everything"."""
    try:
        return datetime.combine(day, time.min, _zone).astimezone(UTC)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if day.year == 1 else datetime.max.replace(tzinfo=UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of the site's ``day``."""
    return day_start(day), day_start(day + timedelta(days=1))


def format_datetime(moment: datetime | None) -> str:
    """A stored instant for a page: "4 Dec 2026 14:05" on the site's clock ("" for none)."""
    if moment is None:
        return ""
    wall = local(moment)
    return f"{wall.day} {wall:%b %Y %H:%M}"


def format_time(moment: datetime | None) -> str:
    """The wall-clock time of an instant: "14:05"."""
    return f"{local(moment):%H:%M}" if moment is not None else ""


def format_date(moment: datetime | date | None) -> str:
    """An instant's (or a date's) site calendar day: "4 Dec 2026"."""
    if moment is None:
        return ""
    day = local_date(moment) if isinstance(moment, datetime) else moment
    return f"{day.day} {day:%b %Y}"


def format_input(moment: datetime | None) -> str:
    """An instant as a ``datetime-local`` input's value on the site's clock: "2026-12-04T14:05"."""
    return f"{local(moment):%Y-%m-%dT%H:%M}" if moment is not None else ""


@contextmanager
def travel(delta: timedelta):
    global _offset
    previous = _offset
    _offset = previous + delta
    try:
        yield
    finally:
        _offset = previous


@contextmanager
def frozen(at: datetime):
    """Stop the clock at ``at`` (naive: the site's wall clock; aware: that instant)."""
    global _frozen, _offset
    previous = _frozen, _offset
    _frozen, _offset = from_local(at), timedelta(0)
    try:
        yield
    finally:
        _frozen, _offset = previous
