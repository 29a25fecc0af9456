"""The records the contract run reaches, and the schemathesis dictionaries that point generated requests at them.

The demo world (``flask seed-demo``) holds insurers, hospitals, patients, invoices and claims. ``grow`` adds, through
the API itself as an integrator would, one of each record the demo world leaves out (a dispute with evidence,
payments and a refund, a settlement, an agent with an assignment, a medical record with its orders and evidence,
a payment method, a notification template, a reconciliation run), so every operation has something to reach.

``bindings`` then reads, for every path parameter of every operation in the document, the values that name real
records, and for every body field that names a record (``claim_id``, ``member_number`` ...), the same; the
contract test writes them into schemathesis's config as dictionaries (``[dictionaries]``, ``[parameters]`` and
per-operation ``parameters``), drawn for most generated requests and left to chance for the rest.

How a new endpoint gets its test data (nothing to do in most cases):
- ``/things/{thing_id}`` and everything under it take the ids ``GET /things`` lists (its ``items``, their field of
  the parameter's name when they have one, else ``id``). A parameter under another
  (``/things/{thing_id}/parts/{part_no}``) takes the parts that ``GET /things/{id}`` shows under ``parts`` for one
  thing that has some, and that thing's id.
- A record the demo world does not hold: add a step to ``grow`` that creates one through the API.
- A path whose collection has no list (``/medical-records/record/{record_id}``): name its source in ``SOURCES``.
- A body field that names a record: add it to ``BODY_FIELDS``.
"""

from __future__ import annotations

import http.client
import json
import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

#: the run's site (the server's MEDCOVER_TIMEZONE): far from UTC, so that a day the run works out on the machine's
#: calendar instead of the site's is a different day at most hours, and the run says so
SITE_ZONE = "Pacific/Kiritimati"


def site_today() -> date:
    """Today on the site's calendar: the day the server's rules (no service date in the future) count from."""
    return datetime.now(ZoneInfo(SITE_ZONE)).date()


#: a 1x1 PNG: the smallest evidence the upload endpoints take
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082"
)
_PARAM = re.compile(r"{([^}]+)}")
#: paths whose records no list names: the world key ``grow`` filled, or the list (and field) that names them
SOURCES = {
    "/medical-records/{patient_id}": ("/patients", "id"),
    "/coverage/check/{member_number}": ("/members", "member_number"),
    "/billing-settings/{institution_id}": ("/institutions", "id"),
    "/medical-records/record/{record_id}": "records",
    "/medical-records/attachments/{attachment_id}": "record_attachments",
    "/disputes/attachments/{attachment_id}": "dispute_attachments",
    "/webhook-deliveries/{delivery_id}": "webhook_deliveries",
}
#: body fields (at any depth) that name a record: the list that names them, and the field of its items
BODY_FIELDS = {
    "agent_id": ("/agents", "id"),
    "appointment_id": ("/appointments", "id"),
    "benefit_id": ("/benefits", "id"),
    "category_id": ("/benefit-categories", "id"),
    "claim_id": ("/claims", "id"),
    "company_id": ("/companies", "id"),
    "coverage_id": ("/coverages", "id"),
    "institution_id": ("/institutions", "id"),
    "invoice_id": ("/invoices", "id"),
    "member_number": ("/members", "member_number"),
    "principal_member_number": ("/members", "member_number"),
    "patient_id": ("/patients", "id"),
    "duplicate_id": ("/patients", "id"),  # a merge's other record, of the same hospital
    "payment_id": ("/payments", "id"),
    "personnel_id": ("/personnel", "id"),
    "record_id": "records",
    "scheme_id": ("/schemes", "id"),
    "benefit_code": ("/benefits", "code"),
    "service_code": ("/tariffs", "service_code"),
    "items[*].service_code": ("/tariffs", "service_code"),
    "lines[*].service_code": ("/tariffs", "service_code"),
    "file": "files",  # an upload's content: the document's pattern says a PDF's signature
}
#: body fields (at any depth) holding a day that a rule ties to today (a service date not in the future, a birth in
#: the past, a period that ends after it starts): days from today that keep those rules
DATE_FIELDS = {
    "service_date": (0, -1, -3, -7),
    "encounter_date": (0, -1, -2),
    "paid_on": (0, -1),
    "date_of_birth": (-12000, -9000, -3000),
    "start_date": (0, -30),
    "end_date": (334, 364),
    "valid_from": (0, 1),
    "valid_to": (30, 60),
    "period_start": (-300, -200),
    "period_end": (0, -1),
    "effective_from": (0, 1, 2, 3, 4, 5, 6, 7),
    "effective_to": (364, 365),
    "principal_date_of_birth": (-12000, -9000),
    "dependant_dates_of_birth[*]": (-3000, -5000),
}
#: other body fields a rule ties to another field or to stored state, and values that keep it
VALUES = {
    "reason": ["Agreed with the provider on the phone.", "The board approved new terms."],
    "age_from": [0, 18],
    "age_to": [64, 99],
}
#: fields of one operation that a rule ties to stored state no schema can state (what is still owed or
#: refundable, which kind of record a reference_id names): values that keep the rule, "tenant.x" for the
#: insurer or hospital the run works in
OPERATION_VALUES = {
    "POST /payments": {"body.kind": ["invoice"], "body.reference_id": "open_invoices", "body.amount": ["1.00"]},
    "POST /refunds": {"body.amount": ["1.00", "0.50"]},
    # invoices on which the patient and the insurer each still owe at least this
    "POST /invoices/{invoice_id}/credit-notes": {"path.invoice_id": "creditable_invoices", "body.amount": ["1.00"]},
    "POST /settlements": {"body.company_id": "tenant.company_id"},
    "POST /personnel": {"body.institution_id": "tenant.institution_id"},
    # only drafts change, and a draft stays with its provider and invoice (and what it replaces: hooks.py)
    "PUT /claims/{claim_id}": {
        "path.claim_id": "draft_claims",
        "body.invoice_id": "draft_invoices",
        "body.institution_id": "draft_institutions",
    },
    # claims pending review (no other operation names them), their first line at no more than it allows
    "POST /claims/{claim_id}/approve": {
        "path.claim_id": "review_claims",
        "body.overrides[*].line_no": [1],
        "body.overrides[*].approved": ["0.00"],
    },
    # a scheme still in set-up: it takes benefits without a reason, each once
    "POST /schemes/{scheme_id}/benefits": {"path.scheme_id": "setup_schemes"},
    # lab and radiology orders waiting for their result (hooks.py gives each shape an order of its kind)
    "POST /orders/{order_id}/result": {"path.order_id": "result_orders"},
    "POST /webhooks": {"body.url": ["http://127.0.0.1:9/contract", "https://localhost:9/contract"]},
    "POST /oauth/token": {
        "body.client_id": "oauth_client_ids",
        "body.client_secret": "oauth_client_secrets",
        "body.scope": ["integration"],
    },
}
#: operations whose document example the examples phase sends with the bound records in it (hooks.py): an example
#: that names no record in the state its rule needs would be the phase's only request, refused
BOUND_EXAMPLES = ["POST /invoices/{invoice_id}/credit-notes", "PUT /claims/{claim_id}"]
#: query parameters that name a record no list names: the world key ``grow`` filled
QUERY_FIELDS = {
    "run_id": "run_ids",
    "agent_id": ("/agents", "id"),
    "claim_id": ("/claims", "id"),
    "institution_id": ("/institutions", "id"),
    "company_id": ("/companies", "id"),
}
PER_PAGE = 200
#: the events the run's webhooks take
EVENTS = ["claim.decided", "invoice.issued", "payment.recorded", "refund.recorded", "dispute.opened"]


class Api:
    """The API as the admin sees it: JSON calls that must succeed."""

    def __init__(self, base: str, token: str):
        parts = urlsplit(base)
        self.host, self.port, self.prefix = parts.hostname, parts.port, "/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body=None, *, content_type="application/json", ok=(200, 201)):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            data = json.dumps(body) if content_type == "application/json" and body is not None else body
            headers = {**self.headers, "Content-Type": content_type} if body is not None else self.headers
            conn.request(method, self.prefix + path, body=data, headers=headers)
            reply = conn.getresponse()
            text = reply.read()
        finally:
            conn.close()
        if ok and reply.status not in ok:
            raise AssertionError(f"{method} {path} {body!r}: {reply.status} {text[:600]!r}")
        return json.loads(text) if text and reply.getheader("Content-Type", "").endswith("json") else None

    def items(self, path: str, **query) -> list[dict]:
        query = "&".join(f"{k}={v}" for k, v in {"per_page": PER_PAGE, **query}.items())
        return self.call("GET", f"{path}{'&' if '?' in path else '?'}{query}")["items"]

    def upload(self, path: str) -> dict:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="evidence.png"\r\n'
                "Content-Type: image/png\r\n\r\n"
            ).encode()
            + PNG
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.call("POST", path, body, content_type=f"multipart/form-data; boundary={boundary}")


def grow(api: Api, finance: Api) -> dict[str, list]:
    """Add the records the demo world leaves out (``finance``: an insurer's finance officer, who alone manages
    agents); the ids of those no list names."""
    today = site_today()
    made: dict[str, list] = {}
    approved = [c for c in api.items("/claims", status="approved") if c["total_approved"] != "0.00"]
    assert len(approved) >= 3, "the demo world has too few approved claims to pay, dispute and settle"
    paid = approved[1]
    # a webhook of the paying insurer and one of the paid hospital before anything happens, so the payments, the
    # dispute and the settlement below leave deliveries (to a closed local port: each fails, stays in the log)
    hooks = [
        api.call("POST", "/webhooks", {"url": "http://127.0.0.1:9/hook", "events": EVENTS, key: paid[key]})
        for key in ("company_id", "institution_id")
    ]
    disputed = api.items("/claims", status="partially_approved")[0]
    dispute = api.call("POST", "/disputes", {"claim_id": disputed["id"], "reason": "The ward nights were agreed."})
    made["dispute_attachments"] = [api.upload(f"/disputes/{dispute['id']}/attachments")["id"]]

    claim_payment = api.call(
        "POST",
        "/payments",
        {
            "kind": "claim",
            "reference_id": paid["id"],
            "amount": paid["total_approved"],
            "method": "bank_transfer",
            "reference": "EFT-CONTRACT-1",
        },
    )
    owing = next(
        i for i in api.items("/invoices") if i["status"] in ("issued", "partially_paid") and i["patient_part"] != "0.00"
    )
    invoice_payment = api.call(
        "POST",
        "/payments",
        {"kind": "invoice", "reference_id": owing["id"], "amount": "100.00", "method": "cash", "payer": "patient"},
    )
    api.call("POST", "/refunds", {"payment_id": invoice_payment["id"], "amount": "10.00", "reason": "Charged twice."})
    api.call("POST", "/refunds", {"payment_id": claim_payment["id"], "amount": "1.00", "reason": "Rounding."})
    first = today.replace(day=1) - timedelta(days=400)
    api.call(
        "POST",
        "/settlements",
        {
            "institution_id": approved[2]["institution_id"],
            "company_id": approved[2]["company_id"],
            "period_start": first.isoformat(),
            "period_end": today.isoformat(),
            "method": "bank_transfer",
            "reference": "EFT-CONTRACT-2",
        },
    )
    run = api.call(
        "POST",
        "/reconciliation/process",
        {
            "institution_id": approved[2]["institution_id"],
            "period_start": (today - timedelta(days=300)).isoformat(),
            "period_end": today.isoformat(),
        },
        ok=(202,),
    )
    made["run_ids"] = [run["run_id"]]

    agent = finance.call("POST", "/agents", {"code": "AG-CONTRACT", "name": "Contract Agency"})
    coverage = finance.items("/coverages", status="active")[0]
    finance.call("POST", f"/agents/{agent['id']}/assignments", {"coverage_id": coverage["id"]})
    finance.call("POST", "/payment-methods", {"kind": "mobile_money", "label": "M-Pesa till"})
    api.call(
        "POST",
        "/notifications/templates",
        {
            "code": "contract.hello",
            "channel": "email",
            "subject": "Hello",
            "body": "Hello {{ name }}",
            "variables": {"name": "who it is for"},
        },
    )

    patient = api.items("/patients")[0]
    record = api.call(
        "POST",
        "/medical-records",
        {"patient_id": patient["id"], "encounter_date": today.isoformat(), "diagnoses": ["J06.9"]},
    )
    made["records"] = [record["id"]]
    made["record_attachments"] = [api.upload(f"/medical-records/record/{record['id']}/attachments")["id"]]
    for kind, code in (("lab", "LAB-FBC"), ("radiology", "XRAY-CH"), ("pharmacy", "PH-PARA")):
        api.call(
            "POST", "/orders", {"record_id": record["id"], "kind": kind, "service_code": code, "description": code}
        )
    # orders waiting for their result, for POST /orders/{order_id}/result alone (hooks.py picks one of the kind
    # the generated result's shape is for)
    made["orders_by_kind"] = {"lab": [], "radiology": []}
    for kind, code in (("lab", "LAB-FBC"), ("radiology", "XRAY-CH")) * 6:
        order = {"record_id": record["id"], "kind": kind, "service_code": code, "description": code}
        made["orders_by_kind"][kind].append(api.call("POST", "/orders", order)["id"])
    made["result_orders"] = [i for ids in made["orders_by_kind"].values() for i in ids]
    clients = [
        api.call("POST", "/oauth/clients", {"name": name, "scopes": ["integration"], "company_id": paid["company_id"]})
        for name in ("Contract gateway", "Contract reader")
    ]
    # the token endpoint's client: no other operation names it (so none revokes it)
    made["oauth_client_ids"], made["oauth_client_secrets"] = [clients[0]["client_id"]], [clients[0]["client_secret"]]
    made["reserved"] = {"/oauth/clients": {clients[0]["id"]}, "/orders": set(made["result_orders"])}
    _grow_for_rules(api, made)
    made["webhook_deliveries"] = [d["id"] for hook in hooks for d in api.items(f"/webhooks/{hook['id']}/deliveries")]
    assert made["webhook_deliveries"], "the webhooks above were sent nothing"
    return made


def _grow_for_rules(api: Api, made: dict) -> None:
    """Records in the state one operation's rule needs, kept from every other operation (``made["reserved"]``):
    a draft claim to change, claims pending review to approve, a scheme in set-up to add benefits to, invoices
    on which both payers still owe something to credit."""
    reserved = made["reserved"]
    drafts = []
    for invoice in api.items("/invoices", status="issued"):
        if Decimal(invoice["insurer_part"]) > 0 and len(drafts) < 2:
            claim = api.call("POST", "/claims/from-invoice", {"invoice_id": invoice["id"]}, ok=None)
            if claim and "id" in claim:
                drafts.append(claim)
    assert drafts, "no issued invoice with an insurer part left to claim"
    made["draft_claims"] = [c["id"] for c in drafts]
    made["draft_invoices"] = [c["invoice_id"] for c in drafts][:1]
    made["draft_institutions"] = [c["institution_id"] for c in drafts][:1]
    made["draft_claims"] = made["draft_claims"][:1]
    review = [c["id"] for c in api.items("/claims", status="pending_review")]
    assert len(review) >= 4, "the demo world has too few claims pending review"
    made["review_claims"] = review[:4]
    reserved["/claims"] = {c["id"] for c in drafts} | set(made["review_claims"])
    company = api.items("/companies")[0]["id"]
    setup = api.call(
        "POST", "/schemes", {"company_id": company, "code": "CONTRACT-SETUP", "name": "Set-up", "status": "draft"}
    )
    made["setup_schemes"] = [setup["id"]]
    reserved["/schemes"] = {setup["id"]}
    owed: dict[int, dict[str, Decimal]] = {}
    for item in api.items("/accounts-receivable/items"):
        owed.setdefault(item["invoice_id"], {})[item["payer"]] = Decimal(item["balance"])
    made["creditable_invoices"] = [i for i, by in owed.items() if min(by.get("patient", 0), by.get("insurer", 0)) >= 2]
    assert made["creditable_invoices"], "no invoice on which both payers still owe"
    reserved["/invoices"] = set(made["creditable_invoices"][:3])
    made["creditable_invoices"] = made["creditable_invoices"][:3]


def _values(api: Api, source, made: dict[str, list]) -> list:
    """The values of ``source``; records of one insurer and one hospital (the first of each), so that the records
    one body names belong together (a member and a scheme of the same insurer, a patient of the invoicing
    hospital), as far as that leaves any."""
    if isinstance(source, str):
        return made[source]
    path, field = source
    kept = made.get("reserved", {}).get(path, set())
    items = [item for item in api.items(path) if item.get("id") not in kept]
    tenant = made.get("tenant", {})
    if path in ("/companies", "/institutions"):
        key = "company_id" if path == "/companies" else "institution_id"
        ours = [item for item in items if item["id"] == tenant.get(key)]
    else:
        ours = [item for item in items if all(item.get(k, v) in (v, None) for k, v in tenant.items())]
    return [item[field] for item in (ours or items) if item.get(field) is not None]


def bindings(
    api: Api, spec: dict, made: dict[str, list]
) -> tuple[dict[str, list], dict[str, dict[str, str]], dict[str, str]]:
    """The dictionaries (name -> values); per operation ("METHOD /path"), which path parameter draws from which;
    and which body field or query parameter draws from which, for every operation."""
    dictionaries: dict[str, list] = {}
    per_operation: dict[str, dict[str, str]] = {}

    def dictionary(name: str, values: list) -> str | None:
        values = list(dict.fromkeys(values))
        if not values:
            return None
        dictionaries[name] = values
        return name

    # one insurer and one hospital: the records a path and a body name belong together
    made["tenant"] = {
        "company_id": api.items("/companies")[0]["id"],
        "institution_id": api.items("/institutions")[0]["id"],
    }
    for path, operations in spec["paths"].items():
        for method in operations:
            # a DELETE takes its records from another parent than the reads and changes, which it would empty
            bound = _path_bindings(api, path, made, dictionaries, dictionary, deleting=method == "delete")
            per_operation[f"{method.upper()} {path}"] = {k: v for k, v in bound.items() if v}
    made["files"] = ["%PDF-1.4\n% contract evidence\n%%EOF\n"]
    today = site_today()
    for field, days in DATE_FIELDS.items():
        made[f"date_{field}"] = [(today + timedelta(days=d)).isoformat() for d in days]
    for field, values in VALUES.items():
        made[f"value_{field}"] = values
    sources = {f"body.{field}": source for field, source in BODY_FIELDS.items()}
    sources |= {f"body.{field}": f"date_{field}" for field in DATE_FIELDS}
    sources |= {f"body.{field}": f"value_{field}" for field in VALUES}
    sources |= {f"query.{field}": source for field, source in QUERY_FIELDS.items()}
    named = {key: dictionary(re.sub(r"\W+", "_", key), _values(api, source, made)) for key, source in sources.items()}
    made["open_invoices"] = [
        i["id"]
        for i in api.items("/invoices")
        if i["status"] in ("issued", "partially_paid")
        and Decimal(i["balance"]) >= 2
        and i["id"] not in made["reserved"]["/invoices"]
    ]
    for key, value in made["tenant"].items():
        made[f"tenant.{key}"] = [value]
    for label, values in OPERATION_VALUES.items():
        for key, source in values.items():
            name = dictionary(
                re.sub(r"\W+", "_", f"{label} {key}"), source if isinstance(source, list) else made[source]
            )
            per_operation[label][key] = name
    for label, bound in per_operation.items():
        method, path = label.split(" ", 1)
        taken = _fields_of(spec, spec["paths"][path][method.lower()])
        for key, name in named.items():
            source = sources[key]
            # a create's own new key (POST /members' member_number), not a reference to another record
            own = method == "POST" and isinstance(source, tuple) and source[0] == path and key.endswith(f".{source[1]}")
            if name and key in taken and not own and key not in bound:
                bound[key] = name
    return dictionaries, per_operation


def _fields_of(spec: dict, operation: dict) -> set[str]:
    """The binding keys of an operation's query parameters and JSON body fields (``body.items[*].service_code``)."""
    keys = {f"query.{p['name']}" for p in operation.get("parameters", []) if p["in"] == "query"}
    body = operation.get("requestBody", {}).get("content", {})
    schema = (body.get("application/json") or body.get("multipart/form-data") or {}).get("schema", {})

    def walk(schema: dict, prefix: str, depth: int) -> None:
        schema = _resolved(spec, schema)
        for option in schema.get("anyOf", []):
            walk(option, prefix, depth)
        for name, prop in schema.get("properties", {}).items():
            keys.add(f"{prefix}{name}")
            prop = _resolved(spec, prop)
            for option in [prop, *prop.get("anyOf", [])]:
                if option.get("type") == "array" and depth < 2:
                    walk(option.get("items", {}), f"{prefix}{name}[*].", depth + 1)
                    keys.add(f"{prefix}{name}[*]")

    walk(schema, "body.", 0)
    return keys


def _resolved(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref", "")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else schema


def _path_bindings(api: Api, path: str, made: dict, dictionaries: dict, dictionary, *, deleting: bool) -> dict:
    bound: dict[str, str | None] = {}
    for name in _PARAM.findall(path):
        until = path[: path.index("{" + name + "}")] + "{" + name + "}"
        key = re.sub(r"[^a-z0-9]+", "_", until.lower()).strip("_") + ("_deleted" if deleting else "")
        nested = bool(_PARAM.search(until[: -len(name) - 2]))
        if key in dictionaries:
            bound[f"path.{name}"] = key
            if nested:
                bound[f"path.{_PARAM.findall(until)[-2]}"] = key + "_parent"
        elif until in SOURCES:
            bound[f"path.{name}"] = dictionary(key, _values(api, SOURCES[until], made))
        elif nested:
            parent, child = _child_values(api, until, dictionaries, bound, skip=1 if deleting else 0)
            bound[f"path.{_PARAM.findall(until)[-2]}"] = dictionary(key + "_parent", [parent])
            bound[f"path.{name}"] = dictionary(key, child)
        else:
            collection = until[: -len(name) - 3]
            values = _values(api, (collection, name), made) or _values(api, (collection, "id"), made)
            bound[f"path.{name}"] = dictionary(key, values)
    return bound


def _child_values(api: Api, until: str, dictionaries: dict, bound: dict, *, skip: int) -> tuple[object, list]:
    """A parent that has children under ``until``'s collection (the first, or the one after ``skip`` others),
    and those children's values."""
    name = _PARAM.findall(until)[-1]
    collection = until[: -len(name) - 3]  # /schemes/{scheme_id}/benefits
    parent_path, _, field = collection.rpartition("/")
    parent_name = _PARAM.findall(parent_path)[-1]
    parent_key = bound[f"path.{parent_name}"]
    for parent in dictionaries[parent_key][:50]:
        read = api.call("GET", parent_path.replace("{" + parent_name + "}", str(parent)), ok=None) or {}
        children = [c.get(name, c.get("id")) for c in read.get(field, []) or [] if isinstance(c, dict)]
        if children and skip:
            skip -= 1
        elif children:
            return parent, children
    raise AssertionError(f"no record under {parent_path} has {field}: grow the world for {until}")
