"""The query parameters of an endpoint for the OpenAPI document, read from the code that validates them.

A view reads its query string only through ``medcover.api``'s readers (``day_arg``, ``int_arg``, ``choice_arg``,
``bool_arg``, ``money_arg``, ``text_arg``, ``required``, the paging of ``page_response``) or a plain
``request.args.get``. Each reader has one JSON schema here; the parameters of an endpoint are the reader calls in
its view and in the helpers of its own module that the view calls. So the document states exactly the rules the
endpoint enforces, without a second list to keep in step.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from enum import Enum
from functools import cache

from medcover.api import MAX_PAGE, MAX_PER_PAGE

ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
DAY_SCHEMA = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
MONEY_SCHEMA = {"type": "string", "pattern": r"^\s*\d{1,10}(\.\d{1,2})?\s*$"}
PAGING = {
    "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
    "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
}
#: readers whose first argument names the parameter, and the schema of what they accept
_READERS = {
    "day_arg": lambda call, scope: DAY_SCHEMA,
    "int_arg": lambda call, scope: ID_SCHEMA,
    "money_arg": lambda call, scope: MONEY_SCHEMA,
    "bool_arg": lambda call, scope: {"type": "boolean"},
    "text_arg": lambda call, scope: {"type": "string"},
    "get": lambda call, scope: {"type": "string"},  # request.args.get: any text, cut or ignored by the view
    "choice_arg": lambda call, scope: {"type": "string", "enum": _choices(call, scope)},
}
_PAGED = {"page_response", "paginate", "page_params"}
_OPTIONAL_BODY = " optional body"  # a marker among the names found, never a parameter
_FILE_BODY = " file body"  # the view reads an uploaded file (``uploads.file_part``)
#: an optional parameter sent empty is taken as left out (a cleared filter)
_EMPTY = {"type": "string", "enum": [""]}


def _choices(call: ast.Call, scope: dict) -> list[str]:
    # the second argument names an Enum or a sequence of strings in the view's module
    found = eval(compile(ast.Expression(call.args[1]), "<choices>", "eval"), scope)  # noqa: S307 - our own source
    return [c.value if isinstance(c, Enum) else str(c) for c in found]


def _name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _is_request_args(call: ast.Call) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and ast.unparse(func.value) == "request.args"


@cache
def _tree(fn) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None


def _collect(fn, found: dict, required: set, seen: set) -> None:
    fn = inspect.unwrap(fn)
    if fn in seen or (tree := _tree(fn)) is None:
        return
    seen.add(fn)
    scope = fn.__globals__
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (name := _name(node)) is None:
            continue
        first = node.args[0] if node.args else None
        constant = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
        if name == "optional_body":
            found[_OPTIONAL_BODY] = {}
        elif name == "file_part":
            found[_FILE_BODY] = {}
        elif name in _PAGED:
            for key, schema in PAGING.items():
                found.setdefault(key, schema)
        elif name == "required" and constant:
            required.add(constant)
        elif constant and name in _READERS and (name != "get" or _is_request_args(node)):
            found.setdefault(constant, _READERS[name](node, scope))
        helper = scope.get(name)
        if inspect.isfunction(helper) and helper.__module__ == fn.__module__:
            _collect(helper, found, required, seen)


def takes_no_body(view) -> bool:
    """Whether the view reads its body through ``optional_body`` (an action whose body may be left out)."""
    found: dict[str, dict] = {}
    _collect(view, found, set(), set())
    return _OPTIONAL_BODY in found


def takes_a_file(view) -> bool:
    """Whether the view reads a multipart ``file`` part (``medcover.uploads.file_part``)."""
    found: dict[str, dict] = {}
    _collect(view, found, set(), set())
    return _FILE_BODY in found


def query_parameters(view, descriptions: dict[str, str]) -> list[dict]:
    """The OpenAPI query parameters ``view`` reads, with the descriptions its ``@documented`` gives."""
    found: dict[str, dict] = {}
    required: set[str] = set()
    _collect(view, found, required, set())
    for name in descriptions:
        found.setdefault(name, {"type": "string"})
    params = []
    found.pop(_OPTIONAL_BODY, None)
    found.pop(_FILE_BODY, None)
    for name, schema in found.items():
        if name in required and schema == {"type": "string"}:
            schema = {"type": "string", "minLength": 1, "pattern": r"\S"}  # trimmed, then required
        if name not in required and schema.get("type") != "boolean" and name not in PAGING:
            schema = {"anyOf": [schema, _EMPTY]} if schema != {"type": "string"} else schema
        param = {"name": name, "in": "query", "required": name in required, "schema": dict(schema)}
        if descriptions.get(name):
            param["description"] = descriptions[name]
        params.append(param)
    return params
