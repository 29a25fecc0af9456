"""The FHIR gateway: /fhir as a second skin over the domains' services.

It is the JSON API's gateway under another prefix (``medcover.api.api_blueprint``: the same bearer-token
authenticator hook, no CSRF, the same rate limits and JSON size checks), with FHIR's own shapes around it:
bodies parsed into fhir.resources R4B models, answers serialised as ``application/fhir+json``, and every error
under /fhir, whoever raised it (a view, the access guard, the router, the rate limiter, a domain service, the
database), an ``OperationOutcome``. The app's own handlers still run first (rollback, audit of refusals, the
request id); their problem+json answer is rewritten here into an OperationOutcome.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from flask import Response, request
from pydantic import ValidationError

from blueprints.fhir.answers import FHIR_JSON, dump, respond
from blueprints.fhir.capability import register_capability  # noqa: F401 - part of the gateway's face
from blueprints.fhir.types import (  # noqa: F401 - part of the gateway's face
    identifier,
    identifier_value,
    literal_ref,
    logical_ref,
    money,
    reference_id,
    reference_identifier,
)
from medcover.api import api_blueprint
from medcover.errors import DomainError
from medcover.extensions import db

PREFIX = "/fhir"
DEFAULT_COUNT = 50
MAX_COUNT = 200
MAX_PAGE = 1_000_000

M = TypeVar("M")

#: The blueprint every FHIR route module registers on (endpoint names ``api_fhir.*``: the ``api`` prefix is
#: what makes the access guard answer 401 rather than redirect to the sign-in page).
bp = api_blueprint("api_fhir", __name__)
bp.url_prefix = PREFIX

#: OperationOutcome issue codes for HTTP statuses (http://hl7.org/fhir/issue-type)
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    412: "conflict",
    413: "too-costly",
    415: "not-supported",
    422: "business-rule",
    429: "throttled",
    500: "exception",
    503: "transient",
}


class FhirError(Exception):
    """An error answered as an OperationOutcome: ``status``, an issue ``code`` (issue-type), ``diagnostics``
    and the FHIRPath ``expression`` of the element at fault; ``issues`` for more than one."""

    def __init__(
        self,
        status: int,
        diagnostics: str,
        *,
        code: str | None = None,
        expression: list[str] | None = None,
        issues: list[dict] | None = None,
    ):
        super().__init__(diagnostics)
        self.status = status
        self.code = code or issue_code(status)
        self.diagnostics = diagnostics
        self.expression = expression or []
        self.issues = issues or [issue(self.code, diagnostics, self.expression)]

    @classmethod
    def from_domain(cls, exc: DomainError, paths: dict[str, str] | None = None) -> FhirError:
        """A domain error (its status and messages) with its fields named by FHIRPath: ``paths`` maps the
        service's field names to elements (``{"member_number": "Claim.patient"}``)."""
        paths = paths or {}
        code = issue_code(exc.status)
        issues = [
            issue(code, f"{message}", [paths[name]] if name in paths else [])
            for name, messages in (exc.errors or {}).items()
            for message in messages
        ]
        return cls(exc.status, exc.detail, code=code, issues=issues or None)


def issue_code(status: int) -> str:
    return _ISSUE_CODES.get(status, "exception" if status >= 500 else "processing")


def issue(code: str, diagnostics: str, expression: list[str] | None = None, severity: str = "error") -> dict:
    found = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression:
        found["expression"] = expression
    return found


def outcome_response(status: int, issues: list[dict], headers=None) -> Response:
    body = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": issues})
    return respond(body, status=status, headers=headers)


@bp.errorhandler(FhirError)
def _fhir_error(exc: FhirError):
    db.session.rollback()  # nothing a failed request did is kept
    return outcome_response(exc.status, exc.issues)


def is_fhir_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def as_operation_outcome(response: Response) -> Response:
    """An app-wide after-request hook: a problem+json (or HTML error) answer under /fhir becomes an
    OperationOutcome with the same status and headers (Retry-After, Allow, X-Request-ID stay)."""
    if not is_fhir_path(request.path) or response.status_code < 400 or response.mimetype == FHIR_JSON:
        return response
    status = response.status_code
    detail, errors = "", {}
    if response.mimetype == "application/problem+json":
        try:
            problem = json.loads(response.get_data())
            detail = problem.get("detail") or problem.get("title") or ""
            errors = problem.get("errors") or {}
        except (ValueError, AttributeError):
            pass
    code = issue_code(status)
    issues = [issue(code, detail or _default_detail(status))]
    issues += [issue(code, f"{name}: {message}") for name, messages in errors.items() for message in _as_list(messages)]
    body = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": issues})
    response.set_data(dump(body))
    response.mimetype = FHIR_JSON
    response.direct_passthrough = False
    return response


def _as_list(messages) -> list:
    return messages if isinstance(messages, list) else [messages]


def _default_detail(status: int) -> str:
    from werkzeug.http import HTTP_STATUS_CODES

    return HTTP_STATUS_CODES.get(status, "Error")


# --- reading a resource ------------------------------------------------------------------------------


def fhirpath(resource_type: str, loc: tuple) -> str:
    """``("item", 0, "servicedDate")`` -> ``Claim.item[0].servicedDate``."""
    path = resource_type
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "resource_type":
            path += ".resourceType"
        else:
            path += f".{part}"
    return path


def _issue_of(resource_type: str, error: dict) -> dict:
    kind = error["type"]
    if kind == "missing":
        code, message = "required", "This element is required."
    elif kind == "extra_forbidden":
        code, message = "structure", "Unknown element."
    elif kind.startswith("fhir-validation-wrong-resource-type"):
        code, message = "invalid", f"Expected a {resource_type}."
    else:
        code, message = "value", str(error["msg"]).removeprefix("Value error, ")
        kind = message.partition(" value string does not match spec regex")[0]
        if kind in _FORMATS:
            message = f"Not a valid {kind.lower()}: use {_FORMATS[kind]}."
    return issue(code, message, [fhirpath(resource_type, tuple(error["loc"]))])


#: what the model library's "<Type> value string does not match spec regex" wants, in words
_FORMATS = {
    "Date": "YYYY, YYYY-MM or YYYY-MM-DD",
    "DateTime": "YYYY-MM-DD or YYYY-MM-DDThh:mm:ss with a time zone",
    "Instant": "YYYY-MM-DDThh:mm:ss with a time zone",
    "Time": "hh:mm:ss",
    "Decimal": "a decimal number",
}


def parse_resource(model_cls: type[M], data: Any = None) -> M:
    """The request's body as a fhir.resources R4B ``model_cls``: not JSON, not an object, another
    resourceType or not a valid resource is a 400 OperationOutcome, one issue per fault, each with the
    FHIRPath of its element."""
    resource_type = model_cls.get_resource_type()
    if data is None:
        try:
            data = json.loads(request.get_data(cache=True) or b"null", parse_float=Decimal)
        except RecursionError:
            raise FhirError(400, "The JSON body is nested too deeply.", code="structure") from None
        except (ValueError, UnicodeDecodeError):
            raise FhirError(400, "The body is not valid JSON.", code="structure") from None
    if not isinstance(data, dict):
        raise FhirError(400, f"The body must be a {resource_type} resource (a JSON object).", code="structure")
    if data.get("resourceType") != resource_type:
        raise FhirError(
            400, f"Expected a {resource_type} resource.", code="invalid", expression=[f"{resource_type}.resourceType"]
        )
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        issues = [_issue_of(resource_type, error) for error in exc.errors(include_url=False)]
        raise FhirError(400, f"Not a valid {resource_type}.", issues=issues) from None
    except (ValueError, TypeError) as exc:  # a validator of the model library that raised outside pydantic
        raise FhirError(400, f"Not a valid {resource_type}: {exc}", code="value") from None


# --- answering ---------------------------------------------------------------------------------------


def page_args() -> tuple[int, int]:
    """``_page`` (from 1) and ``_count`` (0..200, default 50; 0 asks for the total alone, as FHIR clients count) of a
    search; anything else is a 400."""
    values = {}
    for name, default, lower, upper in (("_page", 1, 1, MAX_PAGE), ("_count", DEFAULT_COUNT, 0, MAX_COUNT)):
        raw = request.args.get(name, "").strip()
        if not raw:
            values[name] = default
            continue
        if not raw.isascii() or not raw.isdigit() or not lower <= int(raw) <= upper:
            raise FhirError(
                400, f"{name} must be a whole number from {lower} to {upper}.", code="value", expression=[name]
            )
        values[name] = int(raw)
    return values["_page"], values["_count"]


def _page_url(page: int, count: int) -> str:
    args = [(key, value) for key, value in request.args.items(multi=True) if key not in ("_page", "_count")]
    args += [("_count", str(count)), ("_page", str(page))]
    return f"{request.base_url}?{urlencode(args)}"


def search_links(total: int) -> tuple[str, str | None]:
    """(self, next) links of the current search page, from its ``_page``/``_count`` and the total."""
    page, count = page_args()
    return _page_url(page, count), (_page_url(page + 1, count) if count and page * count < total else None)


def searchset(resources: list, *, total: int, self_url: str | None = None, next_url: str | None = None) -> Bundle:
    """A searchset Bundle of one page of ``resources`` (``fullUrl`` each; ``self``/``next`` links)."""
    if self_url is None:
        self_url, next_url = search_links(total)
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    base = request.url_root.rstrip("/") + PREFIX
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": [
                {
                    "fullUrl": f"{base}/{resource.get_resource_type()}/{resource.id}",
                    "resource": resource,
                    "search": {"mode": "match"},
                }
                for resource in resources
            ],
        }
    )


def search_param(name: str, *, max_length: int = 100) -> str | None:
    """A search parameter's value (trimmed; None when absent); an over-long or control-laden one is a 400."""
    raw = request.args.get(name)
    if raw is None:
        return None
    value = raw.strip()
    if len(value) > max_length or any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
        raise FhirError(400, f"The search parameter {name} is not a valid value.", code="value", expression=[name])
    return value


def token_param(name: str, system: str | tuple[str, ...]) -> str | None:
    """A token search parameter ``[system|]value``: the value when the system is ``system`` (or left out); a
    token of another system is a 400 (this server knows only its own identifiers)."""
    value = search_param(name)
    if value is None:
        return None
    systems = (system,) if isinstance(system, str) else system
    if "|" in value:
        given, _, value = value.partition("|")
        if given and given not in systems:
            raise FhirError(
                400, f"{name}: unknown identifier system {given}; use {' or '.join(systems)}.", expression=[name]
            )
    if not value:
        raise FhirError(400, f"{name}: give a value.", code="value", expression=[name])
    return value


def refuse_unknown_params(known: set[str]) -> None:
    """A search with a parameter this server does not support is a 400 (not silently ignored)."""
    # _total and _totalMethod ask for the total, which every searchset carries anyway
    unknown = sorted(set(request.args) - known - {"_count", "_page", "_format", "_total", "_totalMethod"})
    if unknown:
        raise FhirError(
            400, f"Unsupported search parameter: {', '.join(unknown)}.", code="not-supported", expression=unknown
        )


def init_app(app) -> None:
    app.after_request(as_operation_outcome)
