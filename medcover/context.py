"""Where the current unit of work comes from (address, request id), for audit entries and log lines.

Set by the web hooks for a request and by the job runner and CLI for theirs, so that services can
record it without reading ``flask.request``.
"""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    request_id: str
    ip_address: str | None = None
    user_agent: str | None = None
    channel: str = "web"  # web, api, job, cli
    #: the request's method and path (``GET /hospital/patients/12``); none for jobs and the CLI
    route: str | None = None


_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar("medcover_origin", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def set_origin(origin: Origin) -> contextvars.Token:
    return _origin.set(origin)


def reset_origin(token: contextvars.Token) -> None:
    _origin.reset(token)


def current_origin() -> Origin:
    origin = _origin.get()
    if origin is None:
        origin = Origin(request_id=new_request_id(), channel="cli")
        _origin.set(origin)
    return origin
