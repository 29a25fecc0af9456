"""A FHIR Claim read into what the claims domain files (FHIR.md, ``POST /fhir/Claim``): the member by member
number, the provider by institution code (or the caller's own hospital), ICD-10 diagnoses, and lines with a
service code, a service date, a whole quantity and a unit price. Pure: no database, no request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from blueprints.fhir import systems
from medcover.money import money

USES = ("claim", "preauthorization")
#: the longest provider's Claim identifier kept (``claim_ids``)
MAX_SYSTEM, MAX_VALUE = 255, 120
#: the claims domain's field names (``Invalid`` errors) as FHIRPath into the Claim sent
FIELD_PATHS = {
    "member_number": "Claim.patient.identifier",
    "institution_id": "Claim.provider",
    "service_date": "Claim.item[0].servicedDate",
    "diagnosis_codes": "Claim.diagnosis",
    "items": "Claim.item",
    "benefit_code": "Claim.item[0].productOrService",
    "valid_from": "Claim.item[0].servicedDate",
    "valid_to": "Claim.billablePeriod.end",
}
ITEM_FIELDS = {
    "quantity": "quantity",
    "unit_price": "unitPrice",
    "service_code": "productOrService",
    "preauth_code": "Claim.insurance[0].preAuthRef",
}


class ClaimRefused(Exception):
    """The Claim cannot be taken as sent: ``status`` 400 (not well formed) or 422 (a business rule), with the
    FHIRPath of the element at fault."""

    def __init__(self, status: int, expression: str, diagnostics: str):
        super().__init__(diagnostics)
        self.status, self.expression, self.diagnostics = status, expression, diagnostics


@dataclass(frozen=True)
class ClaimLine:
    sequence: int
    service_code: str
    serviced_date: date
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class ClaimRequest:
    """What a Claim asks for, in MedCover's words."""

    use: str
    #: the provider's own identifier of the Claim (system, value), the key of a re-sent Claim
    identifier: tuple[str, str] | None
    member_number: str
    #: the provider's institution code; None: the caller's own hospital
    institution_code: str | None
    diagnosis_codes: list[str]
    lines: list[ClaimLine]
    preauth_code: str | None
    total: Decimal | None
    #: the last day a pre-authorisation asked for is wanted (``billablePeriod.end``), if said
    wanted_until: date | None

    @property
    def service_date(self) -> date:
        return self.lines[0].serviced_date


def expression_for(field: str) -> str:
    """The FHIRPath of a claims-domain field named in an ``Invalid`` error (``items.2.quantity`` ...)."""
    parts = field.split(".")
    if parts[0] == "items" and len(parts) == 3 and parts[1].isdigit():
        path = ITEM_FIELDS.get(parts[2], parts[2])
        return path if path.startswith("Claim.") else f"Claim.item[{parts[1]}].{path}"
    return FIELD_PATHS.get(field, "Claim")


def _identified(reference, system: str, path: str, what: str) -> str:
    ident = getattr(reference, "identifier", None) if reference is not None else None
    if ident is None or ident.system != system or not (ident.value or "").strip():
        raise ClaimRefused(400, f"{path}.identifier", f"Name the {what} by identifier with system {system}.")
    return ident.value.strip().upper()


def _code(concept, system: str, path: str, what: str) -> str:
    for coding in (concept.coding or []) if concept is not None else []:
        if coding.system == system and (coding.code or "").strip():
            return coding.code.strip().upper()
    raise ClaimRefused(422, path, f"Give the {what} as a coding with system {system}.")


def _whole(value, path: str) -> int:
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ClaimRefused(400, path, "Give the quantity as a whole number.") from None
    if number != number.to_integral_value() or number < 1:
        raise ClaimRefused(422, path, "The quantity is a whole number of at least 1.")
    return int(number)


def _price(value, path: str) -> Decimal:
    if value is None or value.value is None:
        raise ClaimRefused(422, path, "Give the billed price of one unit.")
    amount = Decimal(value.value)
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ClaimRefused(422, path, "A price is not negative and has at most two decimals.")
    return money(amount)


def _line(item, n: int) -> ClaimLine:
    path = f"Claim.item[{n}]"
    if item.servicedDate is None:
        raise ClaimRefused(422, f"{path}.servicedDate", "Give the day of the service (servicedDate).")
    if item.quantity is None:
        raise ClaimRefused(422, f"{path}.quantity", "Give the quantity.")
    return ClaimLine(
        sequence=item.sequence,
        service_code=_code(item.productOrService, systems.SERVICE_CODE, f"{path}.productOrService", "service code"),
        serviced_date=item.servicedDate,
        quantity=_whole(item.quantity.value, f"{path}.quantity"),
        unit_price=_price(item.unitPrice, f"{path}.unitPrice"),
    )


def _diagnoses(claim) -> list[str]:
    codes = []
    for n, diagnosis in enumerate(claim.diagnosis or []):
        concept = diagnosis.diagnosisCodeableConcept
        codes.append(_code(concept, systems.ICD10, f"Claim.diagnosis[{n}].diagnosisCodeableConcept", "ICD-10 code"))
    return codes


def _insurance(claim, member_number: str) -> str | None:
    focal = [n for n, insurance in enumerate(claim.insurance or []) if insurance.focal]
    if len(focal) != 1:
        raise ClaimRefused(422, "Claim.insurance", "Mark exactly one insurance as focal.")
    n = focal[0]
    insurance = claim.insurance[n]
    covered = _identified(insurance.coverage, systems.MEMBER_NUMBER, f"Claim.insurance[{n}].coverage", "coverage")
    if covered != member_number:
        raise ClaimRefused(
            422, f"Claim.insurance[{n}].coverage.identifier", "The coverage is the patient's: the same member number."
        )
    refs = [ref.strip().upper() for ref in insurance.preAuthRef or [] if ref and ref.strip()]
    if len(refs) > 1:
        raise ClaimRefused(422, f"Claim.insurance[{n}].preAuthRef", "Quote at most one pre-authorisation.")
    return refs[0] if refs else None


def _total(claim, lines: list[ClaimLine]) -> Decimal | None:
    if claim.total is None or claim.total.value is None:
        return None
    total = money(Decimal(claim.total.value))
    billed = money(sum((line.unit_price * line.quantity for line in lines), Decimal("0")))
    if total != billed:
        raise ClaimRefused(422, "Claim.total", f"The total is {total} but the items add up to {billed}.")
    return total


def read_claim(claim) -> ClaimRequest:
    """The Claim (an R4B model, already parsed) in MedCover's words; ``ClaimRefused`` names what is wrong."""
    if claim.use not in USES:
        raise ClaimRefused(422, "Claim.use", "MedCover takes a claim or a preauthorization.")
    identifier = None
    for n, ident in enumerate(claim.identifier or []):
        if not ident.system or not (ident.value or "").strip():
            raise ClaimRefused(400, f"Claim.identifier[{n}]", "An identifier has a system and a value.")
        if len(ident.system) > MAX_SYSTEM or len(ident.value.strip()) > MAX_VALUE:
            message = f"An identifier's system has at most {MAX_SYSTEM} characters, its value {MAX_VALUE}."
            raise ClaimRefused(422, f"Claim.identifier[{n}]", message)
        identifier = identifier or (ident.system, ident.value.strip())
    member_number = _identified(claim.patient, systems.MEMBER_NUMBER, "Claim.patient", "patient")
    provider = claim.provider.identifier if claim.provider is not None else None
    institution_code = None
    if provider is not None:
        institution_code = _identified(claim.provider, systems.INSTITUTION_CODE, "Claim.provider", "provider")
    preauth_code = _insurance(claim, member_number)
    if not claim.item:
        raise ClaimRefused(422, "Claim.item", "A claim has at least one item.")
    lines = [_line(item, n) for n, item in enumerate(claim.item)]
    for n, line in enumerate(lines):
        if line.serviced_date != lines[0].serviced_date:
            raise ClaimRefused(
                422, f"Claim.item[{n}].servicedDate", "One claim is one day of service: send a Claim per day."
            )
    return ClaimRequest(
        use=claim.use,
        identifier=identifier,
        member_number=member_number,
        institution_code=institution_code,
        diagnosis_codes=_diagnoses(claim),
        lines=lines,
        preauth_code=preauth_code,
        total=_total(claim, lines),
        wanted_until=claim.billablePeriod.end if claim.billablePeriod and claim.billablePeriod.end else None,
    )
