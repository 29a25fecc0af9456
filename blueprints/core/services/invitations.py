"""Invitations: an admin names the email and role, the person chooses their name and password by the link."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from blueprints.core.models import Invitation, User
from blueprints.core.services.audit import record_audit
from blueprints.core.services.secret_tokens import new_token, token_hash
from blueprints.core.services.users import check_email, check_may_manage, check_tenant, create_user, parse_role
from medcover import clock
from medcover.errors import Conflict, Invalid
from medcover.extensions import db
from medcover.rbac import Role


def invite_user(
    *, actor: User, email: str, role: Role | str, institution_id: int | None, company_id: int | None, register_url
) -> Invitation:
    role = parse_role(role)
    email = check_email(email)
    check_tenant(role, institution_id, company_id)
    check_may_manage(actor, institution_id, company_id, role)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict("A user with this email already exists.", {"email": ["This email is already in use."]})
    token = new_token()
    invitation = Invitation(
        email=email,
        role=role,
        institution_id=institution_id,
        company_id=company_id,
        token_hash=token_hash(token),
        invited_by_id=actor.id,
        expires_at=clock.now() + timedelta(days=7),
    )
    db.session.add(invitation)
    db.session.flush()
    record_audit(
        actor,
        "invite",
        "user_invitation",
        invitation.id,
        after={"email": email, "role": role.value},
        institution_id=institution_id,
        company_id=company_id,
    )
    from medcover import jobs, mail

    body = (
        f"{actor.full_name} invited you to MedCover as {role.label}.\n\n"
        f"Open this link within 7 days to choose your name and password:\n\n{register_url(token)}\n"
    )
    jobs.enqueue(
        mail.send_email,
        to=email,
        subject="Your MedCover invitation",
        body=body,
        queue="notifications",
        inline_fallback=True,
    )
    return invitation


def invitation_for(token: str) -> Invitation | None:
    row = db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token or "")))
    if row is None or row.accepted_at is not None or row.expires_at <= clock.now():
        return None
    return row


def accept_invitation(token: str, *, full_name: str, password: str) -> User:
    invitation = invitation_for(token)
    if invitation is None:
        raise Invalid.field("token", "This invitation has expired or was already used.")
    user = create_user(
        actor=None,
        email=invitation.email,
        full_name=full_name,
        role=invitation.role,
        password=password,
        institution_id=invitation.institution_id,
        company_id=invitation.company_id,
    )
    invitation.accepted_at = clock.now()
    db.session.flush()
    return user
