"""Disputes: a provider (or the member, through the insurer's staff) contests a rejected or partly approved claim;
an adjudicator of the member's insurer upholds it (the claim is decided again, with overrides) or dismisses it
(the decision stands). Evidence comes as content-checked attachments (``medcover.uploads``).

``raising`` (opening a dispute, who may, reading them), ``resolving`` (upheld or dismissed), ``evidence``
(attachments)."""

from blueprints.claims.services.disputes.evidence import (
    ATTACHMENT_FOLDER,
    add_attachment,
    attachments_of,
    open_attachment,
)
from blueprints.claims.services.disputes.raising import (
    DISPUTABLE,
    DISPUTABLE_LINES,
    OPENERS,
    READERS,
    REASON_CHARS,
    RESOLVERS,
    disputes_of,
    disputes_query,
    get_dispute,
    may_attach,
    may_open,
    open_dispute,
)
from blueprints.claims.services.disputes.resolving import MAX_OVERRIDES, may_resolve, new_proposal, resolve_dispute

__all__ = [
    "ATTACHMENT_FOLDER",
    "DISPUTABLE",
    "DISPUTABLE_LINES",
    "MAX_OVERRIDES",
    "OPENERS",
    "READERS",
    "REASON_CHARS",
    "RESOLVERS",
    "add_attachment",
    "attachments_of",
    "disputes_of",
    "disputes_query",
    "get_dispute",
    "may_attach",
    "may_open",
    "may_resolve",
    "new_proposal",
    "open_attachment",
    "open_dispute",
    "resolve_dispute",
]
