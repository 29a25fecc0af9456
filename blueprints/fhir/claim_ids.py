"""The providers' own Claim identifiers (system + value) and what each one made in MedCover, so a Claim sent
twice is answered from the first time and nothing is written again (FHIR.md, ``POST /fhir/Claim``)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from medcover import clock
from medcover.dbtypes import UtcDateTime, enum_column, utcnow
from medcover.extensions import db


class SentAs(enum.StrEnum):
    """What the Claim became: a claim of the claims domain or a pre-authorisation request of the insurer."""

    CLAIM = "claim"
    PREAUTHORIZATION = "preauthorization"


class FhirClaimIdentifier(db.Model):
    """One provider's Claim identifier, kept once: the unique key is what makes a re-sent Claim a 200."""

    __tablename__ = "fhir_claim_identifiers"
    __table_args__ = (UniqueConstraint("institution_id", "system", "value", name="uq_fhir_claim_identifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the provider that sent the Claim (identifiers are the provider's own, so unique per provider)
    institution_id: Mapped[int] = mapped_column(Integer)
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(120))
    sent_as: Mapped[SentAs] = mapped_column(enum_column(SentAs, "fhir_claim_sent_as"))
    #: the claim's id or the pre-authorisation's id, by ``sent_as``; null only inside the request that made it
    target_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


@dataclass(frozen=True)
class Sent:
    sent_as: SentAs
    target_id: int


def sent_before(institution_id: int, system: str, value: str) -> Sent | None:
    row = db.session.scalar(
        select(FhirClaimIdentifier).where(
            FhirClaimIdentifier.institution_id == institution_id,
            FhirClaimIdentifier.system == system,
            FhirClaimIdentifier.value == value,
        )
    )
    if row is None or row.target_id is None:
        return None
    return Sent(row.sent_as, row.target_id)


def hold(institution_id: int, system: str, value: str, sent_as: SentAs) -> FhirClaimIdentifier | None:
    """Take the identifier for this request before anything is made from it; None when another request took it
    first (the unique key decides, so two copies sent at once make one claim)."""
    row = FhirClaimIdentifier(
        institution_id=institution_id, system=system, value=value, sent_as=sent_as, created_at=clock.now()
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return None
    return row


def identifiers_of(sent_as: SentAs, target_ids) -> dict[int, tuple[str, str]]:
    """The providers' identifiers of these claims (or pre-authorisations), by target id, in one query."""
    ids = [int(i) for i in target_ids]
    if not ids:
        return {}
    rows = db.session.execute(
        select(FhirClaimIdentifier.target_id, FhirClaimIdentifier.system, FhirClaimIdentifier.value).where(
            FhirClaimIdentifier.sent_as == sent_as, FhirClaimIdentifier.target_id.in_(ids)
        )
    )
    return {target: (system, value) for target, system, value in rows}
