"""The demo world: each domain registers its own seed step; ``flask seed-demo`` runs them in order.

A step takes the world built so far (ids the earlier steps made, e.g. ``company_ids``), adds what later steps
need, and answers a line for the person at the terminal (None when it made nothing). The platform knows no
domain: the order is each step's ``order`` (insurers before hospitals before staff before billing ...).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import click
from flask.cli import with_appcontext

#: a step: (world, if_empty) -> the line to print, or None when it seeded nothing
Step = Callable[[dict, bool], str | None]


@dataclass(frozen=True)
class Seed:
    name: str
    order: int
    step: Step


_seeds: dict[str, Seed] = {}


def add_seed(name: str, step: Step, *, order: int) -> None:
    """Register a domain's demo seed (idempotent: the app factory may run more than once)."""
    _seeds[name] = Seed(name, order, step)


def seed_world(*, if_empty: bool) -> tuple[dict, list[str]]:
    """Run every registered step in order; the world they built and the lines they printed."""
    from medcover import jobs
    from medcover.extensions import db

    world: dict = {}
    lines = []
    for seed in sorted(_seeds.values(), key=lambda s: s.order):
        started = time.perf_counter()
        line = seed.step(world, if_empty)
        if line:
            lines.append(f"{line} in {time.perf_counter() - started:.1f} s.")
    db.session.commit()
    jobs.run_ready()
    return world, lines


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when users already exist.")
@with_appcontext
def seed_demo_command(if_empty: bool):
    """Load the demo world and print one login per role."""
    world, lines = seed_world(if_empty=if_empty)
    for line in lines:
        click.echo(line)
    logins = world.get("logins")
    if logins is None:
        click.echo("Demo data already loaded.")
        return
    click.echo(f"Demo logins (password for all: {logins.password})")
    for role, email in logins.emails.items():
        click.echo(f"  {role:<16} {email}")


def add_seed_command(group: click.Group, step: Step) -> click.Group:
    """Give a domain's command group ``seed-demo``: its own step alone, on whatever the database holds."""

    @group.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Do nothing when this domain's demo data exists.")
    @with_appcontext
    def seed_one(if_empty: bool):
        """Load this domain's part of the demo world (the domains below it first: flask seed-demo)."""
        from medcover import jobs
        from medcover.extensions import db

        started = time.perf_counter()
        line = step({}, if_empty)
        db.session.commit()
        jobs.run_ready()
        click.echo(f"{line} in {time.perf_counter() - started:.1f} s." if line else "Nothing to add.")

    return group
