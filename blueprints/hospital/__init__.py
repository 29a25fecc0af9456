"""Hospital domain: institutions, personnel, patient intake, appointments, medical records, and
pharmacy, lab and radiology orders.

Owns ``medical_institutions``, ``medical_personnel``, ``patients``, ``appointments``,
``medical_records``, ``medical_record_attachments``, ``clinical_orders`` and ``pharmacy_stock``.
Fulfilled orders publish ``charge.created`` for billing.
"""

from flask import Blueprint

from medcover.api import api_blueprint

bp = Blueprint("hospital", __name__)
api_bp = api_blueprint("api_hospital", __name__)


def init_app(app) -> None:
    from blueprints.hospital import api, order_api, order_views, services, views  # noqa: F401 - registers the routes
    from medcover import jobs, tenants

    tenants.register("institution", names=services.institution_names, resolver=services.institution_id_for_code)
    jobs.every(3600, "blueprints.hospital.jobs:send_appointment_reminders", queue="notifications")
    app.register_blueprint(bp)
    app.register_blueprint(api_bp)

    from medcover.navigation import add_nav

    add_nav("Patients", "hospital.patients", views.HOSPITAL_STAFF, order=100)
    add_nav("Appointments", "hospital.appointments", views.HOSPITAL_STAFF, order=110)
    add_nav("Staff", "hospital.staff", views.HOSPITAL_STAFF, order=120)
    # The queues are the clinical staff's (records.py's rule); the nav can only filter by role, so reception
    # and billing see the links and get a 403 page that says why.
    add_nav("Pharmacy", "hospital.pharmacy", views.HOSPITAL_STAFF, order=130)
    add_nav("Lab", "hospital.lab", views.HOSPITAL_STAFF, order=140)
    add_nav("Radiology", "hospital.radiology", views.HOSPITAL_STAFF, order=150)
