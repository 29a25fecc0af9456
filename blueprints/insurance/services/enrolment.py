"""Enrolment: a principal and their dependants become members and are covered by a scheme, all or nothing."""

from __future__ import annotations

from datetime import date

from blueprints.insurance.models import Member
from blueprints.insurance.services import coverages, members
from medcover.errors import Invalid


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
    # Every field first, so a bad dependant is refused before the principal is written.
    members.member_values(principal)
    for i, details in enumerate(dependants):
        members.member_values(details, f"dependants.{i}.")
    numbers = [(m.member_number or "").strip().upper() for m in [principal, *dependants]]
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
