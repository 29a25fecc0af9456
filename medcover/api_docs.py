"""What an endpoint says of itself for the OpenAPI document (medcover.openapi builds it from these and the URL
map)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass
class Doc:
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    description: str = ""
    #: a form body (``application/x-www-form-urlencoded``) instead of JSON
    form: type[BaseModel] | None = None
    #: for a create whose record is read outside the path it is created at (an attachment added to a dispute, a
    #: payment's reversal): that read's path, which the document's links lead to
    read_at: str = ""


def documented(
    summary: str, *, tag: str, body=None, responses=None, query=None, description: str = "", form=None, read_at=""
):
    """Describe an endpoint for the OpenAPI document (which is built from these and the URL map)."""

    def decorate(view: Callable):
        view.doc = Doc(summary, tag, body, responses or {}, query or {}, description, form, read_at)
        return view

    return decorate
