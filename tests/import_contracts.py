"""ARCHITECTURE.md's rules that import-linter's built-in contracts cannot say, as contract types of our own
(``contract_types`` in pyproject.toml). Both read the rules from the layout, so a new module is covered the
moment it exists:

- ``request_edge``: only web modules (any module inside a package named ``web``) read the request. Every other
  module of the source packages is kept from Flask's ``request``, ``session`` and ``g``, from
  ``flask_login.current_user`` and from the form libraries; and none imports a web module, except the domain
  package itself, which registers its routes.
- ``public_face``: a domain imports another domain only through that domain's ``services`` package.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output

#: what a module outside ``web`` may not take from these packages (None: nothing at all)
REQUEST_OBJECTS = {
    "flask": {"request", "session", "g", "has_request_context"},
    "flask_login": {"current_user", "login_user", "logout_user", "login_required"},
    "flask_wtf": None,
    "wtforms": None,
}


@dataclass(frozen=True)
class Breach:
    importer: str
    imported: str
    line_number: int
    reason: str


def _is_web(module: str) -> bool:
    return "web" in module.split(".")


def _path_of(module: str) -> Path:
    base = Path(*module.split("."))
    package = base / "__init__.py"
    return package if package.exists() else base.with_suffix(".py")


def _request_imports(module: str) -> list[tuple[int, str, str]]:
    """(line, package, name) for each request object or form library that ``module`` imports."""
    path = _path_of(module)
    if not path.exists():
        return []
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if top in REQUEST_OBJECTS:
                banned = REQUEST_OBJECTS[top]
                for alias in node.names:
                    if banned is None or alias.name in banned:
                        found.append((node.lineno, node.module, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in REQUEST_OBJECTS and REQUEST_OBJECTS[top] is None:
                    found.append((node.lineno, alias.name, "*"))
    return found


def _modules(graph, packages) -> set[str]:
    names: set[str] = set()
    for package in packages:
        names |= {package, *graph.find_descendants(package)}
    return names


def _render(check: ContractCheck) -> None:
    for breach in check.metadata["breaches"]:
        output.print_error(f"{breach.importer} -> {breach.imported} (l.{breach.line_number}): {breach.reason}")
        output.new_line()


class RequestEdgeContract(Contract):
    """Only modules inside a ``web`` package read the request or build forms; nothing else imports them."""

    type_name = "request_edge"

    source_packages = fields.ListField(subfield=fields.StringField())
    #: modules outside any ``web`` package that are a request edge all the same (the platform's own)
    edge_modules = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph, verbose: bool) -> ContractCheck:
        edge = set(self.edge_modules)
        breaches: list[Breach] = []
        for module in sorted(_modules(graph, self.source_packages)):
            if _is_web(module) or module in edge:
                continue
            for line, package, name in _request_imports(module):
                breaches.append(Breach(module, package, line, f"imports {name} outside a web package"))
            is_domain_package = module.count(".") == 1
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                if _is_web(imported) and not is_domain_package:
                    for detail in graph.get_import_details(importer=module, imported=imported) or [{}]:
                        breaches.append(Breach(module, imported, detail.get("line_number", 0), "imports a web module"))
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)


class PublicFaceContract(Contract):
    """``root.<domain>`` imports ``root.<other>`` only through ``root.<other>.services``."""

    type_name = "public_face"

    root = fields.StringField()

    def check(self, graph, verbose: bool) -> ContractCheck:
        breaches: list[Breach] = []
        depth = self.root.count(".") + 1
        for module in sorted(graph.find_descendants(self.root)):
            domain = module.split(".")[depth]
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                parts = imported.split(".")
                if parts[:depth] != self.root.split(".") or len(parts) <= depth or parts[depth] == domain:
                    continue
                if len(parts) > depth + 1 and parts[depth + 1] == "services":
                    continue
                for detail in graph.get_import_details(importer=module, imported=imported) or [{}]:
                    reason = f"another domain's {'.'.join(parts[depth + 1 :]) or 'package'}: use its services"
                    breaches.append(Breach(module, imported, detail.get("line_number", 0), reason))
        return ContractCheck(kept=not breaches, metadata={"breaches": breaches})

    def render_broken_contract(self, check: ContractCheck) -> None:
        _render(check)
