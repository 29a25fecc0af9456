"""Members: principals and their dependants, enrolled with one insurer; and the reads other domains make
of them (names by number, summaries by id, the demo seed's list)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy import bindparam, func, or_, select

from blueprints.core import services as core
from blueprints.insurance.models import Member
from blueprints.insurance.services import numbering
from blueprints.insurance.services.checks import check_writer, owned_company, valid_name
from medcover import clock
from medcover.audit import snapshot
from medcover.bulk import among_param
from medcover.errors import Conflict, Hidden, Invalid, NotFound
from medcover.extensions import db
from medcover.paging import plain_rows
from medcover.rbac import Tenant, scope

MEMBER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,29}$")
GENDERS = ("female", "male", "other", "unknown")
MEMBER_FIELDS = (
    "member_number",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "principal_id",
    "email",
    "phone",
)


@dataclass(frozen=True)
class MemberSummary:
    """A member as other domains see them."""

    id: int
    member_number: str
    company_id: int
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    phone: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


#: a MemberSummary's columns, in its fields' order: batch reads build summaries from rows, not whole members
_SUMMARY_COLUMNS = (
    Member.id,
    Member.member_number,
    Member.company_id,
    Member.first_name,
    Member.last_name,
    Member.date_of_birth,
    Member.gender,
    Member.phone,
)
#: made once, as an insurer's pages name their rows' members by them (a new statement costs its cache key again)
_SUMMARIES_BY_ID = select(*_SUMMARY_COLUMNS).where(among_param(Member.id, "ids"))
_COMPANY_SUMMARIES_BY_ID = _SUMMARIES_BY_ID.where(Member.company_id == bindparam("company_id"))


def _summary(member: Member) -> MemberSummary:
    return MemberSummary(
        member.id,
        member.member_number,
        member.company_id,
        member.first_name,
        member.last_name,
        member.date_of_birth,
        member.gender,
        member.phone,
    )


@dataclass
class MemberDetails:
    member_number: str
    first_name: str
    last_name: str
    date_of_birth: date
    gender: str
    email: str | None = None
    phone: str | None = None


def member_values(details: MemberDetails, prefix: str = "") -> dict:
    number = (details.member_number or "").strip().upper()
    if not MEMBER_NUMBER.match(number):
        raise Invalid.field(prefix + "member_number", "Use 1 to 30 letters, digits, / . _ or -.")
    if not isinstance(details.date_of_birth, date):
        raise Invalid.field(prefix + "date_of_birth", "Enter a date (YYYY-MM-DD).")
    if details.date_of_birth > clock.today() or details.date_of_birth.year < 1900:
        raise Invalid.field(prefix + "date_of_birth", "Enter a real date of birth.")
    gender = (details.gender or "").strip().lower()
    if gender not in GENDERS:
        raise Invalid.field(prefix + "gender", "Choose female, male, other or unknown.")
    email = (details.email or "").strip().lower() or None
    if email and (len(email) > 254 or not re.fullmatch(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+", email)):
        raise Invalid.field(prefix + "email", "Enter a valid email address.")
    phone = (details.phone or "").replace(" ", "") or None
    if phone and not re.fullmatch(r"\+?[0-9]{7,15}", phone):
        raise Invalid.field(prefix + "phone", "Use 7 to 15 digits, with an optional +.")
    return {
        "member_number": number,
        "first_name": valid_name(details.first_name, prefix + "first_name", 80),
        "last_name": valid_name(details.last_name, prefix + "last_name", 80),
        "date_of_birth": details.date_of_birth,
        "gender": gender,
        "email": email,
        "phone": phone,
    }


def create_member(
    *, actor, company_id: int, details: MemberDetails, principal_number: str | None = None, prefix: str = ""
) -> Member:
    company = owned_company(actor, company_id)
    check_writer(actor, company.id)
    if not (details.member_number or "").strip():  # left blank: the next from the insurer's pattern
        details = replace(details, member_number=numbering.next_member_number(company))
    values = member_values(details, prefix)
    principal_id = None
    if principal_number:
        principal = db.session.scalar(select(Member).where(Member.member_number == principal_number.strip().upper()))
        if principal is None or principal.company_id != company.id:
            raise Invalid.field(prefix + "principal_member_number", "No principal member with that number.")
        if principal.principal_id is not None:
            raise Invalid.field(prefix + "principal_member_number", "A dependant cannot have dependants.")
        principal_id = principal.id
    if db.session.scalar(select(Member.id).where(Member.member_number == values["member_number"])):
        raise Conflict("That member number is taken.", {prefix + "member_number": ["Another member has this number."]})
    member = Member(company_id=company.id, principal_id=principal_id, **values)
    db.session.add(member)
    db.session.flush()
    core.record_audit(
        actor, "create", "member", member.id, after=snapshot(member, ("member_number",)), company_id=company.id
    )
    return member


# --- reads ---------------------------------------------------------------------------------------


def member_row(tenant: Tenant, member_id: int) -> Member:
    """The table row, for the insurance domain's own pages and endpoints."""
    member = db.session.get(Member, member_id) if member_id else None
    if member is None:
        raise NotFound("No such member.")
    if not tenant.owns(None, member.company_id):
        raise Hidden("No such member.", record=f"member {member.id}")
    return member


def get_member(tenant: Tenant, member_id: int) -> MemberSummary:
    return _summary(member_row(tenant, member_id))


def members_by_id(tenant: Tenant, ids) -> list[MemberSummary]:
    """Batch form: the tenant's members among ``ids``, in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return []
    if tenant.company_id is not None:  # what scope() keeps of members for an insurer: its own
        found = plain_rows(_COMPANY_SUMMARIES_BY_ID, {"ids": sorted(ids), "company_id": tenant.company_id})
    else:
        found = plain_rows(scope(_SUMMARIES_BY_ID, Member, tenant), {"ids": sorted(ids)})
    return [MemberSummary(*row) for row in found]


def audit_member_read(actor, member: Member, what: str) -> None:
    """One read entry for a member's details shown to someone: the member number, nothing else about them."""
    core.record_audit(
        actor,
        "read",
        "member",
        member.id,
        summary=f"{what}: member {member.member_number}",
        company_id=member.company_id,
    )


def member_row_by_number(tenant: Tenant, member_number: str) -> Member:
    """The table row, for the insurance domain's own writes."""
    member = db.session.scalar(select(Member).where(Member.member_number == (member_number or "").strip().upper()))
    if member is None:
        raise NotFound("No such member.")
    if not tenant.owns(None, member.company_id):
        raise Hidden("No such member.", record=f"member {member.id}")
    return member


def member_by_number(tenant: Tenant, member_number: str) -> MemberSummary:
    return _summary(member_row_by_number(tenant, member_number))


def members_numbered(tenant: Tenant, number: str) -> list[MemberSummary]:
    """The global search's read: the tenant's member with exactly this number, in any case (one query on the
    unique number)."""
    number = (number or "").strip().upper()
    if not number or len(number) > 30:
        return []
    stmt = scope(select(Member), Member, tenant).where(Member.member_number == number)
    return [_summary(m) for m in db.session.scalars(stmt)]


def members_query(tenant: Tenant, search: str = ""):
    stmt = scope(select(Member), Member, tenant).order_by(Member.last_name, Member.first_name, Member.id)
    search = (search or "").strip().lower()[:60]
    if search:
        stmt = stmt.where(
            or_(
                Member.member_number.like(search.upper() + "%"),
                func.lower(Member.last_name).like(search + "%"),
                func.lower(Member.first_name).like(search + "%"),
            )
        )
    return stmt


def dependants_of(member_id: int) -> list[Member]:
    return list(db.session.scalars(select(Member).where(Member.principal_id == member_id).order_by(Member.id)))


def member_numbers_by_id(ids) -> dict[int, str]:
    """Batch form: member numbers by member id, in one query."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return dict(db.session.execute(select(Member.id, Member.member_number).where(Member.id.in_(ids))).all())


def member_names(tenant: Tenant, member_numbers) -> dict[str, str]:
    """Batch form: "First Last" by member number, for the tenant's members among ``member_numbers``."""
    numbers = {n for n in member_numbers if n}
    if not numbers:
        return {}
    stmt = scope(select(Member.member_number, Member.first_name, Member.last_name), Member, tenant)
    return {
        number: f"{first} {last}"
        for number, first, last in db.session.execute(stmt.where(Member.member_number.in_(numbers)))
    }


def members_for_seed() -> list[MemberSummary]:
    """Every member, by name (the hospital demo seed makes patients of some of them)."""
    return [_summary(m) for m in db.session.scalars(members_query(Tenant(None, None)))]
