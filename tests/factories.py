"""Factory functions: each test builds exactly the world it needs in a line or two."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from decimal import Decimal

from blueprints.core.models import User
from blueprints.core.passwords import hash_password
from medcover.extensions import db
from medcover.rbac import HOSPITAL_ONLY, INSURER_ONLY, Role

PASSWORD = "Correct-horse-9"  # noqa: S105
_seq = itertools.count(1)


def default_tenant(role: Role) -> dict:
    if role in HOSPITAL_ONLY or role is Role.INTEGRATION:
        return {"institution_id": 1, "company_id": None}
    if role in INSURER_ONLY or role is Role.FINANCE_OFFICER:
        return {"institution_id": None, "company_id": 1}
    return {"institution_id": None, "company_id": None}


def make_user(
    role: Role | str = Role.ADMIN,
    *,
    email: str | None = None,
    full_name: str | None = None,
    password: str = PASSWORD,
    active: bool = True,
    **tenant,
) -> User:
    """A user of that role; hospital roles at institution 1 and insurer roles at company 1 unless told."""
    role = Role(role)
    n = next(_seq)
    fields = default_tenant(role) | tenant
    user = User(
        email=(email or f"{role.value}{n}@example.com").lower(),
        full_name=full_name or f"{role.label} {n}",
        role=role,
        password_hash=hash_password(password),
        active=active,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


# --- insurance ------------------------------------------------------------------------------------


def make_company(code: str | None = None, name: str | None = None):
    from blueprints.insurance.models import Company

    n = next(_seq)
    company = Company(code=code or f"CO{n}", name=name or f"Insurer {n}", active=True)
    db.session.add(company)
    db.session.flush()
    return company


def make_category(code: str | None = None, name: str | None = None):
    from blueprints.insurance.models import BenefitCategory

    n = next(_seq)
    category = BenefitCategory(code=code or f"CAT{n}", name=name or f"Category {n}")
    db.session.add(category)
    db.session.flush()
    return category


def make_benefit(code: str | None = None, name: str | None = None, category=None):
    from blueprints.insurance.models import Benefit

    n = next(_seq)
    category = category or make_category()
    benefit = Benefit(code=code or f"BEN-{n}", name=name or f"Benefit {n}", category_id=category.id)
    db.session.add(benefit)
    db.session.flush()
    return benefit


def make_scheme(company, **terms):
    """A scheme of that company, active unless told; ``terms`` are Scheme columns (status as a string is fine)."""
    from blueprints.insurance.models import Scheme, SchemeStatus

    n = next(_seq)
    values = {"code": f"SCH{n}", "name": f"Scheme {n}", "currency": "KES", "deductible": Decimal("0.00")} | terms
    values["status"] = SchemeStatus(values.get("status", SchemeStatus.ACTIVE))
    scheme = Scheme(company_id=company.id, **values)
    db.session.add(scheme)
    db.session.flush()
    return scheme


def add_benefit(scheme, benefit, **terms):
    """The benefit's terms in the scheme; ``terms`` are SchemeBenefit columns."""
    from blueprints.insurance.models import SchemeBenefit

    values = {"covered": True, "copay_percent": Decimal("0"), "copay_fixed": Decimal("0.00")} | terms
    row = SchemeBenefit(scheme_id=scheme.id, benefit_id=benefit.id, **values)
    db.session.add(row)
    db.session.flush()
    return row


def make_rate(scheme, member_type: str, age_from: int, age_to: int, amount, effective_from, effective_to=None):
    from blueprints.insurance.models import MemberType, PremiumRate

    rate = PremiumRate(
        scheme_id=scheme.id,
        member_type=MemberType(member_type),
        age_from=age_from,
        age_to=age_to,
        annual_amount=Decimal(str(amount)),
        effective_from=effective_from,
        effective_to=effective_to,
    )
    db.session.add(rate)
    db.session.flush()
    return rate


def make_member(
    company,
    *,
    member_number: str | None = None,
    first_name: str = "Amani",
    last_name: str | None = None,
    date_of_birth: date = date(1985, 5, 17),
    gender: str = "female",
    principal=None,
):
    from blueprints.insurance.models import Member

    n = next(_seq)
    member = Member(
        member_number=(member_number or f"M{n:06d}").upper(),
        company_id=company.id,
        first_name=first_name,
        last_name=last_name or f"Wanjiru{n}",
        date_of_birth=date_of_birth,
        gender=gender,
        principal_id=principal.id if principal is not None else None,
    )
    db.session.add(member)
    db.session.flush()
    return member


def make_coverage(member, scheme, start: date, end: date | None = None, status: str = "active"):
    """Written directly, so a test may build what the services refuse (a four-year cover, an overlap)."""
    from blueprints.insurance.models import Coverage, CoverageStatus
    from blueprints.insurance.services.periods import anniversary

    coverage = Coverage(
        member_id=member.id,
        scheme_id=scheme.id,
        company_id=member.company_id,
        start_date=start,
        end_date=end or anniversary(start, 1) - timedelta(days=1),
        status=CoverageStatus(status),
    )
    db.session.add(coverage)
    db.session.flush()
    return coverage


# --- hospital -------------------------------------------------------------------------------------


def make_institution(code: str | None = None, name: str | None = None, kind: str = "hospital"):
    from blueprints.hospital.models import MedicalInstitution

    n = next(_seq)
    institution = MedicalInstitution(code=code or f"H{n}", name=name or f"Hospital {n}", kind=kind, active=True)
    db.session.add(institution)
    db.session.flush()
    return institution


def make_personnel(
    institution,
    *,
    full_name: str | None = None,
    kind: str = "clinician",
    department: str = "Outpatient",
    specialty: str | None = None,
    licence_number: str | None = None,
    schedule: dict | None = None,
    user=None,
    active: bool = True,
):
    """Staff of that institution; clinicians get a licence number unless told."""
    from blueprints.hospital.models import MedicalPersonnel, PersonnelKind

    n = next(_seq)
    kind = PersonnelKind(kind)
    if licence_number is None and kind in (PersonnelKind.CLINICIAN, PersonnelKind.PHARMACIST):
        licence_number = f"LIC-{n:05d}"
    row = MedicalPersonnel(
        institution_id=institution.id,
        full_name=full_name or f"Dr Staff {n}",
        kind=kind,
        department=department,
        specialty=specialty,
        licence_number=licence_number,
        schedule=schedule
        if schedule is not None
        else {d: ["08:00", "17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        user_id=user.id if user is not None else None,
        active=active,
    )
    db.session.add(row)
    db.session.flush()
    return row


def make_patient(
    institution,
    *,
    first_name: str = "Amani",
    last_name: str | None = None,
    date_of_birth: date = date(1990, 3, 14),
    gender: str = "female",
    phone: str | None = None,
    email: str | None = None,
    national_id: str | None = None,
    member_number: str | None = None,
    patient_number: str | None = None,
):
    """A patient written directly (search keys filled in as the service would), numbered CODE-9nnnnn so the
    service's own sequence is not disturbed in tests that count."""
    from blueprints.hospital.models import Patient
    from blueprints.hospital.services import search_key

    n = next(_seq)
    last_name = last_name or f"Otieno{n}"
    patient = Patient(
        institution_id=institution.id,
        patient_number=patient_number or f"{institution.code}-9{n:05d}",
        first_name=first_name,
        last_name=last_name,
        first_name_key=search_key(first_name),
        last_name_key=search_key(last_name),
        date_of_birth=date_of_birth,
        gender=gender,
        phone=phone,
        email=email,
        national_id=national_id,
        member_number=member_number,
    )
    db.session.add(patient)
    db.session.flush()
    return patient


# --- billing --------------------------------------------------------------------------------------


def make_tariff(
    institution,
    service_code: str,
    unit_price,
    *,
    benefit_code: str = "OUTPATIENT",
    description: str | None = None,
    effective_from: date = date(2020, 1, 1),
    effective_to: date | None = None,
):
    """A price written directly; the benefit code is not checked against the catalogue here."""
    from blueprints.billing.models import ServiceTariff

    row = ServiceTariff(
        institution_id=institution.id,
        service_code=service_code,
        description=description or service_code.replace("-", " ").title(),
        benefit_code=benefit_code,
        unit_price=Decimal(str(unit_price)),
        effective_from=effective_from,
        effective_to=effective_to,
    )
    db.session.add(row)
    db.session.flush()
    return row


# --- hospital: encounters, orders and pharmacy stock ------------------------------------------------


def make_record(patient, *, encounter_date: date | None = None, diagnoses: list[str] | None = None):
    """An encounter of the patient, written directly."""
    from blueprints.hospital.models import MedicalRecord

    row = MedicalRecord(
        institution_id=patient.institution_id,
        patient_id=patient.id,
        encounter_date=encounter_date or date.today(),
        diagnoses=diagnoses or ["J06.9"],
        procedures=[],
    )
    db.session.add(row)
    db.session.flush()
    return row


def make_order(record, kind: str = "pharmacy", service_code: str = "AMOX-500", *, quantity: int = 1, **values):
    """A clinical order on that encounter, ``ordered`` unless told (``status`` as a string is fine)."""
    from blueprints.hospital.models import ClinicalOrder, OrderKind, OrderStatus

    values["status"] = OrderStatus(values.get("status", OrderStatus.ORDERED))
    row = ClinicalOrder(
        institution_id=record.institution_id,
        record_id=record.id,
        patient_id=record.patient_id,
        kind=OrderKind(kind),
        service_code=service_code,
        description=values.pop("description", service_code.replace("-", " ").title()),
        quantity=quantity,
        **values,
    )
    db.session.add(row)
    db.session.flush()
    return row


def make_stock(institution, item_code: str = "AMOX-500", quantity: int = 10, *, name: str | None = None):
    from blueprints.hospital.models import PharmacyStock

    row = PharmacyStock(
        institution_id=institution.id,
        item_code=item_code,
        name=name or item_code.title(),
        unit="tab",
        quantity=quantity,
    )
    db.session.add(row)
    db.session.flush()
    return row
