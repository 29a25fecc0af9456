"""Billing JSON endpoints: tariffs and their history (with CSV import), billing items, invoices (drafts,
lines, issue, void, credit notes, the printable PDF), accounts receivable and billing settings
(API.md's fixed shapes for ``POST /tariffs`` and ``POST /invoices``).

Who may call what. Tenancy is the services': hospital staff see and change only their institution's rows,
insurer staff read only the invoices (and the receivables) that bill their company, and another tenant's
row answers 404 as if it did not exist. A record named in a body that the caller may not see is a 422 on
that field.

| resource                                         | read    | write                                  |
|--------------------------------------------------|---------|----------------------------------------|
| tariffs (+ price lookup, CSV import)             | READERS | WRITERS of the institution             |
| billing items                                    | READERS | WRITERS of the institution             |
| invoices (+ lines, issue, void, credit notes)    | READERS | WRITERS of the institution             |
| accounts receivable (+ drill-down)               | READERS | -                                      |
| billing settings                                 | READERS | WRITERS of the institution             |

READERS = ADMIN, BILLING_CLERK, FINANCE_OFFICER, AUDITOR, INTEGRATION. WRITERS = ``services.API_WRITERS``
(ADMIN, BILLING_CLERK, FINANCE_OFFICER): the services' ``institution_for_write`` decides, and it does
not yet let INTEGRATION change billing, so integrations read here until it does. Insurer-side writers
(a finance officer of a company) are refused with 403: insurers never change a hospital's billing.

This module holds who may call what and the pieces every billing endpoint shares; the endpoints are in
tariff_api, item_api, invoice_api, issuing_api, receivable_api and settings_api.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, Strict

from blueprints.billing import services
from blueprints.hospital import services as hospital
from medcover.api import actor, tenant
from medcover.errors import Forbidden
from medcover.rbac import Role

TAG = "Billing"
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
#: who changes billing: exactly whom the services let (an integration account for its own hospital too)
WRITERS = services.API_WRITERS
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}


# --- input types: strict, so `true`, `"7"`, 12.5 or a timestamp are not taken for a number, money or a date -


Quantity = Annotated[int, Strict(), Field(ge=1, le=services.MAX_QUANTITY)]
Code = Annotated[str, Field(min_length=1, max_length=30)]
Description = Annotated[str, Field(min_length=1, max_length=200)]


# --- who acts, and what the request names -----------------------------------------------------------


def writer():
    """The acting user for a change; insurer-side callers change no hospital's billing. Called after the
    lookups, so a record the caller cannot see stays a 404 whoever asks."""
    scope = tenant()
    if scope.company_id is not None and scope.institution_id is None:
        raise Forbidden("Insurer staff read the invoices billed to their company; they change no billing.")
    return actor()


def invoice_writer(invoice_id: int):
    """The acting user for a change to an invoice: another tenant's invoice is a 404 first."""
    services.get_invoice(tenant(), invoice_id)
    return writer()


def visible_institution(institution_id: int):
    """An institution named in the path or the query that the caller may see; any other is a 404."""
    return hospital.get_institution(tenant(), institution_id)
