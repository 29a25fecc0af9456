"""The core domain's public face: users, sign-in, sessions, password changes, invitations, API tokens, the
audit log. Other domains (and core's own web package and CLI) import from here.

Services take the acting user as an argument, flush, and leave the commit to the edge.
"""

from blueprints.core.services import api_tokens, oauth_clients
from blueprints.core.services.api_tokens import TokenPair, access_token_for, user_for_access_token
from blueprints.core.services.audit import (
    AuditFilter,
    audit_entity_types,
    audit_query,
    record_audit,
    record_audits,
    record_denial,
)
from blueprints.core.services.invitations import accept_invitation, invitation_for, invite_user
from blueprints.core.services.password_changes import (
    change_password,
    request_password_reset,
    reset_password,
    reset_token_valid,
)
from blueprints.core.services.secret_tokens import new_token, token_hash
from blueprints.core.services.sessions import (
    active_sessions,
    end_session,
    end_user_sessions,
    revoke_refresh_tokens,
    revoke_session,
    sign_out_everywhere,
)
from blueprints.core.services.sign_in import (
    BAD_CREDENTIALS,
    LoginRefused,
    authenticate,
    record_logout,
    signed_in_user,
)
from blueprints.core.services.users import (
    USER_FIELDS,
    UserSummary,
    create_user,
    get_user,
    normalize_email,
    set_active,
    update_user,
    user_by_id,
    user_ids_by_institution,
    user_ids_with_role,
    users_by_id,
    users_query,
)

__all__ = [
    "BAD_CREDENTIALS",
    "USER_FIELDS",
    "AuditFilter",
    "LoginRefused",
    "TokenPair",
    "UserSummary",
    "accept_invitation",
    "access_token_for",
    "active_sessions",
    "api_tokens",
    "oauth_clients",
    "audit_entity_types",
    "audit_query",
    "authenticate",
    "change_password",
    "create_user",
    "end_session",
    "end_user_sessions",
    "get_user",
    "invitation_for",
    "invite_user",
    "new_token",
    "normalize_email",
    "record_audit",
    "record_audits",
    "record_denial",
    "record_logout",
    "request_password_reset",
    "reset_password",
    "reset_token_valid",
    "revoke_refresh_tokens",
    "revoke_session",
    "set_active",
    "sign_out_everywhere",
    "signed_in_user",
    "token_hash",
    "update_user",
    "user_by_id",
    "user_for_access_token",
    "user_ids_by_institution",
    "user_ids_with_role",
    "users_by_id",
    "users_query",
]
