"""Enrolment: a principal and their dependants become members and are covered by a scheme, all or nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from blueprints.insurance.models import Member
from blueprints.insurance.services import coverages, members, schemes
from medcover.errors import Invalid
from medcover.rbac import tenant_of

#: stands in for a blank member number while the other fields are checked
_PLACEHOLDER = "PENDING-1"


def _numbered(details: members.MemberDetails) -> members.MemberDetails:
    return details if (details.member_number or "").strip() else replace(details, member_number=_PLACEHOLDER)


def enrol(
    *,
    actor,
    company_id: int,
    principal: members.MemberDetails,
    dependants: list[members.MemberDetails],
    scheme_id: int,
    start_date: date,
    end_date: date | None = None,
) -> tuple[Member, list[Member]]:
    """A principal with dependants, each covered by the scheme from the start date: all or nothing."""
    # Every field first, so a bad dependant is refused before the principal is written; a blank member number
    # is checked as the one the insurer's pattern will make.
    members.member_values(_numbered(principal))
    for i, details in enumerate(dependants):
        members.member_values(_numbered(details), f"dependants.{i}.")
    # the cover's terms too: the insurer's own scheme, within its effective dates
    scheme = schemes.scheme_row(tenant_of(actor), scheme_id)
    coverages.cover_terms(scheme, company_id, start_date, end_date)
    numbers = [(m.member_number or "").strip().upper() for m in [principal, *dependants]]
    numbers = [n for n in numbers if n]
    if len(set(numbers)) != len(numbers):
        raise Invalid.field("dependants", "Every member needs a different member number.")
    head = members.create_member(actor=actor, company_id=company_id, details=principal)
    family = [
        members.create_member(
            actor=actor,
            company_id=company_id,
            details=d,
            principal_number=head.member_number,
            prefix=f"dependants.{i}.",
        )
        for i, d in enumerate(dependants)
    ]
    for member in [head, *family]:
        coverages.create_coverage(
            actor=actor,
            member_number=member.member_number,
            scheme_id=scheme_id,
            start_date=start_date,
            end_date=end_date,
        )
    return head, family
