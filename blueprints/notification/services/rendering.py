"""Template rendering in a Jinja sandbox: a template reaches its context and nothing else."""

from __future__ import annotations

import functools
from datetime import date

from jinja2 import Template, TemplateError, Undefined, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from blueprints.notification.services.defaults import DATES
from medcover.audit import json_safe
from medcover.errors import Invalid
from medcover.labels import day

MAX_BODY = 10_000
MAX_SUBJECT = 200

# Text output, no autoescape: emails and SMS are plain text, and the in-app pages escape on display.
# A variable the event did not supply renders empty: a message with a gap beats no message.
_env = ImmutableSandboxedEnvironment(autoescape=False, undefined=Undefined, trim_blocks=True, lstrip_blocks=True)


class RenderError(Exception):
    pass


def _plain(context: dict) -> dict:
    # Only JSON-like values reach a template: no ORM objects, no callables, nothing with internals.
    safe = json_safe(context or {})
    if not isinstance(safe, dict):
        return {}
    return {name: _in_words(value) if name in DATES else value for name, value in safe.items()}


def _in_words(value):
    """A day as a person reads it ("4 Dec 2026", UI.md), from the ISO 8601 the event carries; anything else as
    it came (a template's preview placeholder, a value some integrator sent that is not a day)."""
    if not isinstance(value, str):
        return value
    try:
        return day(date.fromisoformat(value))
    except ValueError:
        return value


@functools.lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    """A template compiled once per process: a batch renders the same few texts for every recipient. Keyed by the
    text itself, so an edited template is a new entry (and the sandboxed environment is immutable)."""
    return _env.from_string(source)


def render(source: str, context: dict) -> str:
    try:
        return _compiled(source).render(_plain(context))
    except SecurityError as exc:
        raise RenderError(f"The template tried something not allowed: {exc}") from None
    except TemplateError as exc:
        raise RenderError(f"The template could not be rendered: {exc}") from None
    except Exception as exc:  # a sandboxed template must never take the caller down
        raise RenderError(f"The template failed: {type(exc).__name__}") from None


def check(subject: str, body: str, variables: dict[str, str]) -> None:
    """Field errors for a template that does not parse, is too long, or uses undocumented variables."""
    errors: dict[str, list[str]] = {}
    for name, source, limit in (("subject", subject, MAX_SUBJECT), ("body", body, MAX_BODY)):
        if len(source) > limit:
            errors.setdefault(name, []).append(f"Use at most {limit} characters.")
            continue
        try:
            used = meta.find_undeclared_variables(_env.parse(source))
        except TemplateError as exc:
            errors.setdefault(name, []).append(f"Not a valid template: {exc}")
            continue
        unknown = sorted(used - set(variables))
        if unknown:
            errors.setdefault(name, []).append("Unknown variable(s): " + ", ".join(unknown))
    if not body.strip():
        errors.setdefault("body", []).append("Write the message.")
    if not errors:
        # A trial run with sample values catches what only shows when rendering (sandbox refusals).
        for name, source in (("subject", subject), ("body", body)):
            try:
                render(source, sample_context(variables))
            except RenderError as exc:
                errors.setdefault(name, []).append(str(exc))
    if errors:
        raise Invalid("The template has errors.", errors)


def sample_context(variables: dict[str, str]) -> dict:
    return {name: f"[{name}]" for name in variables}
