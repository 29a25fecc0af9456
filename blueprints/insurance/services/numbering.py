"""Member numbers made from the insurer's pattern when enrolment leaves them blank: ``{code}`` is the company's
code and ``{seq}`` its next sequence number (``"{code}-{seq:06d}"`` gives ``ACME-000042``). The sequence is bumped
in one UPDATE, so on PostgreSQL two enrolments at once wait on the company's row and never get the same number;
a number someone typed by hand is skipped."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from blueprints.insurance.models import Company, Member
from medcover.errors import Conflict, Invalid
from medcover.extensions import db

DEFAULT_PATTERN = "{code}-{seq:06d}"
MEMBER_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/_.-]{0,29}$")
#: numbers tried past ones already typed by hand before giving up
TRIES = 100


def format_member_number(pattern: str, code: str, seq: int, field: str = "member_number_pattern") -> str:
    """The member number ``pattern`` makes for sequence number ``seq``; 422 for a pattern that can't make one."""
    if "{seq" not in (pattern or ""):
        raise Invalid.field(field, 'The pattern needs {seq}, e.g. "{code}-{seq:06d}".')
    try:
        number = pattern.format(code=code, seq=seq).strip().upper()
    except (KeyError, IndexError, ValueError, AttributeError):
        raise Invalid.field(field, 'Use only {code} and {seq} (e.g. "{code}-{seq:06d}").') from None
    if not MEMBER_NUMBER.match(number):
        raise Invalid.field(field, "The pattern must make 1 to 30 letters, digits, / . _ or -.")
    return number


def valid_pattern(pattern: str | None, code: str) -> str | None:
    """A pattern as stored (None: the default), checked by making a number with it."""
    pattern = (pattern or "").strip() or None
    if pattern is not None:
        if len(pattern) > 60:
            raise Invalid.field("member_number_pattern", "Use at most 60 characters.")
        format_member_number(pattern, code, 1)
    return pattern


def next_member_number(company: Company) -> str:
    """The company's next member number from its pattern (numbers already taken are skipped)."""
    pattern = company.member_number_pattern or DEFAULT_PATTERN
    for _ in range(TRIES):
        seq = db.session.execute(
            update(Company)
            .where(Company.id == company.id)
            .values(member_sequence=Company.member_sequence + 1)
            .returning(Company.member_sequence),
            execution_options={"synchronize_session": False},
        ).scalar_one()
        number = format_member_number(pattern, company.code, seq)
        if db.session.scalar(select(Member.id).where(Member.member_number == number)) is None:
            return number
    raise Conflict("Could not make a free member number from the pattern; type one.", {"member_number": ["Type one."]})
