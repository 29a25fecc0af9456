"""Claims adjudication in bulk: claim lines decided per second by the batch form ``services.decide_claims`` on
10,000 and 100,000 submitted claims (1,000 and 10,000 with --quick), beside its limit measured in the same run,
and the statements it sends per span and per chunk, which must stay flat as the data grows. On
PostgreSQL, in a scratch database on BENCH_DATABASE_URL's server or, by default, the local one when 127.0.0.1:5432
answers; SQLite in a temporary file when no server answers (said on stderr), or beside it with
BENCH_CLAIMS_SQLITE=1.

``limit``: the rows the run wrote (its lines' decisions, status history, decision records, audit entries and
outbox events), read back and inserted bare into empty tables with the same columns and indexes in the same
database, as multi-row INSERTs of 1,000 rows and one commit; lines per second of that. ``of_limit`` is figure /
limit; the goal (issue 16) is >= 5,000 lines/s at 100,000 claims and >= 25 % of the bare insert.

The world grows with the claims: three insurers with two schemes each (deductibles, copays, benefit and scheme
limits, per-visit limits, pre-authorised benefits, visit caps, waiting periods, review thresholds), one member
with cover per five claims, two providers' price lists, 0.4 earlier finalised claims per claim for usage, and
the claims themselves, 1 to 4 lines each, mixed so every rule fires: unknown codes (R07), resubmissions (R04),
waiting periods (R11), missing or declined pre-authorisations (R12), visit caps (R13), limits used up by the
earlier claims (A02 to A04, R14, R15), late filing (R03), unknown members (R01), lapsed cover (R02), prices
above the tariff (A01) and claims big enough for an adjudicator (pending_review). All of it is written with
Core ``insert()`` executemany, not the ORM, so building 100,000 claims takes seconds.

Then one call, ``decide_claims(ids)`` over every submitted claim (it reads the claims and gathers their facts a
span of ``services.SPAN`` at a time, and decides and writes them in chunks of ``services.BATCH``), and one commit
at the end, inside the timing. The outbox events it writes are not dispatched. Statements are counted with a
``before_cursor_execute`` listener: an executemany is one. ``added_mb`` is how much the process grew from the start
of the call to its peak.

Each size runs twice, the review triggers off and on (ADJUDICATION.md, review triggers), side by side:
``off``: no random sample, no outlier factor, and the suspect duplicate check as near off as a scheme can set it
(a window of 0 days, a score of 100; its read still happens); ``on``: a 5% random sample, outliers above 3 times
the provider's mean for the diagnosis, suspect duplicates at the defaults (3 days, score 60). The review
thresholds (V02) stay in both. ``reads_per_span`` (the claims, their lines and their facts) must be the same at
every size and in both modes but for the outlier read (one more when a scheme has a factor); ``reads_per_chunk``
(the provider's billing clerks the decisions are announced to) and ``writes_per_chunk``, six (the claims' guarded
UPDATE, the lines' UPDATE, and one INSERT each of history, decision records, audit entries and outbox events),
stay the same at every size, fewer only for a chunk with nothing of a kind to write (no claim decided: no outbox
event).

    make bench    # or: .venv/bin/python -m bench claims_batch [--quick]
    BENCH_CLAIMS_SIZES=2000 BENCH_CLAIMS_TRIGGERS=off,on .venv/bin/python -m bench claims_batch
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.platform.backing import scratch_database

SIZES, QUICK_SIZES = (10_000, 100_000), (1_000, 10_000)
MEMBERS_PER_CLAIM = 0.2
PRIORS_PER_CLAIM = 0.4
CHUNK = 5_000
#: SQLite's explicit BEGIN is not a query; only statements that read or write count
TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}
CENT = Decimal("0.01")
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
GOAL_SIZE, GOAL_LINES_PER_S, GOAL_OF_LIMIT = 100_000, 5_000, 0.25

#: (insurer, scheme, annual limit, deductible, review threshold, timely filing days, scale, benefits left out)
SCHEMES = [
    ("JHI", "GOLD", "2000000", "0", "150000", 180, "1", ()),
    ("JHI", "SILVER", "750000", "2000", "80000", 180, "0.5", ("OPT-GLASSES", "RAD-MRI")),
    ("SAV", "FAMILY-PLUS", "1500000", "1000", "120000", 180, "0.8", ()),
    ("SAV", "ESSENTIAL", "400000", "5000", "50000", 180, "0.35", ("DENT-FILLING", "OPT-GLASSES", "MAT-CSECTION")),
    ("KCO", "CORPORATE", None, "0", "200000", 180, "1.2", ()),
    ("KCO", "STAFF", "300000", "1500", "60000", 120, "0.4", ("MAT-CSECTION", "RAD-MRI")),
]
INSURERS = {"JHI": "Jubilant Health Insurance", "SAV": "Savanna Mutual", "KCO": "Kilima Corporate Cover"}
#: what a visit bills, as (code, quantity, ...), with its weight in the mix
VISITS = [
    (30, ("CONSULT-GP", 1)),
    (20, ("CONSULT-GP", 1, "LAB-MALARIA", 1, "PHARM-PARA", 1)),
    (8, ("CONSULT-SPEC", 1, "LAB-LIPID", 1, "LAB-HBA1C", 1, "PHARM-METF", 2)),
    (8, ("CONSULT-GP", 1, "RAD-CXR", 1, "PHARM-AMOX", 1)),
    (5, ("PROC-DRESSING", 2, "PHARM-AMOX", 1)),
    (4, ("CONSULT-SPEC", 2)),  # above the per-visit limit: A02
    (4, ("DENT-SCALE", 1)),
    (4, ("OPT-EXAM", 1)),  # one a year: R13 after an earlier one
    (4, ("LAB-FBC", 1, "LAB-LIPID", 1, "LAB-HBA1C", 1, "LAB-MALARIA", 1)),
    (3, ("CONSULT-TELE", 1, "PHARM-PARA", 1)),  # priced nowhere: R07
    (2, ("DENT-EXTRACT", 1)),  # pre-authorised benefit
    (2, ("RAD-MRI-HEAD", 1, "CONSULT-SPEC", 1)),  # pre-authorised, not priced at the second provider
    (2, ("WARD-GENERAL", 3, "LAB-FBC", 2, "PHARM-AMOX", 1)),  # 30 days' wait
    (1, ("SURG-APPENDIX", 1, "WARD-GENERAL", 3)),  # pre-authorised, over most review thresholds
    (1, ("MAT-NVD", 1, "WARD-GENERAL", 2)),  # 300 days' wait
    (1, ("MAT-CS", 1, "WARD-GENERAL", 3)),  # pre-authorised, not priced at the second provider
]
PREAUTHORISED = {"IP-SURGERY", "MAT-CSECTION", "DENT-FILLING", "RAD-MRI"}
#: not on the second provider's price list
FIRST_ONLY = {"RAD-MRI-HEAD", "MAT-CS"}
#: the schemes' review trigger settings per mode
TRIGGER_SETTINGS = {
    "off": {
        "review_sample_percent": 0,
        "duplicate_window_days": 0,
        "duplicate_score_threshold": 100,
        "variance_factor": None,
    },
    "on": {
        "review_sample_percent": 5,
        "duplicate_window_days": 3,
        "duplicate_score_threshold": 60,
        "variance_factor": Decimal("3.00"),
    },
}
DIAGNOSES = ["J06.9", "A09", "B54", "E11.9", "I10", "K35.8", "O80", "S01.8", "K02.9", "H52.1", "Z00.0"]


def _postgresql_server() -> str | None:
    """BENCH_DATABASE_URL, else the local server when 127.0.0.1:5432 answers, else None."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        return None
    return DEFAULT_DATABASE


def _databases() -> Iterator[tuple[str, str]]:
    """PostgreSQL (a scratch database on the server), or SQLite in a temporary file when no server answers;
    ``BENCH_CLAIMS_SQLITE=1`` adds SQLite beside PostgreSQL."""
    server = _postgresql_server()
    if server is None or os.environ.get("BENCH_CLAIMS_SQLITE") == "1":
        if server is None:
            print("claims_batch: no PostgreSQL on 127.0.0.1:5432 (nor BENCH_DATABASE_URL): SQLite", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="medcover-bench-") as tmp:
            yield "sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}"
    if server is not None:
        with scratch_database(server, "medcover_bench_claims") as url:
            yield "postgresql", url


def _insert(table, rows: list[dict]) -> None:
    from medcover.extensions import db

    for start in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[start : start + CHUNK])


def _amount(value, scale=Decimal(1)) -> Decimal | None:
    return None if value is None else (Decimal(value) * Decimal(scale)).quantize(Decimal("1"))


class World:
    """The insurers, providers and members of one run, and the claims written against them."""

    def __init__(self, size: int, today: date, triggers: str = "off"):
        self.size = size
        self.triggers = TRIGGER_SETTINGS[triggers]
        self.today = today
        self.rng = random.Random(size)  # noqa: S311 - benchmark data, not secrets
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.schemes: list[dict] = []  # scheme rows with their benefit terms under "terms"
        self.benefit_of: dict[str, str] = {}  # service code -> benefit code
        self.prices: dict[tuple[int, str], Decimal] = {}  # (provider, code) -> current unit price
        self.members: list[dict] = []  # member_number, member_id, company_id, scheme, start, end, status
        self.next_claim_id = 1
        self.next_preauth = 1
        self.counts = Counter()

    # --- insurance, billing, hospital ---------------------------------------------------------------

    def build_terms(self) -> None:
        from blueprints.insurance.cli import BENEFITS, CATEGORIES, TERMS
        from blueprints.insurance.models import (
            Benefit,
            BenefitCategory,
            Company,
            Scheme,
            SchemeBenefit,
            SchemeStatus,
        )

        _insert(
            BenefitCategory.__table__,
            [{"id": n, "code": code, "name": name} for n, (code, name) in enumerate(CATEGORIES.items(), 1)],
        )
        category_ids = {code: n for n, code in enumerate(CATEGORIES, 1)}
        benefit_ids = {code: n for n, code in enumerate(BENEFITS, 1)}
        _insert(
            Benefit.__table__,
            [
                {"id": benefit_ids[code], "code": code, "name": name, "category_id": category_ids[category]}
                for code, (name, category) in BENEFITS.items()
            ],
        )
        company_ids = {code: n for n, code in enumerate(INSURERS, 1)}
        _insert(
            Company.__table__,
            [{"id": company_ids[code], "code": code, "name": name, "active": True} for code, name in INSURERS.items()],
        )
        scheme_rows, term_rows = [], []
        for n, (company, code, limit, deductible, review, filing, scale, left_out) in enumerate(SCHEMES, 1):
            scheme = {
                "id": n,
                "company_id": company_ids[company],
                "code": code,
                "name": f"{INSURERS[company].split()[0]} {code.title()}",
                "currency": "KES",
                "status": SchemeStatus.ACTIVE,
                "effective_from": date(self.today.year - 2, 1, 1),
                "annual_limit": _amount(limit),
                "deductible": Decimal(deductible),
                "timely_filing_days": filing,
                "review_threshold": _amount(review),
                **self.triggers,
            }
            scheme_rows.append(scheme)
            terms = {}
            for benefit, (b_limit, per_visit, copay, fixed, waiting, preauth, visits) in TERMS.items():
                terms[benefit] = {
                    "scheme_id": n,
                    "benefit_id": benefit_ids[benefit],
                    "covered": benefit not in left_out,
                    "annual_limit": _amount(b_limit, scale),
                    "per_visit_limit": _amount(per_visit, scale),
                    "copay_percent": Decimal(copay) + (10 if Decimal(scale) < Decimal("0.6") and copay != "0" else 0),
                    "copay_fixed": Decimal(fixed),
                    "waiting_period_days": waiting,
                    "requires_preauth": preauth,
                    "max_visits": visits,
                }
            term_rows += terms.values()
            self.schemes.append({**scheme, "terms": terms})
        _insert(Scheme.__table__, scheme_rows)
        _insert(SchemeBenefit.__table__, term_rows)
        self.benefit_ids = benefit_ids

    def build_providers(self) -> None:
        from blueprints.billing.cli import PRICE_LIST
        from blueprints.billing.models import ServiceTariff
        from blueprints.hospital.models import MedicalInstitution

        _insert(
            MedicalInstitution.__table__,
            [
                {"id": 1, "code": "BENCH-A", "name": "Bench General Hospital", "kind": "hospital", "active": True},
                {"id": 2, "code": "BENCH-B", "name": "Bench Community Clinic", "kind": "clinic", "active": True},
            ],
        )
        rows = []
        changed = self.today - timedelta(days=365)
        for provider, factor in ((1, Decimal(1)), (2, Decimal("0.9"))):
            for code, (description, benefit, price) in PRICE_LIST.items():
                if provider == 2 and code in FIRST_ONLY:
                    continue
                current = (Decimal(price) * factor).quantize(CENT)
                self.prices[(provider, code)] = current
                self.benefit_of[code] = benefit
                # last year's price and this year's: the lookup has a history to pick from
                for start, end, unit in (
                    (
                        changed - timedelta(days=365),
                        changed - timedelta(days=1),
                        (current * Decimal("0.92")).quantize(CENT),
                    ),
                    (changed, None, current),
                ):
                    rows.append(
                        {
                            "institution_id": provider,
                            "service_code": code,
                            "description": description,
                            "benefit_code": benefit,
                            "unit_price": unit,
                            "effective_from": start,
                            "effective_to": end,
                        }
                    )
        _insert(ServiceTariff.__table__, rows)
        self.counts["tariffs"] = len(rows)

    def build_members(self) -> None:
        from blueprints.insurance.models import Coverage, CoverageStatus, Member
        from blueprints.insurance.services.periods import anniversary

        rng, today = self.rng, self.today
        members, coverages = [], []
        for n in range(1, max(10, int(self.size * MEMBERS_PER_CLAIM)) + 1):
            scheme = rng.choice(self.schemes)
            number = f"{SCHEMES[scheme['id'] - 1][0]}-{n:07d}"
            members.append(
                {
                    "id": n,
                    "member_number": number,
                    "company_id": scheme["company_id"],
                    "first_name": "Member",
                    "last_name": f"No {n}",
                    "date_of_birth": date(1960 + n % 45, 1 + n % 12, 1 + n % 28),
                    "gender": ("female", "male")[n % 2],
                    "principal_id": None,
                }
            )
            start = today - timedelta(days=rng.randint(20, 360))
            roll = rng.random()
            status = (
                CoverageStatus.SUSPENDED
                if roll < 0.02
                else CoverageStatus.LAPSED
                if roll < 0.04
                else CoverageStatus.ACTIVE
            )
            cover = {
                "member_id": n,
                "scheme_id": scheme["id"],
                "company_id": scheme["company_id"],
                "start_date": start,
                "end_date": anniversary(start, 1) - timedelta(days=1),
                "status": status,
            }
            coverages.append(cover)
            if rng.random() < 0.3:  # renewed: last year's cover ran up to this one
                previous = anniversary(start, -1)
                coverages.append({**cover, "start_date": previous, "end_date": start - timedelta(days=1)})
            self.members.append(
                {"number": number, "id": n, "scheme": scheme, "start": start, "status": status, **cover}
            )
        _insert(Member.__table__, members)
        _insert(Coverage.__table__, coverages)
        self.counts["members"] = len(members)
        self.counts["coverages"] = len(coverages)

    # --- claims -----------------------------------------------------------------------------------

    def _claim(self, member: dict | None, number: str, provider: int, day: date, lines: list, status, submitted_at):
        from blueprints.claims.models import ClaimStatus

        claim_id = self.next_claim_id
        self.next_claim_id += 1
        billed = sum((line["billed"] for line in lines), Decimal(0))
        approved = sum((line["approved"] for line in lines), Decimal(0))
        claim = {
            "id": claim_id,
            "claim_number": f"CL-{day.year}-{claim_id:07d}",
            "institution_id": provider,
            "company_id": member["company_id"] if member else None,
            "member_number": number,
            "member_id": member["id"] if member else None,
            "patient_id": None,
            "invoice_id": None,
            "service_date": day,
            "diagnosis_codes": [diagnosis := self.rng.choice(DIAGNOSES)],
            "diagnosis_category": diagnosis[:3],
            "status": status,
            "total_billed": billed,
            "total_approved": approved,
            "total_paid": approved if status is ClaimStatus.PAID else Decimal(0),
            "review": False,
            "scheme_id": member["scheme_id"] if member and status is not ClaimStatus.SUBMITTED else None,
            "coverage_id": None,
            "reason_codes": [],
            "submitted_at": submitted_at,
            "submitted_on": submitted_at.date(),
            "decided_at": submitted_at if status is not ClaimStatus.SUBMITTED else None,
            "created_at": submitted_at,
            "version": 1,
        }
        items = [{"claim_id": claim_id, "line_no": n, **line} for n, line in enumerate(lines, 1)]
        return claim, items

    def _line(self, provider: int, code: str, quantity: int, **values) -> dict:
        price = self.prices.get((provider, code), Decimal("1500.00"))
        if self.rng.random() < 0.1:  # billed above the tariff: A01
            price = (price * Decimal("1.15")).quantize(CENT)
        return {
            "service_code": code,
            "benefit_code": None,
            "quantity": quantity,
            "unit_price": price,
            "preauth_code": None,
            "billed": price * quantity,
            "allowed": Decimal(0),
            "deductible": Decimal(0),
            "copay": Decimal(0),
            "approved": Decimal(0),
            "member_responsibility": Decimal(0),
            "decision": None,
            "reason_codes": [],
            "note": None,
            **values,
        }

    def _prior_lines(self, member: dict, provider: int) -> list[dict]:
        """A finalised claim's lines with the engine's kind of amounts; some use up most of a limit."""
        rng, scheme = self.rng, member["scheme"]
        roll = rng.random()
        if roll < 0.06:  # most of the lab limit gone: A03 or R14 next
            limit = scheme["terms"]["LAB-TEST"]["annual_limit"]
            used = (limit * Decimal(rng.choice(("0.97", "1")))).quantize(CENT)
            visit = ("LAB-FBC", max(1, int(used // self.prices[(provider, "LAB-FBC")]) + 1))
            amounts = [used]
        elif roll < 0.09 and scheme["annual_limit"] is not None:  # most of the scheme limit gone: A04 or R15
            used = (scheme["annual_limit"] * Decimal(rng.choice(("0.995", "1")))).quantize(CENT)
            visit = ("WARD-GENERAL", max(1, int(used // self.prices[(provider, "WARD-GENERAL")]) + 1))
            amounts = [used]
        else:
            # eye and dental check-ups weigh more here, so later ones meet their visit caps (R13)
            visit = rng.choices([v for _w, v in VISITS[:9]], weights=[30, 20, 8, 8, 5, 4, 15, 20, 4])[0]
            amounts = [None] * (len(visit) // 2)
        lines = []
        for i in range(0, len(visit), 2):
            code, quantity = visit[i], visit[i + 1]
            price = self.prices[(provider, code)]
            billed = price * quantity
            approved = amounts[i // 2] if amounts[i // 2] is not None else billed
            deductible = Decimal(0)
            if i == 0 and scheme["deductible"] and rng.random() < 0.5:
                deductible = min(scheme["deductible"], billed)
                approved = min(approved, billed - deductible)
            allowed = max(billed, approved + deductible)
            lines.append(
                self._line(
                    provider,
                    code,
                    quantity,
                    unit_price=(allowed / quantity).quantize(CENT, rounding="ROUND_UP"),
                    billed=(allowed / quantity).quantize(CENT, rounding="ROUND_UP") * quantity,
                    benefit_code=self.benefit_of[code],
                    allowed=allowed,
                    deductible=deductible,
                    approved=approved,
                    member_responsibility=allowed - approved,
                    decision="approved",
                )
            )
        return lines

    def build_claims(self) -> list[int]:
        """The earlier finalised claims, then the submitted claims to decide (their ids, in order)."""
        from blueprints.claims.models import Claim, ClaimItem, ClaimStatus
        from blueprints.insurance.models import Preauthorization, PreauthStatus

        rng, today = self.rng, self.today
        claims, items, preauths = [], [], []
        earliest = self.now - timedelta(days=1)  # the claims to decide came in over the last day
        # Earlier finalised claims, in the current benefit period of their member's cover.
        for _ in range(int(self.size * PRIORS_PER_CLAIM)):
            member = rng.choice(self.members)
            first = max(member["start"], today - timedelta(days=170))
            if first >= today - timedelta(days=2):
                continue
            day = first + timedelta(days=rng.randint(0, (today - timedelta(days=2) - first).days))
            provider = rng.choice((1, 1, 2))
            status = rng.choice((ClaimStatus.APPROVED, ClaimStatus.APPROVED, ClaimStatus.PAID))
            submitted = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=rng.randint(9, 40))
            claim, lines = self._claim(
                member, member["number"], provider, day, self._prior_lines(member, provider), status, submitted
            )
            claims.append(claim)
            items += lines
        self.counts["prior_claims"] = len(claims)
        self.counts["prior_lines"] = len(items)

        weights = [w for w, _v in VISITS]
        visits = [v for _w, v in VISITS]
        submitted_ids: list[int] = []
        recent: list[tuple[dict, list[dict]]] = []
        for n in range(self.size):
            submitted_at = earliest + timedelta(seconds=n * 60 * 24 * 60 // self.size)
            roll = rng.random()
            if roll < 0.03 and recent:  # sent again: R04 on every line
                original, lines = rng.choice(recent[-500:])
                claim, copied = self._claim(
                    self._member_by_id(original["member_id"]),
                    original["member_number"],
                    original["institution_id"],
                    original["service_date"],
                    [{k: v for k, v in line.items() if k not in ("claim_id", "line_no")} for line in lines],
                    ClaimStatus.SUBMITTED,
                    submitted_at,
                )
                claims.append(claim)
                items += copied
                submitted_ids.append(claim["id"])
                continue
            member = rng.choice(self.members)
            number = member["number"]
            if roll < 0.035:  # nobody has that number: R01
                member, number = None, f"XXX-{n:07d}"
            provider = rng.choice((1, 1, 2))
            # mostly after the cover started; now and then before it (R02 unless renewed)
            covered_days = (today - member["start"]).days if member and rng.random() < 0.9 else 150
            day = today - timedelta(days=rng.randint(1, max(1, min(150, covered_days))))
            if rng.random() < 0.01:  # filed too late: R03
                day = today - timedelta(days=rng.randint(200, 260))
            visit = rng.choices(visits, weights=weights)[0]
            lines = []
            for i in range(0, len(visit), 2):
                code, quantity = visit[i], visit[i + 1]
                line = self._line(provider, code, quantity)
                if member and self.benefit_of.get(code) in PREAUTHORISED and rng.random() < 0.7:
                    line["preauth_code"] = code_ = f"PA-{self.next_preauth:08d}"
                    self.next_preauth += 1
                    preauths.append(
                        {
                            "code": code_,
                            "member_id": member["id"],
                            "benefit_id": self.benefit_ids[self.benefit_of[code]],
                            "company_id": member["company_id"],
                            "valid_from": day - timedelta(days=5),
                            "valid_to": day + timedelta(days=25),
                            "status": PreauthStatus.APPROVED if rng.random() < 0.85 else PreauthStatus.DECLINED,
                        }
                    )
                lines.append(line)
            claim, rows = self._claim(member, number, provider, day, lines, ClaimStatus.SUBMITTED, submitted_at)
            claims.append(claim)
            items += rows
            submitted_ids.append(claim["id"])
            recent.append((claim, rows))
        self.counts["claims"] = len(submitted_ids)
        self.counts["lines"] = len(items) - self.counts["prior_lines"]
        self.counts["preauthorizations"] = len(preauths)
        _insert(Preauthorization.__table__, preauths)
        _insert(Claim.__table__, claims)
        _insert(ClaimItem.__table__, items)
        return submitted_ids

    def _member_by_id(self, member_id: int | None) -> dict | None:
        return self.members[member_id - 1] if member_id else None


def _fill(size: int, triggers: str = "off") -> tuple[list[int], Counter, float]:
    from sqlalchemy import text

    from medcover import clock
    from medcover.extensions import db

    started = time.perf_counter()
    world = World(size, clock.today(), triggers)
    world.build_terms()
    world.build_providers()
    world.build_members()
    ids = world.build_claims()
    if db.engine.dialect.name == "postgresql":
        # ids were given explicitly: move the sequences past them
        for table in (
            "benefit_categories",
            "benefits",
            "companies",
            "schemes",
            "medical_institutions",
            "members",
            "claims",
        ):
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
            )
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return ids, world.counts, time.perf_counter() - started


def _memory_kb(field: str = "VmRSS") -> int:
    """The process's resident memory now (``VmRSS``) or at its peak since ``_reset_peak`` (``VmHWM``), in kB;
    0 where Linux's /proc is not there."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    return int(status.split(f"{field}:")[1].split()[0])


def _reset_peak() -> None:
    """The peak (``VmHWM``) starts again from what the process holds now (Linux 4.0 and later)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _decide(ids: list[int]) -> dict:
    from sqlalchemy import event

    from blueprints.claims import services
    from blueprints.claims.services import submission
    from medcover.extensions import db

    seen = Counter()
    in_chunk = []
    decide_chunk = submission._decide_chunk

    def chunk(*args, **kwargs):
        # a read inside a chunk's deciding and writing is the chunk's; any other (the span's claims, lines and
        # facts) is the span's
        in_chunk.append(True)
        try:
            return decide_chunk(*args, **kwargs)
        finally:
            in_chunk.pop()

    def count(conn, cursor, statement, *_args):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in ("SELECT", "WITH"):
            seen["chunk_reads" if in_chunk else "span_reads"] += 1
        elif verb not in TRANSACTION_CONTROL:
            seen["writes"] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    submission._decide_chunk = chunk
    _reset_peak()
    before_kb = _memory_kb()
    started = time.perf_counter()
    try:
        decisions = services.decide_claims(ids)
    finally:
        submission._decide_chunk = decide_chunk
    decided = time.perf_counter()
    db.session.commit()
    finished = time.perf_counter()
    added_kb = max(0, _memory_kb("VmHWM") - before_kb)  # what deciding added to the process at its peak
    event.remove(engine, "before_cursor_execute", count)
    statuses = Counter(d.status.value for d in decisions.values())
    codes = Counter(code for d in decisions.values() for line in d.lines for code in line.reason_codes)
    codes.update(code for d in decisions.values() for code in d.review_codes)
    lines = sum(len(d.lines) for d in decisions.values())
    return {
        "decided": len(decisions),
        "lines": lines,
        "decide_s": decided - started,
        "commit_s": finished - decided,
        "seconds": finished - started,
        "span_reads": seen["span_reads"],
        "chunk_reads": seen["chunk_reads"],
        "writes": seen["writes"],
        "added_mb": round(added_kb / 1024),
        "statuses": statuses,
        "codes": codes,
    }


def _written_tables():
    from blueprints.claims.models import ClaimAuditTrail, ClaimItem, ClaimStatusChange
    from blueprints.core.models import AuditLog
    from medcover.events import OutboxEvent

    return [m.__table__ for m in (ClaimItem, ClaimStatusChange, ClaimAuditTrail, AuditLog, OutboxEvent)]


def _marks() -> dict[str, int]:
    """Each written table's highest id before the run: what the run wrote is above it."""
    from sqlalchemy import func, select

    from medcover.extensions import db

    return {t.name: db.session.scalar(select(func.coalesce(func.max(t.c.id), 0))) for t in _written_tables()}


def _bare_insert(marks: dict[str, int], first_claim: int) -> tuple[int, float]:
    """The limit: the rows the run wrote (its lines' decisions, history, decision records, audit entries, outbox
    events), read back, then inserted bare into empty tables of the same columns and indexes in the same database,
    as multi-row INSERTs of 1,000 rows (SQLAlchemy's insertmanyvalues) and one commit. (rows, seconds)"""
    from sqlalchemy import MetaData, insert, select, text

    from medcover.extensions import db

    work = []
    for table in _written_tables():
        if table.name == "claim_items":  # updated in place by the run: its decided lines
            rows = db.session.execute(select(table).where(table.c.claim_id >= first_claim)).mappings().all()
        else:
            rows = db.session.execute(select(table).where(table.c.id > marks[table.name])).mappings().all()
        bare = table.to_metadata(MetaData(), name=f"bare_{table.name}")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"CREATE TABLE {bare.name} (LIKE {table.name} INCLUDING ALL)"))
        else:
            db.session.execute(text(f"CREATE TABLE {bare.name} AS SELECT * FROM {table.name} WHERE 0"))  # noqa: S608
        work.append((bare, [dict(row) for row in rows]))
    db.session.commit()
    started = time.perf_counter()
    for bare, rows in work:
        if rows:
            db.session.execute(insert(bare).returning(bare.c.id), rows)
    db.session.commit()
    seconds = time.perf_counter() - started
    for bare, _rows in work:
        db.session.execute(text(f"DROP TABLE {bare.name}"))
    db.session.commit()
    return sum(len(rows) for _bare, rows in work), seconds


def _bench(backend: str, url: str, size: int, triggers: str = "off") -> dict:
    from flask_migrate import upgrade

    from blueprints.claims import services
    from medcover.app import create_app
    from medcover.extensions import db

    app = create_app("test", {"SQLALCHEMY_DATABASE_URI": url, "LOG_LEVEL": "WARNING", "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        ids, counts, fill_seconds = _fill(size, triggers)
        marks = _marks()
        db.session.remove()  # a fresh session, as a job would have
        run = _decide(ids)
        db.session.remove()
        rows, bare_seconds = _bare_insert(marks, min(ids))
        db.session.remove()
        db.engine.dispose()
    claims, seconds = run["decided"], run["seconds"]
    shares = " ".join(
        f"{status} {100 * run['statuses'][status] / claims:.1f}%"
        for status in ("approved", "partially_approved", "rejected", "pending_review")
    )
    figure, limit = run["lines"] / seconds, run["lines"] / bare_seconds
    met = figure >= GOAL_LINES_PER_S and figure / limit >= GOAL_OF_LIMIT
    chunks = -(-claims // services.BATCH)
    spans = -(-claims // services.SPAN)
    reads = run["span_reads"] + run["chunk_reads"]
    return {
        "benchmark": "claims_batch",
        "work": f"decide_claims, triggers {triggers}",
        "size": size,
        "figure": round(figure),
        "unit": "lines/s",
        "limit": round(limit),
        "of_limit": f"{100 * figure / limit:.0f} %",
        "goal": f">= {GOAL_LINES_PER_S:,} lines/s at {GOAL_SIZE:,} claims and >= {GOAL_OF_LIMIT:.0%}",
        "met": "yes" if met else "no",
        "database": backend,
        "claims": claims,
        "lines": run["lines"],
        "rows_written": rows,
        "seconds": round(seconds, 1),
        "bare_s": round(bare_seconds, 1),
        "claims_per_s": round(claims / seconds),
        "reads_per_span": round(run["span_reads"] / spans, 1),
        "reads_per_chunk": round(run["chunk_reads"] / chunks, 1),
        "writes_per_chunk": round(run["writes"] / chunks, 1),
        "reads_per_claim": round(reads / claims, 4),
        "writes_per_claim": round(run["writes"] / claims, 4),
        "spans": spans,
        "chunks": chunks,
        "added_mb": run["added_mb"],
        "members": counts["members"],
        "prior_claims": counts["prior_claims"],
        "commit_s": round(run["commit_s"], 1),
        "fill_s": round(fill_seconds, 1),
        "outcomes": shares,
        "codes": " ".join(f"{code} {n}" for code, n in sorted(run["codes"].items())),
    }


def run(quick: bool = False) -> list[dict]:
    """Every size, triggers off then on. ``BENCH_CLAIMS_SIZES`` (``2000`` or ``1000,10000``) and
    ``BENCH_CLAIMS_TRIGGERS`` (``off``, ``on`` or ``off,on``) narrow it down."""
    from blueprints.claims import services

    sizes = QUICK_SIZES if quick else SIZES
    if os.environ.get("BENCH_CLAIMS_SIZES"):
        sizes = tuple(int(size) for size in os.environ["BENCH_CLAIMS_SIZES"].split(","))
    modes = [mode.strip() for mode in os.environ.get("BENCH_CLAIMS_TRIGGERS", "off,on").split(",") if mode.strip()]
    results = []
    for size in sizes:
        for triggers in modes:
            for backend, url in _databases():
                results.append(_bench(backend, url, size, triggers))
                row = results[-1]
                # a 100,000-claim run takes a while: say each result as it comes
                print(
                    f"claims_batch: {backend} {size:,} claims, triggers {triggers}, in {row['seconds']} s, "
                    f"{row['figure']} lines/s ({row['of_limit']} of a bare insert's {row['limit']}), "
                    f"{row['reads_per_span']} reads a span of up to {services.SPAN:,} claims, "
                    f"{row['reads_per_chunk']} reads and {row['writes_per_chunk']} writes a chunk of {services.BATCH}, "
                    f"{row['added_mb']} MB more at the peak",
                    file=sys.stderr,
                    flush=True,
                )
    return results
