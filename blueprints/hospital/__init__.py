"""Hospital domain: institutions, personnel and their weekly hours, patient intake, appointments, medical
records and attachments, and pharmacy, lab and radiology orders.

Owns ``medical_institutions``, ``medical_personnel``, ``patients``, ``appointments``,
``medical_records``, ``medical_record_attachments``, ``clinical_orders`` and ``pharmacy_stock``.
Other domains call ``services`` only; fulfilled orders publish ``charge.created`` for billing.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("hospital", __name__)
api_bp = api_blueprint("api_hospital", __name__)


def init_app(app) -> None:
    from blueprints.hospital import services
    from blueprints.hospital.web import (  # noqa: F401 - registers the routes
        appointments_api,
        appointments_views,
        institutions_api,
        orders_api,
        orders_views,
        patients_api,
        patients_views,
        records_api,
        records_views,
        staff_views,
        stock_views,
    )
    from blueprints.hospital.web.views import HOSPITAL_STAFF
    from medcover import jobs, tenants

    tenants.register("institution", names=services.institution_names, resolver=services.institution_id_for_code)
    jobs.every(3600, "blueprints.hospital.jobs:send_appointment_reminders", queue="notifications")
    _add_work(services)
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)

    from blueprints.hospital.services.orders import shows_queues
    from blueprints.hospital.web import lookups
    from medcover.navigation import HOSPITAL, add_lookup, add_nav

    add_nav("Patients", "hospital.patients", HOSPITAL_STAFF, group="Front desk", side=HOSPITAL, order=100)
    add_nav("Appointments", "hospital.appointments", HOSPITAL_STAFF, group="Front desk", side=HOSPITAL, order=110)
    # The work queues follow the records' rule (clinical staff and admins), so only they see the links.
    clinical = {"group": "Clinical", "side": HOSPITAL, "when": shows_queues}
    add_nav("Pharmacy", "hospital.pharmacy", HOSPITAL_STAFF, order=130, **clinical)
    add_nav("Lab", "hospital.lab", HOSPITAL_STAFF, order=140, **clinical)
    add_nav("Radiology", "hospital.radiology", HOSPITAL_STAFF, order=150, **clinical)
    add_nav("Staff", "hospital.staff", HOSPITAL_STAFF, group="Clinical", side=HOSPITAL, order=160)
    add_lookup(lookups.patients_numbered, endpoint="hospital.patient", side=HOSPITAL)
    from medcover.naming import add_namer

    add_namer("patient", lookups.patient_names)
    from blueprints.hospital import cli
    from medcover.demo import add_seed

    app.cli.add_command(cli.hospital_cli)
    add_seed("hospital", cli.seed_step, order=20)


def _add_work(services) -> None:
    """The home page's counts: the front desk's day (the appointments page shows today unless told)."""
    from medcover.rbac import Role
    from medcover.work import HOSPITAL, add_work, add_work_counts

    add_work_counts("hospital", services.work_waiting)
    add_work(
        "hospital",
        "appointments_today",
        "Appointments today",
        hint="Every appointment booked for today, by clinician",
        roles={Role.RECEPTIONIST},
        sides={HOSPITAL},
        endpoint="hospital.appointments",
        order=100,
    )
    add_work(
        "hospital",
        "still_to_arrive",
        "Still to arrive today",
        hint="Booked for today and not yet checked in",
        roles={Role.RECEPTIONIST},
        sides={HOSPITAL},
        endpoint="hospital.appointments",
        params={"status": "booked"},
        order=110,
    )
