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
