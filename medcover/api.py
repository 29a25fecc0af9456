"""The JSON API's shared parts: blueprints under /api/v1, bodies, problem+json, pagination, docs metadata."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, TypeVar, get_args, get_origin

from annotated_types import MaxLen
from flask import Blueprint, Response, current_app, g, request
from flask_login import current_user
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    Strict,
    ValidationError,
    model_validator,
)
from werkzeug.exceptions import RequestEntityTooLarge

from medcover.api_docs import Doc, documented  # noqa: F401 - endpoints import them from here
from medcover.api_input import (  # noqa: F401 - the request's typed values live there; endpoints import them here
    CURRENCY_JSON,
    DAY_JSON,
    MONEY_JSON,
    PERCENT_JSON,
    CurrencyIn,
    Day,
    MoneyIn,
    PercentIn,
    any_case,
    bool_arg,
    choice_arg,
    day_arg,
    int_arg,
    money_arg,
    required,
    strict_day,
    strict_money,
    text_arg,
)
from medcover.errors import DomainError, Invalid, NotFound
from medcover.extensions import csrf, db, rate_limit
from medcover.paging import fetch_page
from medcover.ratelimit import client_address, client_key
from medcover.rbac import Tenant, tenant_of

T = TypeVar("T", bound=BaseModel)
PREFIX = "/api/v1"
PROBLEM_TYPE = "about:blank"
MAX_PER_PAGE = 200
#: a page number beyond this is refused (no list is that long; the database's offset stays in range)
MAX_PAGE = 1_000_000

#: Money in and out of the API: a JSON string with two decimals.
Money = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json")]
#: A record id in a request body: a JSON integer, not ``true`` or ``"7"`` (which lax parsing would take).
Id = Annotated[int, Strict(), Field(ge=1, le=2**31 - 1)]


class Schema(BaseModel):
    """Request bodies: unknown fields are refused, strings trimmed (of what Python counts as blank, as the
    services do, so a text of control separators alone is as empty to the model as to them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _trim(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        lengths = _lengths(cls)
        return {key: _trimmed(key, value, lengths.get(key)) for key, value in data.items()}


#: control characters no request text may hold (PostgreSQL cannot store NUL; the rest only hides text)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


_BLANK = r"\s\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


#: the OpenAPI extension on a request body holding the JSON Schema it must also meet when a platform administrator
#: (bound to no hospital or insurer) sends it: the organisation that staff leave out, being their own, an admin names
PLATFORM_ADMIN = "x-platform-admin"


def named_by_platform_admins(*fields: str) -> dict:
    """A body's ``json_schema_extra``: a platform administrator names the organisation in ``fields`` (one of them,
    when there are several), as an integer id."""
    each = [{"required": [name], "properties": {name: {"type": "integer"}}} for name in fields]
    return {PLATFORM_ADMIN: each[0] if len(each) == 1 else {"oneOf": each}}


def text_pattern(*, filled: bool, refused: str = "") -> str:
    """The JSON Schema pattern of request text: no control characters (nor ``refused``); a ``filled`` one holds
    something besides blanks (Python's blanks, some of which JSON Schema's ``\\s`` leaves out, spelled out)."""
    no = CONTROL.pattern.strip("[]") + re.escape(refused)
    return rf"^[^{no}]*[^{no}{_BLANK}][^{no}]*$" if filled else rf"^[^{no}]*$"


def _no_control(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("Remove the control characters.")
    return value.strip()


#: text inside a map (``dict[str, Text]``), which the body's own check does not reach: the same rule
Text = Annotated[str, AfterValidator(_no_control)]


@cache
def _lengths(model: type[BaseModel]) -> dict[str, int | None]:
    """Each field's stated ``maxLength``, worked out once per model (it is asked on every request)."""
    return {key: _max_length(f.annotation, f.metadata) for key, f in model.model_fields.items()}


def _max_length(annotation: Any, metadata: list = ()) -> int | None:
    """The ``maxLength`` the document states for a string field (or for a list's strings), found in its metadata."""
    for item in metadata:
        if isinstance(item, MaxLen) and annotation is str:
            return item.max_length
    for arg in get_args(annotation):
        if get_origin(arg) is Annotated:
            inner, *extra = get_args(arg)
            found = _max_length(inner, [m for e in extra for m in getattr(e, "metadata", [e])])
        else:
            found = _max_length(arg) if get_args(arg) else None
        if found is not None:
            return found
    return None


def _trimmed(key: str, value: Any, max_length: int | None = None) -> Any:
    """Blanks around a text are dropped, but its length is the one the document states: a text longer than
    ``max_length`` stays as sent, for the model to refuse."""
    if isinstance(value, list):
        return [_trimmed(key, item, max_length) for item in value]
    if not isinstance(value, str):
        return value
    if CONTROL.search(value):
        raise Invalid.field(key, "Remove the control characters.")
    if max_length is not None and len(value) > max_length:
        return value
    return value.strip()


class Out(BaseModel):
    """Response bodies, built from plain values or dataclasses."""

    model_config = ConfigDict(from_attributes=True)


# Token authentication is the core domain's: it registers a function taking the bearer token and
# returning a user or None. The gateway itself knows nothing of users.
_authenticators: list[Callable[[str], Any]] = []


def register_token_authenticator(fn: Callable[[str], Any]) -> None:
    if fn not in _authenticators:
        _authenticators.append(fn)


#: deeper JSON than this is refused before anything parses it (Python's parser would recurse out of stack)
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:\\.|[^"\\])*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(raw: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings, which may hold brackets, left out)."""
    depth = deepest = 0
    for byte in _JSON_STRING.sub(b'""', raw).translate(None, _NOT_BRACKETS):
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"


def _refuse_unreadable_json():
    """Too big (413) or too deep (400) JSON is refused before anything parses it."""
    if not request.mimetype.endswith("json"):
        return None
    limit = min(current_app.config["API_MAX_JSON_BYTES"], current_app.config["MAX_CONTENT_LENGTH"] or 2**62)
    too_big = f"The JSON body is larger than {_size(limit)}."
    if (request.content_length or 0) > limit:
        return problem(413, "Content Too Large", too_big)
    request.max_content_length = limit  # a body without Content-Length stops being read at the limit
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        return problem(413, "Content Too Large", too_big)
    if json_depth(raw) > MAX_JSON_DEPTH:
        return problem(400, "Bad Request", f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels.")
    return None


def _authenticate() -> None:
    from flask_login import AnonymousUserMixin

    user = None
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and _authenticators:
        user = _authenticators[0](header[7:].strip())
    # Cookies never authenticate the API: it is exempt from CSRF, so only a bearer token counts.
    g._login_user = user or AnonymousUserMixin()


def api_blueprint(name: str, import_name: str) -> Blueprint:
    """A domain's JSON blueprint under /api/v1: bearer auth, no CSRF (no cookies), rate limited."""
    bp = Blueprint(name, import_name, url_prefix=PREFIX)
    bp.before_request(_refuse_unreadable_json)
    bp.before_request(_authenticate)
    csrf.exempt(bp)
    rate_limit(lambda: current_app.config["RATELIMIT_API"], key_func=client_key)(bp)
    rate_limit(lambda: current_app.config["RATELIMIT_API"], key_func=client_address, scope="api-address")(bp)
    return bp


def problem(
    status: int, title: str, detail: str = "", errors: dict | None = None, headers=None, extra: dict | None = None
) -> Response:
    body = {"type": PROBLEM_TYPE, "title": title, "status": status, "detail": detail or title}
    if errors is not None:
        body["errors"] = errors
    for key, value in (extra or {}).items():  # RFC 9457 extension members; the standard ones win
        body.setdefault(key, value)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _field_name(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "Unknown field."
        elif error["type"] == "missing":
            message = "This field is required."
        errors.setdefault(_field_name(error["loc"]), []).append(message)
    return errors


def _json_number(text: str) -> Decimal | int:
    """A JSON number with a fraction or an exponent: ``1.0`` is the integer 1 (JSON Schema says so), ``1.5`` a
    Decimal (never a float, which loses cents)."""
    number = Decimal(text)
    if number.is_finite() and number == number.to_integral_value() and abs(number.adjusted()) <= 18:
        return int(number)
    return number


def parse(model: type[T], data: Any = None) -> T:
    """The request's JSON body as ``model``; anything else is a 422 with field messages."""
    if data is None:
        raw = request.get_data(cache=True)
        try:
            data = json.loads(raw or b"null", parse_float=_json_number)
        except RecursionError:
            raise DomainError("The JSON body is nested too deeply.", {"body": ["Nested too deeply."]}) from None
        except (ValueError, UnicodeDecodeError):
            raise Invalid("The body is not valid JSON.", {"body": ["Not valid JSON."]}) from None
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.", {"body": ["Expected a JSON object."]})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid("The request has invalid fields.", validation_errors(exc)) from None


def jsonify_model(model: BaseModel, status: int = 200, headers=None) -> Response:
    response = Response(model.model_dump_json(), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def page_params() -> tuple[int, int]:
    errors: dict[str, list[str]] = {}
    values = {}
    for name, default, upper in (("page", 1, MAX_PAGE), ("per_page", 50, MAX_PER_PAGE)):
        raw = request.args.get(name)
        if raw is not None and not _WHOLE.match(raw):
            errors[name] = ["Must be a whole number."]
            continue
        value = int(raw) if raw is not None else default
        if not 1 <= value <= upper:
            errors[name] = [f"Must be between 1 and {upper}."]
        values[name] = value
    if errors:
        raise Invalid("Bad paging parameters.", errors)
    return values["page"], values["per_page"]


def paginate(stmt, serialize: Callable[[Any], Any]) -> dict:
    """One count and one page query, whatever the table's size."""
    page, per_page = page_params()
    rows, total = fetch_page(stmt, page, per_page)
    return {"items": [serialize(row) for row in rows], "page": page, "per_page": per_page, "total": total}


def page_response(stmt, item: type[BaseModel], page: type[BaseModel], batch: Callable[[list], list] | None = None):
    """A list endpoint's answer: one page of ``stmt`` as ``page`` (see ``page_model``). Rows become ``item``
    one by one, or all at once through ``batch`` where they need related values read in one go."""
    found = paginate(stmt, (lambda row: row) if batch else item.model_validate)
    if batch:
        found["items"] = batch(found["items"])
    return jsonify_model(page.model_validate(found))


def actor():
    """The authenticated caller (the real user object, not Flask-Login's proxy), for the services."""
    return current_user._get_current_object()


def tenant() -> Tenant:
    """The rows the caller may see."""
    return tenant_of(current_user)


def created(model: BaseModel, headers=None) -> Response:
    """Commit the request's change and answer 201 with ``model`` (built before the commit, so nothing reloads)."""
    db.session.commit()
    return jsonify_model(model, status=201, headers=headers)


def saved(model: BaseModel, status: int = 200) -> Response:
    """Commit the request's change and answer ``model``."""
    db.session.commit()
    return jsonify_model(model, status=status)


def optional_body(model: type[T]) -> T:
    """A body that may be left out entirely (actions such as check-in, suspend or approve)."""
    if not request.get_data(cache=True).strip():
        return parse(model, {})
    return parse(model)


def referenced(field: str, lookup, *args):
    """A record named in a request body: one the caller may not see is a field error, not a 404."""
    try:
        return lookup(*args)
    except NotFound as exc:
        raise Invalid.field(field, exc.detail) from None


_WHOLE = re.compile(r"^-?[0-9]{1,12}$")


def page_model(item: type[BaseModel]) -> type[BaseModel]:
    """The list shape for an item model: {"items", "page", "per_page", "total"} (named ItemPage)."""
    from pydantic import create_model

    name = item.__name__.removesuffix("Out") + "Page"
    return create_model(
        name, __base__=Out, items=(list[item], ...), page=(int, ...), per_page=(int, ...), total=(int, ...)
    )
