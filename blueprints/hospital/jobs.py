"""Hospital jobs: appointment reminders a day ahead (scheduled hourly by ``flask scheduler``)."""

from blueprints.hospital import services
from medcover.extensions import db


def send_appointment_reminders() -> int:
    count = services.send_reminders()
    db.session.commit()
    return count
