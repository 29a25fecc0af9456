"""Invoices are dated and aged on the site's calendar (Africa/Nairobi in the tests), not the UTC one: at 00:30 in
Nairobi it is already the next day for issue dates, due dates and the aging buckets."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from blueprints.billing import services
from blueprints.billing.services import receivables
from medcover import clock
from medcover.rbac import tenant_of

D = Decimal


def _issued(world):
    invoice = services.create_invoice(
        actor=world.clerk,
        institution_id=world.hospital.id,
        patient_id=world.self_pay.id,
        lines=[services.LineInput("CONSULT", 1, None)],
    )
    return services.issue_invoice(actor=world.clerk, invoice_id=invoice.id)


@pytest.mark.parametrize("wall", [time(0, 30), time(23, 30)], ids=["00:30", "23:30"])
def test_an_invoice_is_issued_on_the_sites_date(world, wall):
    day = clock.today() + timedelta(days=1)
    with clock.frozen(datetime.combine(day, wall)):
        invoice = _issued(world)
    assert invoice.issued_on == day
    assert invoice.due_on >= day


@pytest.mark.parametrize(
    ("days_later", "wall", "bucket"),
    [(30, time(23, 30), "current"), (31, time(0, 30), "d30")],
    ids=["day 30 at 23:30", "day 31 at 00:30"],
)
def test_aging_counts_days_on_the_sites_calendar(world, days_later, wall, bucket):
    issued = clock.today()
    with clock.frozen(datetime.combine(issued, time(12, 0))):
        _issued(world)
    with clock.frozen(datetime.combine(issued + timedelta(days=days_later), wall)):
        report = receivables.aging(tenant_of(world.clerk), clock.today())
    (row,) = report.rows
    assert row.buckets[bucket] == D("2500.00") == row.total
