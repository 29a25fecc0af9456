"""The settlement advice PDF: A4, the insurer, the provider, the period, each claim paid with its amounts, the
total, the method and reference; names print as text, never as markup; only who may see the settlement gets it."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from blueprints.claims import services as claims
from blueprints.payment import services
from blueprints.payment.services import printing
from medcover.extensions import db
from medcover.labels import day
from medcover.rbac import tenant_of

A4_MM = (210.0, 297.0)


def _text(data: bytes) -> str:
    """The document's text, whitespace collapsed (a wrapped cell must not split what a test looks for)."""
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages)


def _settle(cw, people):
    settlement = services.settle(
        actor=people.insurer,
        institution_id=cw.hospital.id,
        period_start=cw.today - timedelta(days=10),
        period_end=cw.today,
        method="bank_transfer",
        reference="EFT-0042",
    )
    db.session.commit()
    return settlement


def _second_claim(cw):
    return claims.submit_claim(
        actor=cw.clerk,
        claim_id=claims.create_claim(
            actor=cw.clerk,
            values=claims.ClaimInput(
                "ACM-001", cw.hospital.id, cw.today - timedelta(days=3), [claims.ItemInput("CONSULT", 1, "2500.00")]
            ),
        ).id,
    )


def test_the_advice_lists_the_claims_paid_and_the_total(client, login, cw, people, approved_claim):
    second = _second_claim(cw)
    settlement = _settle(cw, people)
    login(people.insurer)
    response = client.get(f"/settlements/{settlement.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert f'filename="{settlement.number}-advice.pdf"' in response.headers["Content-Disposition"]
    data = response.get_data()
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert [round(float(side) / 72 * 25.4, 1) for side in (box.width, box.height)] == list(A4_MM)
    text = _text(data)
    assert "SETTLEMENT ADVICE" in text and settlement.number in text
    assert "Acme Insurance" in text and "Hospital A" in text
    assert approved_claim.claim_number in text and second.claim_number in text
    assert "3,450.00" in text and "2,250.00" in text and "KES 5,700.00" in text
    assert "Bank transfer" in text and "EFT-0042" in text
    period = f"{day(cw.today - timedelta(days=10))} – {day(cw.today)}"
    assert period in text


def test_markup_in_a_member_name_prints_as_text(client, login, cw, people, approved_claim):
    cw.member.first_name = "<b>Wanjiru</b>"
    cw.member.last_name = "<script>x</script>"
    cw.hospital.name = '<img src="https://evil.example/x.png"> Hospital A'
    settlement = _settle(cw, people)
    html = printing.settlement_html(tenant_of(people.insurer), settlement.id)
    assert "&lt;b&gt;Wanjiru&lt;/b&gt;" in html and "<b>Wanjiru</b>" not in html and "<script>" not in html
    assert "<img" not in html and "&lt;img" in html
    login(people.insurer)
    text = _text(client.get(f"/settlements/{settlement.id}.pdf").get_data())
    assert "<b>Wanjiru</b> <script>x</script>" in text
    assert '<img src="https://evil.example/' in text and "Hospital A" in text


def test_the_provider_prints_its_advice_and_another_insurer_gets_404(app, client, login, cw, people, approved_claim):
    settlement = _settle(cw, people)
    login(people.hospital)
    assert approved_claim.claim_number in _text(client.get(f"/settlements/{settlement.id}.pdf").get_data())
    from tests.payment.test_views import browser

    other = browser(app, people.other_insurer)
    assert other.get(f"/settlements/{settlement.id}.pdf").status_code == 404
    assert browser(app, people.other_hospital).get(f"/settlements/{settlement.id}.pdf").status_code == 404
