"""A chunk of decisions written set-based: the same rows ``decisions.store`` and ``announce`` write claim by claim
(``decision_writes`` works them out for both), sent in a fixed number of statements whatever the chunk's size.

One UPDATE of the claims (``medcover.bulk.update_rows``: arrays unnested on PostgreSQL, an executemany on SQLite),
each guarded by the status and version it was read with (as ``move_claim`` guards one): if any of them changed
meanwhile, the batch gets a 409 before anything else of the chunk is sent, and its transaction rolls back (the job
runs again); a claim someone else changed is never written over. Then one UPDATE of the lines, and one INSERT each
of the status history, the decision records (``claim_audit_trails``), the audit entries and the outbox events
(``claim.changed`` then ``claim.decided``, in the order the claim-by-claim path publishes them).
"""

from __future__ import annotations

from blueprints.claims import engine
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimItem, ClaimStatusChange
from blueprints.claims.services.decisions import DecisionWrites, decided_payloads
from blueprints.core import services as core
from medcover.bulk import insert_rows, update_rows
from medcover.errors import Conflict
from medcover.events import publish_all
from medcover.extensions import db


def send(writes: list[DecisionWrites], decisions: dict[int, engine.Decision]) -> None:
    """Write a chunk's decisions. The claims and lines may be plain rows; entities of them this session holds
    are expired, so that they read what was written."""
    if not writes:
        return
    db.session.flush()
    _claims(writes)
    _lines(writes)
    insert_rows(ClaimStatusChange.__table__, [w.history for w in writes if w.history is not None])
    insert_rows(ClaimAuditTrail.__table__, [w.trail for w in writes])
    core.record_audits([w.audit for w in writes if w.audit is not None])
    events = [("claim.changed", w.changed) for w in writes if w.changed is not None]
    claims = [w.claim for w in writes]
    events += [("claim.decided", payload) for payload in decided_payloads(claims, decisions)]
    publish_all(events)
    _expire(Claim, [w.claim.id for w in writes])
    _expire(ClaimItem, [item.id for w in writes for item, _values in w.lines])


def _claims(writes: list[DecisionWrites]) -> None:
    """The guarded UPDATE of every claim, then the session told the values without reading them back."""
    # every row sets the same columns: a column one decision leaves alone (a scheme not known) keeps its value
    names = list(dict.fromkeys(name for w in writes for name in w.values))
    matches, rows = [], []
    for w in writes:
        claim = w.claim
        values = {name: w.values[name] if name in w.values else getattr(claim, name) for name in names}
        matches.append({"id": claim.id, "status": claim.status, "version": claim.version})
        rows.append({"status": w.target, "version": claim.version + 1, **values})
    changed = update_rows(Claim.__table__, matches, rows)
    if changed != len(writes):
        raise Conflict(
            f"Someone else changed {len(writes) - changed} of these claims a moment ago; none of them was decided."
        )


def _lines(writes: list[DecisionWrites]) -> None:
    lines = [(item, values) for w in writes for item, values in w.lines]
    if not lines:
        return
    update_rows(ClaimItem.__table__, [{"id": item.id} for item, _ in lines], [values for _, values in lines])


def _expire(model, ids: list[int]) -> None:
    held = db.session.identity_map
    if not held:
        return
    for ident in ids:
        if (entity := held.get(db.session.identity_key(model, ident))) is not None:
            db.session.expire(entity)
