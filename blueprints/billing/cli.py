"""The billing part of ``flask seed-demo``: each demo hospital's price list and settings, and a few
months of invoices (issued at different ages, some paid, some partly) so receivables have something to age."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import click
from sqlalchemy import func, select

from blueprints.billing import services
from blueprints.billing.models import Invoice, ServiceTariff
from blueprints.hospital import services as hospital
from medcover import clock
from medcover.demo import add_seed_command
from medcover.extensions import db
from medcover.rbac import Role, Tenant

#: code -> (description, benefit, price at the first hospital); the second charges 10% less
PRICE_LIST = {
    "CONSULT-GP": ("General practitioner consultation", "OP-CONSULT", "2500.00"),
    "CONSULT-SPEC": ("Specialist consultation", "OP-CONSULT", "4500.00"),
    "PROC-DRESSING": ("Wound dressing", "OP-PROCEDURE", "1200.00"),
    "PROC-SUTURE": ("Suturing of a minor wound", "OP-PROCEDURE", "3500.00"),
    "WARD-GENERAL": ("General ward, per night", "IP-WARD", "6500.00"),
    "SURG-APPENDIX": ("Appendicectomy", "IP-SURGERY", "145000.00"),
    "MAT-NVD": ("Normal delivery package", "MAT-DELIVERY", "45000.00"),
    "MAT-CS": ("Caesarean section package", "MAT-CSECTION", "120000.00"),
    "DENT-SCALE": ("Scaling and polishing", "DENT-CHECK", "3000.00"),
    "DENT-EXTRACT": ("Tooth extraction", "DENT-FILLING", "4000.00"),
    "OPT-EXAM": ("Eye examination", "OPT-EXAM", "2000.00"),
    "LAB-FBC": ("Full blood count", "LAB-TEST", "1200.00"),
    "LAB-MALARIA": ("Malaria parasite test", "LAB-TEST", "600.00"),
    "LAB-LIPID": ("Lipid profile", "LAB-TEST", "2800.00"),
    "LAB-HBA1C": ("HbA1c", "LAB-TEST", "2400.00"),
    "RAD-CXR": ("Chest X-ray", "RAD-XRAY", "2500.00"),
    "RAD-MRI-HEAD": ("MRI head", "RAD-MRI", "28000.00"),
    "PHARM-AMOX": ("Amoxicillin 500 mg, 21 capsules", "PHARM-RX", "450.00"),
    "PHARM-PARA": ("Paracetamol 500 mg, 20 tablets", "PHARM-RX", "150.00"),
    "PHARM-METF": ("Metformin 500 mg, 60 tablets", "PHARM-RX", "900.00"),
}
VISITS = [
    ("CONSULT-GP", 1),
    ("CONSULT-GP", 1, "LAB-MALARIA", 1, "PHARM-PARA", 1),
    ("CONSULT-SPEC", 1, "LAB-LIPID", 1, "LAB-HBA1C", 1, "PHARM-METF", 2),
    ("CONSULT-GP", 1, "RAD-CXR", 1, "PHARM-AMOX", 1),
    ("PROC-DRESSING", 2, "PHARM-AMOX", 1),
    ("DENT-SCALE", 1),
    ("OPT-EXAM", 1),
    ("CONSULT-GP", 1, "LAB-FBC", 1),
]
INVOICES_PER_HOSPITAL = 60


@dataclass(frozen=True)
class SeedActor:
    """The seed acts as a platform admin with no account of its own (audit shows no person)."""

    id: None = None
    email: str = "seed-demo"
    role: Role = Role.ADMIN
    institution_id: None = None
    company_id: None = None


def seed_demo(*, if_empty: bool, institution_ids) -> dict:
    if db.session.scalar(select(func.count()).select_from(ServiceTariff)):
        return {"created": False}
    actor = SeedActor()
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    start = date(clock.today().year - 1, 1, 1)
    counts = {"tariffs": 0, "invoices": 0, "paid": 0, "partly_paid": 0}
    for n, institution_id in enumerate(institution_ids):
        institution = hospital.get_institution(Tenant(None, None), institution_id)
        services.update_settings(
            actor=actor,
            institution_id=institution_id,
            values=services.SettingsInput(
                invoice_prefix=services.default_prefix(institution.code),
                tax_percent="0",
                payment_terms_days=30,
                bank_name="Kenya Commercial Bank",
                bank_account=f"11{institution_id:02d}0042{n}7",
                bank_branch="Moi Avenue",
                payment_instructions=f"M-Pesa paybill 5{institution_id:02d}200, account: your invoice number.",
            ),
        )
        for code, (description, benefit, price) in PRICE_LIST.items():
            amount = Decimal(price) * (Decimal("0.9") if n else 1)
            services.set_price(
                actor=actor,
                institution_id=institution_id,
                values=services.TariffInput(code, description, benefit, amount.quantize(Decimal("0.01")), start),
            )
            counts["tariffs"] += 1
        patients = hospital.first_patients(institution_id, INVOICES_PER_HOSPITAL)
        for patient in patients:
            days_ago = rng.choice((1, 3, 8, 15, 25, 40, 55, 70, 95, 130))
            with clock.travel(-timedelta(days=days_ago)):
                visit = rng.choice(VISITS)
                lines = [services.LineInput(visit[i], visit[i + 1]) for i in range(0, len(visit), 2)]
                invoice = services.create_invoice(
                    actor=actor, institution_id=institution_id, patient_id=patient.id, lines=lines
                )
                services.issue_invoice(actor=actor, invoice_id=invoice.id)
            counts["invoices"] += 1
            luck = rng.random()
            if luck < 0.5 and invoice.patient_part > 0:
                services.record_payment_event(
                    0,
                    {
                        "payment_id": f"seed-{invoice.id}",
                        "invoice_id": invoice.id,
                        "payer": "patient",
                        "amount": str(invoice.patient_part),
                        "method": "mobile_money",
                    },
                )
                counts["partly_paid" if invoice.insurer_part > 0 else "paid"] += 1
    return {"created": True, **counts, "open": _open_count()}


def _open_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.balance > 0)) or 0


def seed_step(world: dict, if_empty: bool) -> str | None:
    """Prices and invoices at the demo hospitals."""
    institution_ids = world.get("institution_ids") or [i.id for i in hospital.institutions_of(Tenant(None, None))]
    made = seed_demo(if_empty=if_empty, institution_ids=institution_ids)
    if not made["created"]:
        return None
    return (
        "Billing: {tariffs} prices, {invoices} invoices ({paid} paid, {partly_paid} paid by the patient and waiting "
        "for the insurer, {open} open)".format(**made)
    )


billing_cli = add_seed_command(click.Group("billing", help="Tariffs, invoices and receivables."), seed_step)
