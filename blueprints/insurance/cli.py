"""The insurance part of ``flask seed-demo``: a benefit catalogue, two insurers with two schemes each,
premium rates, a few hundred members with dependants and this year's cover, some pre-authorisations.

Deterministic (``random.Random(2026)``) apart from the dates, which follow ``clock.today()``; written in
bulk, without the services' per-row audit entries, so it stays fast. The CLI command commits.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import click
from sqlalchemy import func, select

from blueprints.insurance.models import (
    Benefit,
    BenefitCategory,
    Company,
    Coverage,
    CoverageStatus,
    Member,
    MemberType,
    Preauthorization,
    PreauthStatus,
    PremiumRate,
    Scheme,
    SchemeBenefit,
    SchemeStatus,
)
from blueprints.insurance.services.periods import anniversary
from medcover import clock
from medcover.demo import add_seed_command
from medcover.extensions import db

CATEGORIES = {
    "outpatient": "Outpatient",
    "inpatient": "Inpatient",
    "maternity": "Maternity",
    "dental": "Dental",
    "optical": "Optical",
    "pharmacy": "Pharmacy",
    "lab": "Laboratory",
    "radiology": "Radiology",
}
#: code -> (name, category)
BENEFITS = {
    "OP-CONSULT": ("Outpatient consultation", "outpatient"),
    "OP-PROCEDURE": ("Outpatient minor procedure", "outpatient"),
    "IP-WARD": ("Inpatient ward stay", "inpatient"),
    "IP-SURGERY": ("Inpatient surgery", "inpatient"),
    "MAT-DELIVERY": ("Normal delivery", "maternity"),
    "MAT-CSECTION": ("Caesarean section", "maternity"),
    "DENT-CHECK": ("Dental check-up and cleaning", "dental"),
    "DENT-FILLING": ("Dental filling and extraction", "dental"),
    "OPT-EXAM": ("Eye examination", "optical"),
    "OPT-GLASSES": ("Spectacles and lenses", "optical"),
    "PHARM-RX": ("Prescribed medicines", "pharmacy"),
    "LAB-TEST": ("Laboratory tests", "lab"),
    "RAD-XRAY": ("X-ray", "radiology"),
    "RAD-MRI": ("MRI and CT scans", "radiology"),
}
#: benefit -> (annual limit, per-visit limit, copay %, copay fixed, waiting days, preauth, max visits) of a
#: top scheme; a cheaper scheme scales the limits down and may leave a benefit out.
TERMS = {
    "OP-CONSULT": ("100000", "5000", "0", "200", 0, False, 24),
    "OP-PROCEDURE": ("50000", "15000", "10", "0", 0, False, None),
    "IP-WARD": ("800000", None, "0", "0", 30, False, None),
    "IP-SURGERY": ("600000", "400000", "0", "0", 30, True, None),
    "MAT-DELIVERY": ("80000", "80000", "0", "0", 300, False, 1),
    "MAT-CSECTION": ("150000", "150000", "0", "0", 300, True, 1),
    "DENT-CHECK": ("10000", "5000", "20", "0", 90, False, 2),
    "DENT-FILLING": ("30000", "10000", "20", "0", 90, True, None),
    "OPT-EXAM": ("5000", "3000", "0", "0", 90, False, 1),
    "OPT-GLASSES": ("20000", "20000", "20", "0", 180, False, 1),
    "PHARM-RX": ("60000", "10000", "10", "0", 0, False, None),
    "LAB-TEST": ("40000", "8000", "0", "0", 0, False, None),
    "RAD-XRAY": ("20000", "6000", "0", "0", 0, False, None),
    "RAD-MRI": ("60000", "30000", "10", "0", 0, True, 2),
}
#: company code -> (name, [(scheme code, name, annual limit, deductible, review threshold, scale, left out)])
INSURERS = {
    "JHI": (
        "Jubilant Health Insurance",
        [
            ("GOLD", "Jubilant Gold", "2000000", "0", "150000", Decimal("1"), ()),
            ("SILVER", "Jubilant Silver", "750000", "2000", "80000", Decimal("0.5"), ("OPT-GLASSES", "RAD-MRI")),
        ],
    ),
    "SAV": (
        "Savanna Mutual",
        [
            ("FAMILY-PLUS", "Savanna Family Plus", "1500000", "1000", "120000", Decimal("0.8"), ()),
            (
                "ESSENTIAL",
                "Savanna Essential",
                "400000",
                "5000",
                "50000",
                Decimal("0.35"),
                ("DENT-FILLING", "OPT-GLASSES", "MAT-CSECTION"),
            ),
        ],
    ),
}
#: yearly premium of a top scheme by (member type, first age, last age)
PREMIUMS = [
    ("principal", 18, 30, 36000),
    ("principal", 31, 40, 42000),
    ("principal", 41, 50, 52000),
    ("principal", 51, 60, 68000),
    ("principal", 61, 75, 90000),
    ("dependant", 0, 17, 14000),
    ("dependant", 18, 25, 20000),
    ("dependant", 26, 75, 30000),
]
PRINCIPALS_PER_INSURER = 110
FIRST_NAMES = {
    "female": [
        "Achieng",
        "Wanjiru",
        "Amani",
        "Neema",
        "Zawadi",
        "Atieno",
        "Njeri",
        "Halima",
        "Faith",
        "Mercy",
        "Akinyi",
        "Wairimu",
    ],
    "male": [
        "Baraka",
        "Otieno",
        "Kamau",
        "Juma",
        "Mwangi",
        "Kiprono",
        "Omondi",
        "Brian",
        "Hassan",
        "Kevin",
        "Mutua",
        "Kibet",
    ],
}
LAST_NAMES = [
    "Kariuki",
    "Odhiambo",
    "Mutiso",
    "Wekesa",
    "Chebet",
    "Njoroge",
    "Ochieng",
    "Muthoni",
    "Koech",
    "Barasa",
    "Nyambura",
    "Onyango",
    "Kimani",
    "Wambui",
    "Rotich",
    "Abdi",
    "Mwende",
    "Kiplagat",
    "Auma",
    "Githinji",
]


def _money(value: str | Decimal | None, scale: Decimal = Decimal(1)) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value) * scale).quantize(Decimal("1"))  # demo limits in whole shillings


def _birthday(rng: random.Random, today: date, low: int, high: int) -> date:
    """A date of birth for someone aged ``low`` to ``high`` today."""
    return today - timedelta(days=rng.randint(low * 365 + 1, high * 365 + 300))


def _catalogue() -> dict[str, Benefit]:
    categories = {code: BenefitCategory(code=code, name=name) for code, name in CATEGORIES.items()}
    existing = {c.code: c for c in db.session.scalars(select(BenefitCategory))}
    new = [c for code, c in categories.items() if code not in existing]
    db.session.add_all(new)
    db.session.flush()
    categories = existing | {c.code: c for c in new}
    known = {b.code: b for b in db.session.scalars(select(Benefit))}
    benefits = [
        Benefit(code=code, name=name, category_id=categories[category].id)
        for code, (name, category) in BENEFITS.items()
        if code not in known
    ]
    db.session.add_all(benefits)
    db.session.flush()
    return known | {b.code: b for b in benefits}


def _schemes(company: Company, plans, benefits: dict[str, Benefit], year_start: date) -> list[Scheme]:
    schemes = [
        Scheme(
            company_id=company.id,
            code=code,
            name=name,
            currency="KES",
            status=SchemeStatus.ACTIVE,
            effective_from=year_start,
            annual_limit=Decimal(limit),
            deductible=Decimal(deductible),
            timely_filing_days=180,
            review_threshold=Decimal(review),
        )
        for code, name, limit, deductible, review, _scale, _left_out in plans
    ]
    db.session.add_all(schemes)
    db.session.flush()
    rows = []
    for scheme, (*_, scale, left_out) in zip(schemes, plans, strict=True):
        for code, (limit, per_visit, copay, fixed, waiting, preauth, visits) in TERMS.items():
            rows.append(
                SchemeBenefit(
                    scheme_id=scheme.id,
                    benefit_id=benefits[code].id,
                    covered=code not in left_out,
                    annual_limit=_money(limit, scale),
                    per_visit_limit=_money(per_visit, scale),
                    copay_percent=Decimal(copay) + (Decimal(10) if scale < Decimal("0.6") and copay != "0" else 0),
                    copay_fixed=Decimal(fixed),
                    waiting_period_days=waiting,
                    requires_preauth=preauth,
                    max_visits=visits,
                )
            )
        rows.extend(
            PremiumRate(
                scheme_id=scheme.id,
                member_type=MemberType(kind),
                age_from=low,
                age_to=high,
                annual_amount=_money(Decimal(amount), Decimal("0.4") + scale * Decimal("0.6")),
                effective_from=date(year_start.year - 1, 1, 1),
            )
            for kind, low, high, amount in PREMIUMS
        )
    db.session.add_all(rows)
    return schemes


def _people(rng: random.Random, company: Company, schemes: list[Scheme], today: date) -> tuple[list, list]:
    """Principals and their families; returns (members, [(member, scheme, start, status)])."""
    principals, families = [], []
    for n in range(1, PRINCIPALS_PER_INSURER + 1):
        gender = rng.choice(("female", "male"))
        last = rng.choice(LAST_NAMES)
        head = Member(
            member_number=f"{company.code}-{n:06d}",
            company_id=company.id,
            first_name=rng.choice(FIRST_NAMES[gender]),
            last_name=last,
            date_of_birth=_birthday(rng, today, 22, 64),
            gender=gender,
            email=f"member.{company.code.lower()}{n}@example.com",
            phone=f"+2547{rng.randint(10_000_000, 99_999_999)}",
        )
        principals.append(head)
        family = []
        if rng.random() < 0.6:
            spouse = "male" if gender == "female" else "female"
            family.append((spouse, rng.choice(FIRST_NAMES[spouse]), _birthday(rng, today, 22, 62)))
        for _ in range(rng.choice((0, 0, 1, 1, 2, 2, 3, 4))):
            child = rng.choice(("female", "male"))
            family.append((child, rng.choice(FIRST_NAMES[child]), _birthday(rng, today, 0, 20)))
        families.append((last, family))
    db.session.add_all(principals)
    db.session.flush()  # the principals' ids, for the dependants

    dependants, covered = [], []
    for head, (last, family) in zip(principals, families, strict=True):
        scheme = schemes[0] if rng.random() < 0.4 else schemes[1]
        start = date(today.year, rng.randint(1, today.month), 1)
        roll = rng.random()
        status = CoverageStatus.SUSPENDED if roll < 0.03 else CoverageStatus.LAPSED if roll < 0.05 else None
        covered.append((head, scheme, start, status or CoverageStatus.ACTIVE))
        for i, (gender, first, born) in enumerate(family, start=1):
            member = Member(
                member_number=f"{head.member_number}-{i:02d}",
                company_id=company.id,
                first_name=first,
                last_name=last,
                date_of_birth=born,
                gender=gender,
                principal_id=head.id,
            )
            dependants.append(member)
            covered.append((member, scheme, start, status or CoverageStatus.ACTIVE))
    db.session.add_all(dependants)
    db.session.flush()
    return principals + dependants, covered


def _preauthorizations(rng: random.Random, covered, benefits: dict[str, Benefit], today: date) -> list:
    rows, codes = [], set()
    active = [(m, s) for m, s, _start, status in covered if status is CoverageStatus.ACTIVE]
    for member, _scheme in rng.sample(active, min(24, len(active))):
        code = f"PA-{rng.getrandbits(32):08X}"
        if code in codes:
            continue
        codes.add(code)
        valid_from = today - timedelta(days=rng.randint(0, 20))
        rows.append(
            Preauthorization(
                code=code,
                member_id=member.id,
                benefit_id=benefits[rng.choice(("IP-SURGERY", "DENT-FILLING", "RAD-MRI", "MAT-CSECTION"))].id,
                company_id=member.company_id,
                valid_from=valid_from,
                valid_to=valid_from + timedelta(days=30),
                status=rng.choice(
                    (PreauthStatus.REQUESTED, PreauthStatus.APPROVED, PreauthStatus.APPROVED, PreauthStatus.DECLINED)
                ),
                notes=rng.choice(("Referred by the attending doctor.", "Elective procedure.", None)),
            )
        )
    return rows


def seed_demo(*, if_empty: bool) -> dict:
    """Create the demo insurers and their world; nothing when they (or, with ``if_empty``, any insurer) exist.

    Returns ``company_ids`` (the two insurers, existing or new, for the demo staff accounts) and counts of
    what was created.
    """
    existing = dict(db.session.execute(select(Company.code, Company.id).where(Company.code.in_(INSURERS))).all())
    if existing or (if_empty and db.session.scalar(select(func.count()).select_from(Company))):
        ids = tuple(existing[code] for code in INSURERS if code in existing)
        return {"created": False, "company_ids": ids if len(ids) == len(INSURERS) else (1, 2)}
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    today = clock.today()
    benefits = _catalogue()
    companies = [Company(code=code, name=name, active=True) for code, (name, _plans) in INSURERS.items()]
    db.session.add_all(companies)
    db.session.flush()
    members, coverages, schemes = [], [], []
    for company in companies:
        plans = INSURERS[company.code][1]
        company_schemes = _schemes(company, plans, benefits, date(today.year, 1, 1))
        schemes += company_schemes
        people, covered = _people(rng, company, company_schemes, today)
        members += people
        coverages += covered
    covers = [
        Coverage(
            member_id=member.id,
            scheme_id=scheme.id,
            company_id=member.company_id,
            start_date=start,
            end_date=anniversary(start, 1) - timedelta(days=1),
            status=status,
        )
        for member, scheme, start, status in coverages
    ]
    preauths = _preauthorizations(rng, coverages, benefits, today)
    db.session.add_all(covers + preauths)
    db.session.flush()
    return {
        "created": True,
        "company_ids": tuple(c.id for c in companies),
        "companies": len(companies),
        "schemes": len(schemes),
        "benefits": len(BENEFITS),
        "members": len(members),
        "dependants": sum(1 for m in members if m.principal_id is not None),
        "coverages": len(covers),
        "suspended_or_lapsed": sum(1 for c in covers if c.status is not CoverageStatus.ACTIVE),
        "preauthorizations": len(preauths),
    }


def seed_step(world: dict, if_empty: bool) -> str | None:
    """The insurers first: the demo staff and the hospitals' insured patients belong to them."""
    made = seed_demo(if_empty=if_empty)
    world["company_ids"] = made["company_ids"]
    if not made["created"]:
        return None
    return (
        "Insurance: {companies} insurers, {schemes} schemes, {benefits} benefits, {members} members ({dependants} "
        "dependants), {coverages} coverages ({suspended_or_lapsed} suspended or lapsed), {preauthorizations} "
        "pre-authorisations".format(**made)
    )


insurance_cli = add_seed_command(click.Group("insurance", help="Insurers, schemes and members."), seed_step)
