"""Claims take their business dates from the site's calendar (MEDCOVER_TIMEZONE, Africa/Nairobi in the tests):
between midnight and 03:00 in Nairobi the UTC date is still yesterday, and a claim for today's service must not
be refused as "in the future" nor be dated the day before."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from blueprints.claims import services
from blueprints.claims.models import ClaimStatus
from medcover import clock
from medcover.errors import Invalid

D = Decimal


@pytest.mark.parametrize("wall", [time(0, 30), time(23, 30)], ids=["00:30", "23:30"])
def test_a_claim_for_todays_service_is_accepted_and_dated_on_the_sites_calendar(cw, wall):
    day = cw.today + timedelta(days=1)
    with clock.frozen(datetime.combine(day, wall)):
        assert clock.today() == day
        claim = services.create_claim(
            actor=cw.clerk,
            values=services.ClaimInput(
                member_number="ACM-001",
                institution_id=cw.hospital.id,
                service_date=day,
                items=[services.ItemInput("CONSULT", 1, D("2500.00"))],
            ),
        )
        claim = services.submit_claim(actor=cw.clerk, claim_id=claim.id)
    assert claim.service_date == day
    assert claim.submitted_on == day
    assert claim.status is ClaimStatus.APPROVED and claim.total_approved == D("2250.00")


def test_a_service_tomorrow_on_the_sites_calendar_is_still_refused_at_2330(cw):
    day = cw.today + timedelta(days=1)
    with clock.frozen(datetime.combine(day, time(23, 30))), pytest.raises(Invalid) as caught:
        services.create_claim(
            actor=cw.clerk,
            values=services.ClaimInput(
                member_number="ACM-001",
                institution_id=cw.hospital.id,
                service_date=day + timedelta(days=1),
                items=[services.ItemInput("CONSULT", 1, D("2500.00"))],
            ),
        )
    assert "future" in caught.value.errors["service_date"][0]
