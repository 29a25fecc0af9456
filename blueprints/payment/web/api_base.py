"""What the payment JSON endpoints share: who may call what, the tag and parameters of the OpenAPI document,
and the once-per-Idempotency-Key commit of a POST that moves money (API.md's fixed shapes for
``POST /payments`` and ``POST /refunds`` are in ``payment_api`` and ``refund_api``).

Who may call what. Tenancy is the services': a hospital sees the money it received, an insurer the money it
paid or took, and another tenant's row answers 404 as if it did not exist. A record named in a body that the
caller may not see is a 422 on that field.

| resource                                           | read          | write                              |
|----------------------------------------------------|---------------|------------------------------------|
| payments (+ owed, reverse), refunds                | READERS       | CASHIERS (services.CASHIERS)       |
| refund approval and rejection                      | -             | APPROVERS (not the requester)      |
| payment methods                                    | READERS       | APPROVERS of a hospital or insurer |
| agents, rates, assignments, commissions (+ paying) | AGENT_READERS | APPROVERS of an insurer            |
| settlements (+ preview)                            | READERS       | APPROVERS of an insurer            |

READERS = ADMIN, BILLING_CLERK, FINANCE_OFFICER, AUDITOR, INTEGRATION; AGENT_READERS the same less
BILLING_CLERK (agents are an insurer's business). CASHIERS = ADMIN, BILLING_CLERK, FINANCE_OFFICER,
INTEGRATION; APPROVERS = ADMIN, FINANCE_OFFICER.

Every POST that moves money (payments, reversals, refunds, settlements, commission payments) honours an
``Idempotency-Key`` header (medcover.idempotency): keys are the calling user's, the same key with the same
body answers the first response again (with ``Idempotent-Replayed: true``) and creates nothing, another body
is a 422 and a retry while the first is still running a 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from flask import Response, request
from flask_login import current_user
from pydantic import BaseModel, Field

from blueprints.payment import services
from blueprints.payment.services.methods import REFERENCE_RULES
from medcover import idempotency
from medcover.api import jsonify_model
from medcover.extensions import db
from medcover.rbac import Role

TAG = "Payments"
READERS = frozenset({Role.ADMIN, Role.BILLING_CLERK, Role.FINANCE_OFFICER, Role.AUDITOR, Role.INTEGRATION})
AGENT_READERS = READERS - {Role.BILLING_CLERK}
CASHIERS = services.CASHIERS
APPROVERS = services.APPROVERS
#: path ids: 1 .. 2**31-1, anything else is a 404 from the router
ID = "id"
PAGING = {"page": "page number", "per_page": "at most 200"}
IDEMPOTENT = (
    " Send an Idempotency-Key header (1 to 100 printable ASCII characters, yours for 48 hours) to make a retry "
    "safe: the same key and body answer the first response again with Idempotent-Replayed: true and create "
    "nothing; the same key with another body is 422; a retry while the first is still running is 409."
)

# Input types shared by the bodies: strict, so `true`, `"7"`, 12.5 or a timestamp are not taken for a number,
# money or a date (the strict day and money types are medcover.api's Day and MoneyIn).
Reference = Annotated[str, Field(max_length=80)]


def reference_rules(schema: dict) -> None:
    """The document's form of ``methods.REFERENCE_RULES``: what ``reference`` must be for each ``method`` (trimmed
    and upper-cased before the check), for a body's ``json_schema_extra``."""
    rules = []
    for method, (pattern, _hint) in REFERENCE_RULES.items():
        if pattern is None:
            continue
        blank = "[ \\t\\r\\n]*"
        reference = {"type": "string", "pattern": f"^{blank}{pattern.pattern.replace('A-Z', 'A-Za-z')}{blank}$"}
        rules.append(
            {
                "if": {"properties": {"method": {"const": method.value}}, "required": ["method"]},
                "then": {"properties": {"reference": reference}, "required": ["reference"]},
            }
        )
    schema["allOf"] = rules


Reason = Annotated[str, Field(min_length=1, max_length=300)]
Note = Annotated[str, Field(max_length=300)]


def _fingerprint() -> str:
    """The request's method, path and JSON body in a canonical form, so a retry whose serializer ordered the
    keys or spaced them differently is still the same request."""
    raw = request.get_data(cache=True)
    try:
        body = json.dumps(
            json.loads(raw or b"null", parse_float=Decimal),
            sort_keys=True,
            separators=(",", ":"),
            default=lambda number: f"float:{number}",
        ).encode()
    except (ValueError, UnicodeDecodeError):
        body = raw
    return idempotency.fingerprint(request.method, request.path, body)


def moving_money(work: Callable[[], Response]) -> Response:
    """Run a POST that moves money once per Idempotency-Key (API.md) and commit it, with the key and the answer
    it keeps committed together with the work or not at all."""
    key = idempotency.clean_key(request.headers.get(idempotency.HEADER))
    if key is None:
        response = work()
        db.session.commit()
        return response
    caller, digest = current_user.id, _fingerprint()
    replay = idempotency.replay_or_none(caller, key, digest)
    if replay is not None:
        return replay  # the request's transaction (and the key's lock) ends with the request
    response = work()
    idempotency.remember(caller, key, digest, response)
    db.session.commit()
    return response


def created_uncommitted(model: BaseModel) -> Response:
    """The 201 answer of a POST that moves money, not committed: ``moving_money`` remembers it, then commits
    (``medcover.api.created`` would commit before the key and the answer are kept)."""
    return jsonify_model(model, status=201)
