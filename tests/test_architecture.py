"""ARCHITECTURE.md's rules that the import contracts cannot see: what passes between domains.

import-linter (``make lint``) already keeps each domain's models private, keeps the request in web packages and
makes domains meet only through ``services``. These tests look at what is called through ``services``: no
domain borrows another's query builder (``*_query``) to filter on its columns; it asks a read named for its
purpose. And they check that the contracts themselves can fail, on a copy of the tree broken on purpose.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOMAINS = ("core", "notification", "insurance", "hospital", "billing", "claims", "payment")


def _cross_domain_calls() -> list[tuple[str, str, str]]:
    """(file, other domain, name) for every ``<alias>.<name>`` where alias is another domain's services."""
    found = []
    for path in sorted((REPO / "blueprints").rglob("*.py")):
        mine = path.relative_to(REPO / "blueprints").parts[0]
        tree = ast.parse(path.read_text(), str(path))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[0] != "blueprints" or len(parts) < 2 or parts[1] == mine:
                    continue
                for alias in node.names:
                    if len(parts) == 2 and alias.name == "services":
                        aliases[alias.asname or alias.name] = parts[1]
                    elif len(parts) >= 3 and parts[2] == "services":
                        found.append((str(path.relative_to(REPO)), parts[1], alias.name))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.append((str(path.relative_to(REPO)), aliases[node.value.id], node.attr))
    return found


def test_domains_call_each_other_at_all():
    # The scan below means something only if it sees the calls that do cross (billing reads hospital's patients).
    assert ("hospital", "patients_by_id") in {(other, name) for _, other, name in _cross_domain_calls()}


def test_no_domain_borrows_another_domains_query_builder():
    borrowed = [f"{file}: {other}.{name}" for file, other, name in _cross_domain_calls() if name.endswith("_query")]
    assert borrowed == []


def _lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory) -> subprocess.CompletedProcess:
    """lint-imports over a copy of the application with one breach of each rule the contracts keep."""
    tree = tmp_path_factory.mktemp("broken")
    for name in ("medcover", "blueprints", "tests", "pyproject.toml", "config.py", "wsgi.py"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tree / name, ignore=shutil.ignore_patterns("__pycache__", "e2e"))
        else:
            shutil.copy(source, tree / name)
    breaches = {
        # a domain reading another's tables
        "blueprints/claims/services/breach_models.py": "from blueprints.billing.models import Invoice\n",
        # a service reading the request and the signed-in user
        "blueprints/billing/services/breach_request.py": (
            "from flask import request\nfrom flask_login import current_user\n"
        ),
        # an upward call: insurance sits below claims
        "blueprints/insurance/services/breach_upward.py": "from blueprints.claims import services\n",
    }
    for relative, text in breaches.items():
        (tree / relative).write_text(text)
    return _lint_imports(tree)


def test_the_contracts_pass_on_the_real_tree():
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.parametrize(
    ("contract", "breach"),
    [
        ("Billing models are private to billing", "breach_models"),
        ("Domains meet only through services", "breach_models"),
        ("Only web modules read the request", "breach_request"),
        ("Calls go downward", "breach_upward"),
    ],
)
def test_each_contract_fails_when_broken_on_purpose(broken_run, contract, breach):
    done = broken_run
    assert done.returncode != 0
    assert f"{contract} BROKEN" in done.stdout
    report = done.stdout.split(f"{contract}\n", 1)[-1]
    assert breach in report
