"""Insurance domain: insurers, schemes and their benefit terms, premium rates, members and their cover,
pre-authorisations, and coverage verification.

Owns ``companies``, ``schemes``, ``benefit_categories``, ``benefits``, ``scheme_benefits``,
``premium_rates``, ``members``, ``coverages`` and ``preauthorizations``. Other domains call ``services``
and get plain values and frozen dataclasses back.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("insurance", __name__)
api_bp = api_blueprint("api_insurance", __name__)


def init_app(app) -> None:
    from blueprints.insurance import services
    from medcover import tenants

    tenants.register("company", names=services.company_names, resolver=services.company_id_for_code)
    _add_work(services)
    # Importing the route modules registers their routes on the blueprints.
    from blueprints.insurance.web import (  # noqa: F401
        catalogue_api,
        catalogue_views,
        members_api,
        members_views,
        preauthorizations_api,
        preauthorizations_views,
        premiums_api,
        premiums_views,
        schemes_api,
        schemes_views,
        verification_api,
        verification_views,
        views,
    )

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)

    from blueprints.insurance.web import lookups
    from medcover.navigation import INSURER, add_lookup, add_nav
    from medcover.rbac import STAFF

    add_nav("Schemes", "insurance.schemes", views.READERS, group="Insurance", side=INSURER, order=200)
    add_nav("Members", "insurance.members", views.READERS, group="Insurance", side=INSURER, order=210)
    # Both sides: a hospital asks for pre-authorisations and checks cover, the insurer decides and answers.
    add_nav("Pre-authorisations", "insurance.preauthorizations", views.PREAUTH_READERS, group="Insurance", order=220)
    add_nav("Verify cover", "insurance.verify", STAFF, group="Insurance", order=230)
    add_lookup(lookups.members_numbered, endpoint="insurance.member", side=INSURER)
    from medcover.naming import add_namer

    add_namer("coverage", lookups.coverage_names)
    from blueprints.insurance import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.insurance_cli)
    add_seed("insurance", cli.seed_step, order=10)


def _add_work(services) -> None:
    """The home page's counts: pre-authorisations asked for and not yet decided (each side sees its own)."""
    from medcover.rbac import Role
    from medcover.work import HOSPITAL, INSURER, add_work, add_work_counts

    add_work_counts("insurance", services.work_waiting)
    add_work(
        "insurance",
        "preauths_to_decide",
        "Pre-authorisations to decide",
        hint="Asked for by hospitals, waiting for your decision",
        roles={Role.ADJUDICATOR},
        sides={INSURER},
        endpoint="insurance.preauthorizations",
        params={"status": "requested"},
        order=420,
    )
    add_work(
        "insurance",
        "preauths_waiting",
        "Pre-authorisations awaiting the insurer",
        hint="Your hospital's requests not yet decided",
        roles={Role.RECEPTIONIST},
        sides={HOSPITAL},
        endpoint="insurance.preauthorizations",
        params={"status": "requested"},
        order=120,
    )
