"""The hospital part of ``flask seed-demo``: two hospitals with departments and staff, a thousand patients
(most of the insured ones members of the insurance demo, so cover checks answer) and a week of appointments.

Deterministic (``random.Random(2026)``) apart from the dates, which follow ``clock.today()``; written in
bulk, without the services' per-row audit entries, so it stays fast. Clinic hours are read on the site's clock, as the
day view reads them. The CLI command commits.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

import click
from sqlalchemy import func, select

from blueprints.hospital.models import (
    Appointment,
    AppointmentStatus,
    MedicalInstitution,
    MedicalPersonnel,
    Patient,
    PersonnelKind,
)
from blueprints.hospital.services import WEEKDAYS, cover_for, search_key
from blueprints.insurance import services as insurance
from medcover import clock
from medcover.demo import add_seed_command
from medcover.extensions import db

#: code -> (name, phone, address, patients)
HOSPITALS = {
    "RGH": ("Riverside General Hospital", "0202345678", "Riverside Drive, Nairobi", 550),
    "HMC": ("Highlands Medical Centre", "0512101234", "Kenyatta Avenue, Nakuru", 450),
}
DEPARTMENTS = ("Outpatient", "Paediatrics", "Maternity", "Surgery", "Radiology", "Laboratory", "Pharmacy")
#: (kind, department, specialty, licence prefix, room prefix) per staff member of each hospital
STAFF = [
    (PersonnelKind.CLINICIAN, "Outpatient", "General practice", "KMPDC/A", "OPD"),
    (PersonnelKind.CLINICIAN, "Outpatient", "General practice", "KMPDC/A", "OPD"),
    (PersonnelKind.CLINICIAN, "Outpatient", "Internal medicine", "KMPDC/A", "OPD"),
    (PersonnelKind.CLINICIAN, "Paediatrics", "Paediatrics", "KMPDC/A", "PAED"),
    (PersonnelKind.CLINICIAN, "Paediatrics", "Paediatrics", "KMPDC/A", "PAED"),
    (PersonnelKind.CLINICIAN, "Maternity", "Obstetrics and gynaecology", "KMPDC/A", "MAT"),
    (PersonnelKind.CLINICIAN, "Surgery", "General surgery", "KMPDC/A", "SURG"),
    (PersonnelKind.CLINICIAN, "Radiology", "Radiology", "KMPDC/A", "RAD"),
    (PersonnelKind.NURSE, "Outpatient", "Triage", "NCK/", None),
    (PersonnelKind.NURSE, "Paediatrics", None, "NCK/", None),
    (PersonnelKind.NURSE, "Maternity", "Midwifery", "NCK/", None),
    (PersonnelKind.NURSE, "Surgery", "Theatre", "NCK/", None),
    (PersonnelKind.PHARMACIST, "Pharmacy", None, "PPB/P", None),
    (PersonnelKind.LAB_TECHNICIAN, "Laboratory", None, "KMLTTB/", None),
    (PersonnelKind.LAB_TECHNICIAN, "Laboratory", None, "KMLTTB/", None),
    (PersonnelKind.RADIOGRAPHER, "Radiology", None, "SRK/", None),
    (PersonnelKind.STAFF, "Outpatient", "Medical records", None, None),
]
#: weekly hours a clinician may keep; one is drawn per clinician
SHIFTS = [
    {day: ["08:00", "17:00"] for day in WEEKDAYS[:5]},
    {day: ["08:00", "16:00"] for day in WEEKDAYS[:5]} | {"sat": ["09:00", "13:00"]},
    {day: ["09:00", "18:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    {day: ["07:00", "15:00"] for day in ("mon", "wed", "fri", "sat")},
    {day: ["10:00", "19:00"] for day in ("tue", "thu", "sat", "sun")},
]
FIRST_NAMES = {
    "female": [
        "Achieng", "Akinyi", "Amina", "Atieno", "Auma", "Chebet", "Esther", "Faith", "Grace", "Halima",
        "Imani", "Jepchirchir", "Joy", "Lilian", "Mercy", "Nafula", "Neema", "Njeri", "Nyokabi", "Rehema",
        "Wairimu", "Wambui", "Wanjiku", "Wanjiru", "Zawadi", "Zuhura", "Cherono", "Nekesa", "Makena", "Nasimiyu",
    ],
    "male": [
        "Abdi", "Baraka", "Brian", "Daudi", "Hassan", "Juma", "Kamau", "Kevin", "Kibet", "Kiprono",
        "Kipchoge", "Mutua", "Mwangi", "Njoroge", "Ochieng", "Odhiambo", "Omondi", "Otieno", "Rashid", "Simiyu",
        "Wafula", "Wekesa", "Kiptoo", "Macharia", "Onyango", "Mugo", "Kariuki", "Barasa", "Musa", "Tumaini",
    ],
}  # fmt: skip
LAST_NAMES = [
    "Abdi", "Achieng", "Adongo", "Auma", "Barasa", "Chebet", "Cheruiyot", "Gathoni", "Githinji", "Hassan",
    "Kamau", "Kariuki", "Kibet", "Kimani", "Kiplagat", "Kiprotich", "Koech", "Langat", "Maina", "Mohamed",
    "Muriuki", "Mutai", "Mutiso", "Mutua", "Mwangi", "Mwende", "Ndungu", "Njoroge", "Nyambura", "Nyaga",
    "Ochieng", "Odhiambo", "Okoth", "Omondi", "Onyango", "Opiyo", "Otieno", "Owino", "Rotich", "Ruto",
    "Too", "Wafula", "Wambua", "Wanjala", "Wanyama", "Wekesa", "Were", "Juma", "Mwakio", "Nduta",
]  # fmt: skip
INSURED_SHARE = 0.6
SLOT_MINUTES = 20
#: days before today with finished appointments, so the week has some history whatever the hour
HISTORY_DAYS = 2
#: share of a clinician's slots that are booked in the demo week
FILL = 0.45
REASONS = [
    "Fever and cough",
    "Follow-up visit",
    "Antenatal check",
    "Blood pressure review",
    "Headache",
    "Child immunisation",
    "Abdominal pain",
    "Wound dressing",
    "Diabetes review",
    None,
]


def _at(day: date, hhmm: str) -> datetime:
    return clock.from_local(datetime.combine(day, time.fromisoformat(hhmm)))


def _institutions() -> list[MedicalInstitution]:
    rows = [
        MedicalInstitution(code=code, name=name, kind="hospital", phone=phone, address=address, active=True)
        for code, (name, phone, address, _patients) in HOSPITALS.items()
    ]
    db.session.add_all(rows)
    db.session.flush()
    return rows


def _staff(rng: random.Random, institution: MedicalInstitution, serial: int) -> list[MedicalPersonnel]:
    rows, rooms = [], {}
    for n, (kind, department, specialty, licence_prefix, room_prefix) in enumerate(STAFF, start=1):
        gender = rng.choice(("female", "male"))
        name = f"{rng.choice(FIRST_NAMES[gender])} {rng.choice(LAST_NAMES)}"
        clinician = kind is PersonnelKind.CLINICIAN
        if room_prefix:
            rooms[room_prefix] = rooms.get(room_prefix, 0) + 1
        rows.append(
            MedicalPersonnel(
                institution_id=institution.id,
                full_name=f"Dr {name}" if clinician else name,
                kind=kind,
                department=department,
                specialty=specialty,
                licence_number=f"{licence_prefix}{serial + n:05d}" if licence_prefix else None,
                schedule=dict(rng.choice(SHIFTS)) if clinician else dict(SHIFTS[0]),
                active=True,
            )
        )
        # the clinician's own consulting room (not a column: the appointments carry it), so no two share one
        rows[-1].room = f"{room_prefix} {rooms[room_prefix]}" if room_prefix else None
    db.session.add_all(rows)
    return rows


def _members() -> list:
    """The insurance demo's members, when insurance was seeded."""
    return insurance.members_for_seed()


def _patients(rng: random.Random, institution: MedicalInstitution, count: int, members: list, today: date) -> list:
    insured = rng.sample(members, min(len(members), round(count * INSURED_SHARE)))
    national_ids = rng.sample(range(20_000_000, 39_999_999), count)
    rows = []
    for n in range(count):
        member = insured[n] if n < len(insured) else None
        if member is not None:
            first, last, born, gender = member.first_name, member.last_name, member.date_of_birth, member.gender
        else:
            gender = rng.choice(("female", "male"))
            first, last = rng.choice(FIRST_NAMES[gender]), rng.choice(LAST_NAMES)
            born = today - timedelta(days=rng.randint(30, 85 * 365))
        adult = (today - born).days >= 18 * 365
        phone = (member.phone or "").lstrip("+") if member is not None else ""
        if not phone and rng.random() < 0.9:
            phone = f"2547{rng.randint(10_000_000, 99_999_999)}"
        rows.append(
            Patient(
                institution_id=institution.id,
                patient_number=f"{institution.code}-{n + 1:06d}",
                first_name=first,
                last_name=last,
                first_name_key=search_key(first),
                last_name_key=search_key(last),
                date_of_birth=born,
                gender=gender,
                phone=phone or None,
                email=f"{search_key(first)}.{search_key(last)}{n}@example.com" if rng.random() < 0.3 else None,
                national_id=str(national_ids[n]) if adult else None,
                member_number=member.member_number if member is not None else None,
            )
        )
    rng.shuffle(rows)  # insured and uninsured mixed in registration order
    for n, row in enumerate(rows, start=1):
        row.patient_number = f"{institution.code}-{n:06d}"
    db.session.add_all(rows)
    return rows


def _week(rng: random.Random, institution, staff, patients, now: datetime) -> list[Appointment]:
    """A week of appointments from today (and two days before), inside each clinician's hours: past slots
    are done (or missed), the hour before now is being checked in, later ones booked, a few cancelled."""
    rows, busy = [], set()
    for clinician in (s for s in staff if s.kind is PersonnelKind.CLINICIAN):
        for offset in range(-HISTORY_DAYS, 7):
            day = clock.local_date(now) + timedelta(days=offset)
            hours = clinician.schedule.get(WEEKDAYS[day.weekday()])
            if not hours:
                continue
            slot, end = _at(day, hours[0]), _at(day, hours[1])
            while slot + timedelta(minutes=SLOT_MINUTES) <= end:
                starts, slot = slot, slot + timedelta(minutes=SLOT_MINUTES)
                if rng.random() > FILL:
                    continue
                patient = rng.choice(patients)
                if (patient.id, starts) in busy:  # one patient, two clinicians, same time: skip the slot
                    continue
                busy.add((patient.id, starts))
                if starts + timedelta(minutes=SLOT_MINUTES) <= now - timedelta(hours=1):
                    status = AppointmentStatus.COMPLETED if rng.random() < 0.85 else AppointmentStatus.NO_SHOW
                elif starts <= now:
                    status = AppointmentStatus.CHECKED_IN
                else:
                    status = AppointmentStatus.CANCELLED if rng.random() < 0.05 else AppointmentStatus.BOOKED
                rows.append(
                    Appointment(
                        institution_id=institution.id,
                        patient_id=patient.id,
                        personnel_id=clinician.id,
                        department=clinician.department,
                        room=clinician.room,
                        starts_at=starts,
                        ends_at=starts + timedelta(minutes=SLOT_MINUTES),
                        status=status,
                        reason=rng.choice(REASONS),
                        cancel_reason="Patient asked to rebook." if status is AppointmentStatus.CANCELLED else None,
                        created_at=now - timedelta(days=rng.randint(1, 14)),
                    )
                )
    return rows


def _check_in(rows: list[Appointment], patients: dict[int, Patient], now: datetime) -> None:
    """Today's arrivals carry the cover check of the day, as a real check-in would record it."""
    verdicts = {}
    for row in rows:
        if row.status not in (AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED) or row.starts_at > now:
            continue
        patient = patients[row.patient_id]
        if patient.member_number not in verdicts:
            verdicts[patient.member_number] = (
                cover_for(patient, clock.local_date(now)) if patient.member_number else None
            )
        verdict = verdicts[patient.member_number]
        row.coverage_checked_at = row.starts_at - timedelta(minutes=10)
        row.coverage_eligible = verdict.eligible if verdict else None
        row.coverage_reasons = list(verdict.reason_codes) if verdict else None


def seed_demo(*, if_empty: bool) -> dict:
    """Create the demo hospitals and their world; nothing when they (or, with ``if_empty``, any institution)
    exist. Returns ``institution_ids`` (the two hospitals, for the demo staff accounts) and counts."""
    existing = dict(
        db.session.execute(
            select(MedicalInstitution.code, MedicalInstitution.id).where(MedicalInstitution.code.in_(HOSPITALS))
        ).all()
    )
    if existing or (if_empty and db.session.scalar(select(func.count()).select_from(MedicalInstitution))):
        ids = tuple(existing[code] for code in HOSPITALS if code in existing)
        return {"created": False, "institution_ids": ids if len(ids) == len(HOSPITALS) else (1, 2)}
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    now = clock.now().replace(second=0, microsecond=0)
    members = _members()
    institutions = _institutions()
    staff, patients = {}, {}
    for n, institution in enumerate(institutions):
        staff[institution.id] = _staff(rng, institution, serial=1000 * (n + 1))
        patients[institution.id] = _patients(
            rng, institution, HOSPITALS[institution.code][3], members, clock.local_date(now)
        )
    db.session.flush()  # ids for the appointments
    appointments = []
    for institution in institutions:
        appointments += _week(rng, institution, staff[institution.id], patients[institution.id], now)
    by_id = {p.id: p for rows in patients.values() for p in rows}
    _check_in(appointments, by_id, now)
    db.session.add_all(appointments)
    db.session.flush()
    every_patient = list(by_id.values())
    every_staff = [s for rows in staff.values() for s in rows]
    return {
        "created": True,
        "institution_ids": tuple(i.id for i in institutions),
        "institutions": len(institutions),
        "departments": len(DEPARTMENTS),
        "clinicians": sum(1 for s in every_staff if s.kind is PersonnelKind.CLINICIAN),
        "staff": len(every_staff),
        "patients": len(every_patient),
        "insured": sum(1 for p in every_patient if p.member_number),
        "appointments": len(appointments),
        "booked": sum(1 for a in appointments if a.status is AppointmentStatus.BOOKED),
        "checked_in": sum(1 for a in appointments if a.status is AppointmentStatus.CHECKED_IN),
        "completed": sum(1 for a in appointments if a.status is AppointmentStatus.COMPLETED),
        "cancelled": sum(1 for a in appointments if a.status is AppointmentStatus.CANCELLED),
    }


def seed_step(world: dict, if_empty: bool) -> str | None:
    """The hospitals after the insurers: their patients carry the insurance demo's member numbers."""
    made = seed_demo(if_empty=if_empty)
    world["institution_ids"] = made["institution_ids"]
    if not made["created"]:
        return None
    return (
        "Hospitals: {institutions} hospitals, {departments} departments, {clinicians} clinicians ({staff} staff), "
        "{patients} patients ({insured} insured), {appointments} appointments ({booked} booked, {checked_in} "
        "checked in, {completed} completed, {cancelled} cancelled)".format(**made)
    )


hospital_cli = add_seed_command(click.Group("hospital", help="Hospitals, staff and patients."), seed_step)
