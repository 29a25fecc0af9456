"""Domain errors raised by services; the app maps them to pages (flash + status) and problem+json."""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    title = "Bad request"

    #: extension members for the API's problem+json (e.g. the existing record a conflict names)
    extra: dict | None = None

    def __init__(self, detail: str = "", errors: dict[str, list[str]] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or {}


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Hidden(NotFound):
    """Another tenant's record, answered as missing so that its existence is not disclosed; audited as a
    refusal (``record`` names what was asked for, as the caller gave it: ``patient 12``)."""

    def __init__(self, detail: str = "No such record.", *, record: str = ""):
        super().__init__(detail)
        self.record = record


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Conflict(DomainError):
    """The current state does not allow the change (or a unique value is taken)."""

    status = 409
    title = "Conflict"


class Invalid(DomainError):
    """Bad input, with messages per field."""

    status = 422
    title = "Validation failed"

    @classmethod
    def field(cls, name: str, message: str) -> Invalid:
        return cls(message, {name: [message]})


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"
