"""The batch writes set-based and equals the claim-by-claim path: over generated claims (members known and not,
both hospitals, lines priced and not, pre-authorised or not, late, big enough for review, sent twice, the review
triggers on or off) deciding them one by one and as one batch leave the same rows (claims, lines, history,
decision records, audit entries, outbox events), whether the batch reads them in one span and writes them in one
chunk or splits them into several of each; the batch sends a fixed number of writes per chunk whatever its size;
and a claim changed behind the batch's back is never written over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, update

from blueprints.claims import services
from blueprints.claims.models import Claim, ClaimAuditTrail, ClaimItem, ClaimStatus, ClaimStatusChange
from blueprints.claims.services import decision_batch, submission
from blueprints.claims.services.decisions import decision_writes
from blueprints.claims.services.submission import proposal_again
from blueprints.core.models import AuditLog
from blueprints.insurance.models import Preauthorization, PreauthStatus
from medcover import clock
from medcover.errors import Conflict
from medcover.events import OutboxEvent
from medcover.extensions import db

D = Decimal
AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
#: (code, unit price) a line may bill: priced outpatient and lab care, an MRI needing a pre-authorisation, a
#: surgery over the review threshold, and a code on nobody's price list (R07)
LINES = [("CONSULT", "2500.00"), ("LAB-FBC", "1200.00"), ("MRI-HEAD", "30000.00"), ("SURGERY", "80000.00")]
LINES += [("UNPRICED", "900.00"), ("CONSULT", "2900.00")]
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}

line = st.tuples(st.sampled_from(LINES), st.integers(1, 3), st.sampled_from([None, "PA-OK", "PA-NO"]))
claim_spec = st.fixed_dictionaries(
    {
        "member": st.sampled_from(["ACM-001", "ACM-001", "ACM-001", "ZEN-001", "XXX-404"]),
        "other_hospital": st.booleans(),
        "days_ago": st.sampled_from([1, 1, 2, 3, 5, 30, 250]),
        "diagnoses": st.sampled_from([("J06.9",), ("K21.0",), ("J06.9", "E11.9"), ()]),
        "lines": st.lists(line, min_size=1, max_size=4),
    }
)
triggers = st.fixed_dictionaries(
    {
        "duplicate_score_threshold": st.sampled_from([60, 100]),
        "review_sample_percent": st.sampled_from([0, 30]),
        "variance_factor": st.sampled_from([None, D("2")]),
    }
)


def _insert_submitted(cw, specs: list[dict]) -> list[int]:
    """Submitted claims as a worker finds them, written with Core (hundreds at once), in submission order."""
    first = (db.session.scalar(select(func.max(Claim.id))) or 0) + 1
    claims, items = [], []
    for n, spec in enumerate(specs):
        claim_id = first + n
        hospital = cw.other_hospital if spec["other_hospital"] else cw.hospital
        member = {"ACM-001": cw.member, "ZEN-001": cw.other_member}.get(spec["member"])
        day = cw.today - timedelta(days=spec["days_ago"])
        lines = [
            {
                "claim_id": claim_id,
                "line_no": k,
                "service_code": code,
                "quantity": quantity,
                "unit_price": D(price),
                "billed": D(price) * quantity,
                "preauth_code": preauth,
            }
            for k, ((code, price), quantity, preauth) in enumerate(spec["lines"], 1)
        ]
        claims.append(
            {
                "id": claim_id,
                "claim_number": f"CL-T-{claim_id:06d}",
                "institution_id": hospital.id,
                "company_id": member.company_id if member else None,
                "member_number": spec["member"],
                "member_id": member.id if member else None,
                "service_date": day,
                "diagnosis_codes": list(spec["diagnoses"]),
                "status": ClaimStatus.SUBMITTED,
                "total_billed": sum((row["billed"] for row in lines), D(0)),
                "submitted_at": AT - timedelta(hours=1) + timedelta(seconds=n),
                "submitted_on": cw.today,
                "version": 2,
            }
        )
        items += lines
    db.session.execute(insert(Claim), claims)
    db.session.execute(insert(ClaimItem), items)
    return [row["id"] for row in claims]


def _preauths(cw) -> None:
    from blueprints.insurance.models import Benefit

    mri = db.session.scalar(select(Benefit.id).where(Benefit.code == "MRI"))
    for code, status in (("PA-OK", PreauthStatus.APPROVED), ("PA-NO", PreauthStatus.DECLINED)):
        db.session.add(
            Preauthorization(
                code=code,
                member_id=cw.member.id,
                benefit_id=mri,
                company_id=cw.company.id,
                valid_from=cw.today - timedelta(days=400),
                valid_to=cw.today + timedelta(days=30),
                status=status,
            )
        )
    db.session.flush()


def _rows(ids: list[int], marks: dict) -> dict:
    """Everything a decision writes, as values (ids of generated rows and the outbox's own timestamp apart)."""
    db.session.expire_all()

    def values(statement):
        return [tuple(row) for row in db.session.execute(statement)]

    claim_columns = [c for c in Claim.__table__.c if c.name not in ("created_at",)]
    item_columns = [c for c in ClaimItem.__table__.c if c.name != "id"]
    return {
        "claims": values(select(*claim_columns).where(Claim.id.in_(ids)).order_by(Claim.id)),
        "items": values(select(*item_columns).where(ClaimItem.claim_id.in_(ids)).order_by(ClaimItem.id)),
        "history": values(
            select(*(c for c in ClaimStatusChange.__table__.c if c.name != "id"))
            .where(ClaimStatusChange.claim_id.in_(ids))
            .order_by(ClaimStatusChange.claim_id, ClaimStatusChange.id)
        ),
        "trail": values(
            select(*(c for c in ClaimAuditTrail.__table__.c if c.name != "id"))
            .where(ClaimAuditTrail.claim_id.in_(ids))
            .order_by(ClaimAuditTrail.claim_id, ClaimAuditTrail.id)
        ),
        "audit": values(
            select(*(c for c in AuditLog.__table__.c if c.name != "id"))
            .where(AuditLog.id > marks["audit"])
            .order_by(AuditLog.entity_id, AuditLog.id)
        ),
        "outbox": sorted(
            (name, str(payload.get("claim_id")), repr(payload))
            for name, payload in db.session.execute(
                select(OutboxEvent.name, OutboxEvent.payload).where(OutboxEvent.id > marks["outbox"])
            )
        ),
    }


def _marks() -> dict:
    return {
        "audit": db.session.scalar(select(func.coalesce(func.max(AuditLog.id), 0))),
        "outbox": db.session.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0))),
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    specs=st.lists(claim_spec, min_size=1, max_size=12),
    terms=triggers,
    again=st.booleans(),
    # (claims a span reads, claims a chunk writes): one of each, or the claims split over several
    split=st.sampled_from([(submission.SPAN, submission.BATCH), (5, 2), (4, 4), (3, 1)]),
)
def test_the_batch_writes_the_rows_claim_by_claim_writes(cw, specs, terms, again, split):
    world = db.session.begin_nested()
    try:
        with clock.frozen(AT):
            for name, value in terms.items():
                setattr(cw.scheme, name, value)
            _preauths(cw)
            if again:  # sent twice: R04, and S01 when the triggers look
                specs = specs + specs[:2]
            ids = _insert_submitted(cw, specs)
            marks = _marks()
            batch = db.session.begin_nested()
            with mock.patch.multiple(submission, SPAN=split[0], BATCH=split[1]):
                together = services.decide_claims(ids)
            rows_together = _rows(ids, marks)
            batch.rollback()
            assert set(db.session.scalars(select(Claim.status).where(Claim.id.in_(ids)))) == {ClaimStatus.SUBMITTED}
            one_by_one = {}
            for claim_id in ids:
                one_by_one |= services.decide_claims([claim_id], one_by_one=True)
            assert together == one_by_one
            assert _rows(ids, marks) == rows_together
            assert rows_together["history"] and rows_together["trail"] and rows_together["audit"]
    finally:
        world.rollback()


def test_a_pending_claim_decided_again_in_a_batch_writes_what_claim_by_claim_does(cw):
    big = {"member": "ACM-001", "other_hospital": False, "days_ago": 2, "diagnoses": ("J06.9",)}
    ids = _insert_submitted(cw, [big | {"lines": [(("SURGERY", "80000.00"), 1, None)]}])
    with clock.frozen(AT):
        services.decide_claims(ids)
        assert db.session.get(Claim, ids[0]).status is ClaimStatus.PENDING_REVIEW
        marks = _marks()
        batch = db.session.begin_nested()
        services.decide_claims(ids)
        together = _rows(ids, marks)
        batch.rollback()
        services.decide_claims(ids, one_by_one=True)
        assert _rows(ids, marks) == together
    claim = db.session.get(Claim, ids[0])
    assert (claim.status, claim.version) == (ClaimStatus.PENDING_REVIEW, 4)


def _writes_and_reads(cw, n: int, count_queries) -> tuple[list[str], list[str]]:
    shapes = [
        [(("CONSULT", "2500.00"), 1, None), (("LAB-FBC", "1200.00"), 1, None)],
        [(("SURGERY", "80000.00"), 1, None)],  # pending review
        [(("UNPRICED", "900.00"), 1, None)],  # rejected
    ]
    specs = [
        {
            "member": "ACM-001",
            "other_hospital": k % 2 == 1,
            "days_ago": 1 + k % 20,
            "diagnoses": ("J06.9",),
            "lines": shapes[k % 3],
        }
        for k in range(n)
    ]
    ids = _insert_submitted(cw, specs)
    with count_queries() as counted:
        decided = services.decide_claims(ids)
    assert len(decided) == n
    sent = [q.lstrip().split(None, 1)[0].upper() for q in counted.statements]
    reads = [q for q, verb in zip(counted.statements, sent, strict=True) if verb in ("SELECT", "WITH")]
    writes = [q for q, verb in zip(counted.statements, sent, strict=True) if verb not in TRANSACTION_CONTROL]
    return reads, [q for q in writes if q not in reads]


def test_the_batch_writes_a_fixed_number_of_times_whatever_the_size_of_the_chunk(cw, count_queries):
    assert services.BATCH == 500
    small_reads, small = _writes_and_reads(cw, 50, count_queries)
    db.session.execute(update(Claim).values(status=ClaimStatus.VOID))  # out of the next batch's way
    large_reads, large = _writes_and_reads(cw, 500, count_queries)
    assert len(small) == len(large) == 6, "\n".join(q[:80].replace("\n", " ") for q in large)
    assert len(small_reads) == len(large_reads)
    # the guarded UPDATE of the claims, the lines', then one INSERT each of history, decision records, audit
    # entries and outbox events
    assert [q.split()[0:3] for q in large][:2] == [["UPDATE", "claims", "SET"], ["UPDATE", "claim_items", "SET"]]
    inserted = sorted(q.split()[2] for q in large[2:] if q.startswith("INSERT"))
    assert inserted == ["audit_logs", "claim_audit_trails", "claim_statuses", "outbox_events"]


def test_a_claim_changed_behind_the_batch_is_not_written_over(cw):
    spec = {"member": "ACM-001", "other_hospital": False, "days_ago": 1, "diagnoses": ("J06.9",)}
    ids = _insert_submitted(cw, [spec | {"lines": [(("CONSULT", "2500.00"), 1, None)]}] * 3)
    claims = [db.session.get(Claim, claim_id) for claim_id in ids]
    items = services.items_by_claim(ids)
    decisions = {c.id: proposal_again(c, items[c.id])[0] for c in claims}
    writes = [decision_writes(c, items[c.id], decisions[c.id], source="engine", by_id=None) for c in claims]
    # someone else voids the second claim between the batch's read and its write
    db.session.execute(
        update(Claim.__table__)
        .where(Claim.id == ids[1])
        .values(status=ClaimStatus.VOID, version=Claim.__table__.c.version + 1)
    )
    with pytest.raises(Conflict):
        decision_batch.send(writes, decisions)
    assert db.session.scalar(select(Claim.__table__.c.status).where(Claim.id == ids[1])) == "void"
    history = select(func.count()).select_from(ClaimStatusChange).where(ClaimStatusChange.claim_id.in_(ids))
    assert db.session.scalar(history) == 0
