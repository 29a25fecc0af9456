"""Core JSON endpoints for administrators and auditors: staff users and the audit log."""

from __future__ import annotations

from datetime import datetime

from flask import request
from pydantic import ConfigDict, Field

from blueprints.core import api_bp, services
from blueprints.core.web.auth_api import TAG
from medcover.api import (
    Id,
    Out,
    Schema,
    actor,
    choice_arg,
    created,
    day_arg,
    documented,
    jsonify_model,
    page_response,
    parse,
)
from medcover.rbac import Role, allow


class UserOut(Out):
    id: int
    email: str
    full_name: str
    role: Role
    institution_id: int | None
    company_id: int | None
    active: bool = True


class UserIn(Schema):
    #: a user belongs to an institution or a company, not both
    model_config = ConfigDict(
        json_schema_extra={
            "not": {
                "required": ["institution_id", "company_id"],
                "properties": {"institution_id": {"type": "integer"}, "company_id": {"type": "integer"}},
            }
        }
    )

    email: str = Field(max_length=254, json_schema_extra={"format": "email"})
    full_name: str = Field(max_length=120)
    role: Role
    #: at least PASSWORD_MIN_LENGTH (10 unless configured) characters, no blank at either end (core.passwords)
    password: str = Field(
        max_length=128, json_schema_extra={"minLength": 10, "pattern": r"^\S[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*\S$"}
    )
    institution_id: Id | None = None
    company_id: Id | None = None


class UserPage(Out):
    items: list[UserOut]
    page: int
    per_page: int
    total: int


class AuditOut(Out):
    id: int
    occurred_at: datetime
    actor_id: int | None
    actor_label: str | None
    action: str
    entity_type: str
    entity_id: str | None
    ip_address: str | None
    request_id: str | None
    before: dict | None
    after: dict | None
    summary: str | None


class AuditPage(Out):
    items: list[AuditOut]
    page: int
    per_page: int
    total: int


@api_bp.post("/users")
@allow(Role.ADMIN)
@documented("Create a staff user (admins only)", tag=TAG, body=UserIn, responses={201: UserOut, 409: None})
def create_user():
    data = parse(UserIn)
    user = services.create_user(actor=actor(), **data.model_dump())
    return created(UserOut.model_validate(user))


@api_bp.get("/users")
@allow(Role.ADMIN)
@documented(
    "Users of the caller's organisation",
    tag=TAG,
    responses={200: UserPage},
    query={"q": "name or email contains", "role": "one role", "page": "page number", "per_page": "at most 200"},
)
def list_users():
    stmt = services.users_query(actor(), request.args.get("q", "")[:100], choice_arg("role", Role))
    return page_response(stmt, UserOut, UserPage)


@api_bp.get("/users/<id:user_id>")
@allow(Role.ADMIN)
@documented("One user", tag=TAG, responses={200: UserOut, 404: None})
def get_user(user_id: int):
    return jsonify_model(UserOut.model_validate(services.get_user(actor(), user_id)))


@api_bp.get("/audit-logs")
@allow(Role.ADMIN, Role.AUDITOR)
@documented(
    "Audit entries, newest first",
    tag="Audit",
    responses={200: AuditPage},
    query={
        "user": "actor email contains",
        "entity_type": "e.g. user",
        "action": "e.g. login",
        "date_from": "YYYY-MM-DD",
        "date_to": "YYYY-MM-DD",
    },
)
def list_audit():
    filters = services.AuditFilter(
        user=request.args.get("user", "")[:254],
        entity_type=request.args.get("entity_type", "")[:60],
        action=request.args.get("action", "")[:40],
        date_from=day_arg("date_from"),
        date_to=day_arg("date_to"),
    )
    return page_response(services.audit_query(actor(), filters), AuditOut, AuditPage)
