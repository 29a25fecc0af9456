"""``flask users ...`` and the core part of ``flask seed-demo``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from blueprints.core import services
from blueprints.core.models import User
from medcover import jobs, tenants
from medcover.demo import add_seed_command
from medcover.errors import DomainError
from medcover.extensions import db
from medcover.rbac import Role

users_cli = click.Group("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--password", envvar="MEDCOVER_PASSWORD", help="Or set MEDCOVER_PASSWORD; prompted when missing.")
@click.option("--name", "full_name", help="Full name (default: the email's name part).")
@click.option("--institution", help="Institution code, for hospital staff.")
@click.option("--company", help="Insurance company code, for insurer staff.")
@with_appcontext
def create_command(email, role, password, full_name, institution, company):
    """Create a user, e.g. the first admin."""
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    institution_id = _tenant("institution", institution)
    company_id = _tenant("company", company)
    try:
        user = services.create_user(
            actor=None,
            email=email,
            full_name=full_name or email.split("@")[0],
            role=role,
            password=password,
            institution_id=institution_id,
            company_id=company_id,
        )
    except DomainError as exc:
        db.session.rollback()
        messages = [f"{k}: {' '.join(v)}" for k, v in exc.errors.items()] or [exc.detail]
        raise click.ClickException("; ".join(messages)) from None
    db.session.commit()
    jobs.run_ready()
    click.echo(f"Created {user.email} ({user.role.value}).")


def _tenant(kind: str, code: str | None) -> int | None:
    if not code:
        return None
    ident = tenants.id_for_code(kind, code)
    if ident is None:
        raise click.ClickException(f"No {kind} with code {code!r}.")
    return ident


@dataclass
class DemoLogins:
    password: str
    emails: dict[str, str] = field(default_factory=dict)


DEMO_PASSWORD = "Demo-pass-2026"  # noqa: S105 - printed on purpose: these are demo accounts


def seed_demo(*, if_empty: bool, institution_ids=(1, 2), company_ids=(1, 2)) -> DemoLogins | None:
    """One user per role (hospital staff at the first institution, insurer staff at the first company)."""
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        return None
    people = [
        ("admin@medcover.demo", "Ada Admin", Role.ADMIN, None, None),
        ("reception@medcover.demo", "Rita Reception", Role.RECEPTIONIST, institution_ids[0], None),
        ("billing@medcover.demo", "Bill Clerk", Role.BILLING_CLERK, institution_ids[0], None),
        ("adjudicator@medcover.demo", "Adi Adjudicator", Role.ADJUDICATOR, None, company_ids[0]),
        ("finance@medcover.demo", "Fin Officer", Role.FINANCE_OFFICER, None, company_ids[0]),
        ("auditor@medcover.demo", "Audrey Auditor", Role.AUDITOR, None, None),
        ("integration@medcover.demo", "Hospital Integration", Role.INTEGRATION, institution_ids[0], None),
        ("reception2@medcover.demo", "Rex Reception", Role.RECEPTIONIST, institution_ids[1], None),
        ("adjudicator2@medcover.demo", "Ama Adjudicator", Role.ADJUDICATOR, None, company_ids[1]),
    ]
    logins = DemoLogins(password=os.environ.get("MEDCOVER_DEMO_PASSWORD", DEMO_PASSWORD))
    for email, name, role, institution_id, company_id in people:
        if db.session.scalar(select(User.id).where(User.email == email)) is None:
            services.create_user(
                actor=None,
                email=email,
                full_name=name,
                role=role,
                password=logins.password,
                institution_id=institution_id,
                company_id=company_id,
            )
        logins.emails.setdefault(role.value, email)
    return logins


def seed_step(world: dict, if_empty: bool) -> str | None:
    """One account per role, at the demo insurers and hospitals; the logins are printed last."""
    world["logins"] = seed_demo(
        if_empty=if_empty,
        company_ids=world.get("company_ids", (1, 2)),
        institution_ids=world.get("institution_ids", (1, 2)),
    )
    return None


add_seed_command(users_cli, seed_step)
