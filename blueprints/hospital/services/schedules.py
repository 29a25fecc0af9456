"""Weekly working hours of the hospital's personnel: the shape, its validation and the audited change.

The shape is ``{"mon": [["08:00", "13:00"], ["14:00", "17:00"]], "sat": [["09:00", "12:00"]]}``: for each
weekday (``mon`` .. ``sun``) a list of [start, end] intervals in 24-hour HH:MM, in time order, none
overlapping; a day left out is a day off. A night shift is written as two intervals on two days.

Personnel created before this shape existed (and ``create_personnel``, which keeps its older form) store
one shift per day as a bare pair, ``{"mon": ["08:00", "16:00"]}``. Both are read by ``shifts``; every change
made through ``set_schedule`` stores the list form.
"""

from __future__ import annotations

import re

from blueprints.core import services as core
from blueprints.hospital.models import MedicalPersonnel
from blueprints.hospital.services import institutions, personnel
from medcover.audit import json_safe
from medcover.errors import Invalid
from medcover.extensions import db
from medcover.rbac import tenant_of

WEEKDAYS = personnel.WEEKDAYS
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}
MAX_INTERVALS = 4
HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
SHAPE = 'Give hours per weekday, e.g. {"mon": [["08:00", "13:00"], ["14:00", "17:00"]]}.'


def _is_pair(value) -> bool:
    return isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value)


def _day_intervals(day: str, hours) -> list[list[str]]:
    field = f"schedule.{day}"
    if not isinstance(hours, list | tuple):
        raise Invalid.field(field, "Give the day's hours as a list of [start, end] intervals.")
    # One bare [start, end] pair is the older one-shift form: accepted as one interval.
    intervals = [hours] if _is_pair(hours) else list(hours)
    if len(intervals) > MAX_INTERVALS:
        raise Invalid.field(field, f"Give at most {MAX_INTERVALS} intervals a day.")
    clean: list[list[str]] = []
    for interval in intervals:
        if not _is_pair(interval):
            raise Invalid.field(field, "Each interval is a start and an end, e.g. 08:00-13:00.")
        start, end = (str(t).strip() for t in interval)
        if not (HHMM.fullmatch(start) and HHMM.fullmatch(end)):
            raise Invalid.field(field, "Times are HH:MM on the 24-hour clock, e.g. 08:00 or 17:30.")
        if end <= start:
            raise Invalid.field(field, f"{start}-{end} ends before it starts.")
        clean.append([start, end])
    clean.sort()
    for (first_start, first_end), (second_start, second_end) in zip(clean, clean[1:], strict=False):
        if second_start < first_end:
            raise Invalid.field(field, f"{first_start}-{first_end} overlaps {second_start}-{second_end}.")
    return clean


def weekly_schedule(value) -> dict[str, list[list[str]]]:
    """A schedule checked and put in the list form, weekdays in week order; days with no hours dropped."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid.field("schedule", SHAPE)
    unknown = [str(day) for day in value if day not in WEEKDAYS]
    if unknown:
        raise Invalid.field("schedule", f"{unknown[0][:10]!r} is not a weekday; use mon, tue, ... sun.")
    errors: dict[str, list[str]] = {}
    clean: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        if day not in value:
            continue
        try:
            intervals = _day_intervals(day, value[day])
        except Invalid as exc:
            for name, messages in exc.errors.items():
                errors.setdefault(name, []).extend(messages)
            continue
        if intervals:
            clean[day] = intervals
    if errors:
        raise Invalid("The schedule has mistakes.", errors)
    return clean


def shifts(schedule) -> dict[str, list[tuple[str, str]]]:
    """The stored schedule, in either form, as intervals per weekday (all seven days, off days empty)."""
    week: dict[str, list[tuple[str, str]]] = {day: [] for day in WEEKDAYS}
    for day, hours in (schedule or {}).items():
        if day not in week or not isinstance(hours, list | tuple):
            continue
        intervals = [hours] if _is_pair(hours) else hours
        week[day] = sorted((str(i[0]), str(i[1])) for i in intervals if _is_pair(i))
    return week


def set_schedule(*, actor, personnel_id: int, schedule) -> MedicalPersonnel:
    """Replace a staff member's weekly hours (admins of the institution); audited with before and after."""
    row = personnel.get_personnel(tenant_of(actor), personnel_id)
    institutions.institution_for_write(actor, row.institution_id)
    clean = weekly_schedule(schedule)
    before = json_safe(row.schedule or {})  # as stored, in whichever form it was
    row.schedule = clean
    db.session.flush()
    core.record_audit(
        actor,
        "update",
        "personnel",
        row.id,
        before={"schedule": before},
        after={"schedule": clean},
        institution_id=row.institution_id,
    )
    return row
