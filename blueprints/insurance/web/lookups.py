"""The global search's look-up of members by number (registered with ``medcover.navigation.add_lookup``)."""

from __future__ import annotations

from flask import url_for

from blueprints.insurance.services import members
from medcover.rbac import tenant_of


def members_numbered(user, text: str) -> list[tuple[str, str]]:
    return [
        (f"{member.full_name}, member {member.member_number}", url_for("insurance.member", member_id=member.id))
        for member in members.members_numbered(tenant_of(user), text)
    ]


def coverage_names(ids: set[str]):
    """A member's cover named by the member (``medcover.naming``): "Cover of member JHI-000123, Amina Otieno"."""
    from flask_login import current_user

    from blueprints.insurance.services import coverages
    from medcover.naming import Named, whole_ids

    found = coverages.coverage_summaries(tenant_of(current_user), whole_ids(ids))
    return {
        str(coverage_id): Named(
            f"Cover of member {c.member_number}, {c.member_name}", url_for("insurance.member", member_id=c.member_id)
        )
        for coverage_id, c in found.items()
    }
