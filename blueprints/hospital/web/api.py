"""The hospital API's common ground: who may call what, path and paging conventions, strict input types and
the refusal of insurer staff. The endpoints are in ``institutions_api`` (institutions and personnel),
``patients_api``, ``appointments_api``, ``records_api`` and ``orders_api`` (API.md's fixed shapes for
``POST /institutions`` and ``POST /patients``).

Who may call what. Tenancy is the services': hospital staff see and change only their institution's
rows, and another institution's row answers 404 as if it did not exist. Callers bound to an insurance
company get 403 on every hospital endpoint: insurer staff never see a hospital's patients.

| resource                                   | read                         | write                                 |
|--------------------------------------------|------------------------------|---------------------------------------|
| institutions                               | READERS                      | ADMIN, platform admins only (global)  |
| personnel                                  | READERS                      | ADMIN, INTEGRATION                    |
| patients (+ merge)                         | READERS                      | WRITERS                               |
| appointments (+ reschedule ... complete)   | READERS                      | WRITERS                               |
| medical records (+ attachments)            | WRITERS + records' rules     | WRITERS + records' clinical rules     |

WRITERS = ADMIN, RECEPTIONIST, BILLING_CLERK, INTEGRATION (bound to an institution, or a platform admin).
READERS = WRITERS + AUDITOR. ADJUDICATOR and FINANCE_OFFICER are insurer roles: 403.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict

from blueprints.hospital.services import fields, institutions, patients
from medcover import api
from medcover.errors import Forbidden
from medcover.rbac import Role, Tenant

TAG = "Hospital"
WRITERS = frozenset({Role.ADMIN, Role.RECEPTIONIST, Role.BILLING_CLERK, Role.INTEGRATION})
READERS = WRITERS | {Role.AUDITOR}
STAFF_WRITERS = frozenset({Role.ADMIN, Role.INTEGRATION})
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def hospital_tenant() -> Tenant:
    """The caller's rows, as ``medcover.api.tenant``; but insurer-side callers have none here and are
    refused outright."""
    tenant = api.tenant()
    if tenant.company_id is not None and tenant.institution_id is None:
        raise Forbidden("Hospital records are for hospital staff.")
    return tenant


# --- input types: strict, so `true`, `"7"` or a timestamp are not taken for a number or a date ---------


def _moment(value: Any) -> datetime:
    """An ISO 8601 date and time with its zone (``2026-05-04T09:00:00Z``), kept in UTC."""
    if isinstance(value, str) and 16 <= len(value) <= 40 and _DAY.match(value[:10]) and value[10:11] in "Tt":
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                raise ValueError("Give the time with its zone, e.g. 2026-05-04T09:00:00Z.")
            return moment.astimezone(UTC)
    raise ValueError("Enter a date and time in ISO 8601 with its zone, e.g. 2026-05-04T09:00:00Z.")


Moment = Annotated[datetime, BeforeValidator(_moment)]
Whole = Annotated[int, Strict()]
Code = Annotated[str, Field(min_length=1, max_length=20, pattern=institutions.CODE.pattern)]
#: names as fields.name takes them: something besides blanks, no control characters, no < or >
_NAME = api.text_pattern(filled=True, refused="<>")
Name = Annotated[str, Field(min_length=1, max_length=120, pattern=_NAME)]
PersonName = Annotated[str, Field(min_length=1, max_length=80, pattern=_NAME)]
Short = Annotated[str, Field(max_length=80)]
#: a phone number as fields.phone takes it, or nothing
Phone = Annotated[str, Field(max_length=20, pattern=rf"^(?:{fields.PHONE.pattern})?$")]
Email = Annotated[str, Field(max_length=254)]
NationalId = Annotated[str, Field(max_length=30)]
MemberNumber = Annotated[str, Field(max_length=30)]
Room = Annotated[str, Field(max_length=40)]
Reason = Annotated[str, Field(max_length=300)]
Gender = Annotated[str, Field(pattern=api.any_case(patients.GENDERS))]
