"""What the insurance JSON endpoints share: who may call what, the roles and the strict input types. The
endpoints themselves sit in a module per concept (``catalogue_api``, ``schemes_api``, ``premiums_api``,
``members_api``, ``preauthorizations_api``, ``verification_api``), in API.md's fixed shapes.

Who may call what (tenancy is the services': insurer staff see and change only their company's rows,
and another company's row answers 404 as if it did not exist):

| resource                                   | read                         | write                                 |
|--------------------------------------------|------------------------------|---------------------------------------|
| companies, benefit categories, benefits    | READERS (catalogue: all)     | ADMIN, platform admins only (global)  |
| schemes, scheme benefits, premium rates    | READERS                      | WRITERS (ADMIN, INTEGRATION)          |
| members, coverages (+ suspend ... renew)   | READERS                      | WRITERS                               |
| premium quote (POST, changes nothing)      | READERS except AUDITOR       | -                                     |
| pre-authorisations                         | PREAUTH_READERS              | create: REQUESTERS; approve/decline:  |
|                                            |                              | ADMIN, ADJUDICATOR (insurer side)     |
| coverage verify (POST) / check (GET)       | every role (POST: no AUDITOR)| -                                     |

READERS = ADMIN, ADJUDICATOR, FINANCE_OFFICER, AUDITOR, INTEGRATION. REQUESTERS = ADMIN, ADJUDICATOR,
INTEGRATION, RECEPTIONIST, BILLING_CLERK: insurer staff (and platform admins) create a pre-authorisation
already approved, hospital staff (and integrations bound to a hospital) create a request that the member's
insurer decides. PREAUTH_READERS = READERS + RECEPTIONIST, BILLING_CLERK: a hospital reads the requests it
made, an insurer its members' pre-authorisations, whoever asked. The auditor changes nothing,
so no POST is open to it (not even the read-only verify and quote; ``GET /coverage/check`` is).
Verification is open to hospitals for members of any insurer; a company-bound caller asking about
another insurer's member gets R01, as for an unknown number.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, Strict, WithJsonSchema

from blueprints.insurance.services import CODE
from medcover.api import MONEY_JSON, PERCENT_JSON, Schema
from medcover.rbac import ALL_ROLES, Role

TAG = "Insurance"
WRITERS = frozenset({Role.ADMIN, Role.INTEGRATION})
READERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
QUOTERS = READERS - {Role.AUDITOR}
REQUESTERS = frozenset({Role.ADMIN, Role.ADJUDICATOR, Role.INTEGRATION, Role.RECEPTIONIST, Role.BILLING_CLERK})
DECIDERS = frozenset({Role.ADMIN, Role.ADJUDICATOR})
PREAUTH_READERS = READERS | {Role.RECEPTIONIST, Role.BILLING_CLERK}
VERIFIERS = ALL_ROLES - {Role.AUDITOR}
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}


# --- input types: strict, so `true`, `"7"` or a timestamp are not taken for a number or a date ---------


def _amount(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('Enter an amount as a string such as "1250.00".')
    try:
        amount = Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError('Enter an amount such as "1250.00".') from None
    if not amount.is_finite():
        raise ValueError('Enter an amount such as "1250.00".')
    return amount


#: money in: a string (or a JSON number) with at most two decimals, not negative, below 10 000 000 000
MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(ge=0, max_digits=12, decimal_places=2),
    WithJsonSchema({"anyOf": [MONEY_JSON, {"type": "integer", "minimum": 0, "maximum": 10**10 - 1}]}),
]
PercentIn = Annotated[
    Decimal,
    BeforeValidator(_amount),
    Field(ge=0, le=100, decimal_places=2),
    WithJsonSchema({"anyOf": [PERCENT_JSON, {"type": "integer", "minimum": 0, "maximum": 100}]}),
]
Code = Annotated[str, Field(min_length=1, max_length=30, pattern=CODE.pattern)]
Name = Annotated[str, Field(min_length=1, max_length=120)]
PersonName = Annotated[str, Field(min_length=1, max_length=80)]
MemberNumber = Annotated[str, Field(min_length=1, max_length=30)]
Reason = Annotated[str, Field(max_length=500, examples=["The board approved new terms on 30 November."])]
Notes = Annotated[str, Field(max_length=2000)]
Whole = Annotated[int, Strict()]


# the body of an action that may say why (suspend, cancel, remove a benefit ...)
class ReasonIn(Schema):
    reason: Reason = ""
