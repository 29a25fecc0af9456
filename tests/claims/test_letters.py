"""Claim decision letters: what the member's and the provider's letter say (every line's amounts, the reasons in
words, totals, what the member may owe, the provider's write-off), the page is A4 and inked, HTML in a name
prints as text, bounded queries, only decided claims have one, and who may print which claim's letter."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image
from pypdf import PdfReader

from blueprints.claims import services
from blueprints.claims.engine import REASONS
from blueprints.claims.services import letters
from medcover import clock, pdf
from medcover.api import PREFIX
from medcover.errors import Conflict, NotFound
from medcover.labels import day
from medcover.rbac import Role, tenant_of
from tests.factories import make_coverage, make_member, make_user

D = Decimal
DPI = 96
A4_MM = (210, 297)
EVIL_NAME = "<script>alert(1)</script>"
#: CONSULT approved (10% copay); LAB-FBC above the tariff (A01) and cut to the lab limit (A03); MRI-HEAD
#: without a pre-authorisation (R12)
LINES = [("CONSULT", 1, "2500.00"), ("LAB-FBC", 3, "1300.00"), ("MRI-HEAD", 1, "30000.00")]


def _text(data: bytes) -> str:
    """The whole PDF's text, whitespace collapsed (a wrapped cell must not split what a test looks for)."""
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages)


def _submitted(cw, items=LINES, member="ACM-001", clerk=None, institution=None):
    clerk, institution = clerk or cw.clerk, institution or cw.hospital
    claim = services.create_claim(
        actor=clerk,
        values=services.ClaimInput(
            member_number=member,
            institution_id=institution.id,
            service_date=cw.today - timedelta(days=1),
            items=[services.ItemInput(*item) for item in items],
        ),
    )
    return services.submit_claim(actor=clerk, claim_id=claim.id)


@pytest.fixture
def decided(cw):
    cw.hospital.address = "Hospital Road 1, Nairobi"
    claim = _submitted(cw)
    assert claim.status.value == "partially_approved"
    return claim


def _words(code: str) -> str:
    return f"{code} – {REASONS[code]}"


# --- what the letters say ------------------------------------------------------------------------


def test_the_member_letter_explains_every_line_with_reasons_totals_and_what_the_member_may_owe(cw, decided):
    text = _text(letters.letter_pdf(tenant_of(cw.clerk), decided.id, "member"))
    for expected in (
        "CLAIM DECISION",
        decided.claim_number,
        "Acme Insurance",
        "Hospital A",
        "Hospital Road 1, Nairobi",
        "Wanjiru Kamau",
        "Member no. ACM-001",
        f"Service date {day(decided.service_date)}",
        f"Decided {day(clock.local_date(decided.decided_at))}",  # the site's day, as the letter says it
        "Status Partially approved",
        # line, code, description, qty, billed, allowed, deductible, copay, approved, member pays
        "1 CONSULT GP consultation 1 2,500.00 2,500.00 0.00 250.00 2,250.00 250.00",
        "2 LAB-FBC Full blood count 3 3,900.00 3,600.00 0.00 0.00 3,000.00 600.00",
        "3 MRI-HEAD MRI head 1 30,000.00 0.00 0.00 0.00 0.00 30,000.00",
        f"Adjusted. {_words('A01')} {_words('A03')}",
        f"Rejected. {_words('R12')}",
        "Total 36,400.00 6,100.00 0.00 250.00 5,250.00 30,850.00",
        "The insurer pays 5,250.00",
        "What you may owe the provider 30,850.00",
        f"within {letters.DISPUTE_DAYS} days",
    ):
        assert expected in text, expected
    assert f"referring to claim number {decided.claim_number}" in text
    assert "Write-off" not in text


def test_the_provider_letter_shows_the_write_off_and_what_the_member_may_owe(cw, decided):
    text = _text(letters.letter_pdf(tenant_of(cw.clerk), decided.id, letters.Audience.PROVIDER))
    assert decided.claim_number in text and "for the provider" in text
    assert f"Rejected. {_words('R12')}" in text
    assert "Write-off on this line: 300.00" in text  # LAB-FBC billed 3,900.00, allowed 3,600.00
    assert "The member may owe you 30,850.00" in text
    assert "Write-off (billed above allowed) 300.00" in text
    assert "What you may owe" not in text
    assert "Raise a dispute on the claim in MedCover" in text


def test_an_adjudicators_override_prints_its_note(cw):
    claim = _submitted(cw, [("SURGERY", 1, "80000.00")])
    services.approve_claim(actor=cw.adjudicator, claim_id=claim.id, overrides={1: ("60000.00", "Agreed package")})
    text = _text(letters.letter_pdf(tenant_of(cw.adjudicator), claim.id, "member"))
    assert "Status Approved" in text
    assert _words("M01") in text and "Adjudicator's note: Agreed package" in text
    assert "What you may owe the provider 20,000.00" in text


def test_the_first_page_is_a4_and_inked_on_white(cw, decided):
    data = letters.letter_pdf(tenant_of(cw.clerk), decided.id, "member")
    box = PdfReader(io.BytesIO(data)).pages[0].mediabox
    assert [round(float(side) / 72 * 25.4, 1) for side in (box.width, box.height)] == list(A4_MM)
    image = Image.open(io.BytesIO(pdf.page_png(data, dpi=DPI)))
    assert [abs(got - mm / 25.4 * DPI) < 1 for got, mm in zip(image.size, A4_MM, strict=True)] == [True, True]
    grey = image.convert("L")
    width, height = grey.size
    top = grey.crop((0, 0, width, height // 6))
    assert sum(top.histogram()[:100]) > 1000, "no letterhead ink in the top sixth"
    assert sum(grey.histogram()[:100]) > 5000, "the page is nearly blank"
    assert sum(grey.histogram()[251:]) > width * height // 2  # on white paper


def test_a_long_letter_runs_over_pages_with_the_header_on_each_and_the_total_once(cw):
    claim = _submitted(cw, [("LAB-FBC", 1, "1000.00"), ("CONSULT", 1, "1000.00")] * 20)
    data = letters.letter_pdf(tenant_of(cw.clerk), claim.id, "provider")
    pages = [" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(data)).pages]
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "Billed Allowed Deductible Copay Approved" in page  # the header row again on every page
    assert claim.claim_number in pages[1]  # the running header names the claim from page 2 on
    assert " ".join(pages).count("Total 40,000.00") == 1


def test_html_in_a_members_name_prints_as_text(cw):
    member = make_member(cw.company, member_number="ACM-666", first_name=EVIL_NAME, last_name="Doe")
    make_coverage(member, cw.scheme, cw.today - timedelta(days=60), cw.today + timedelta(days=300))
    claim = _submitted(cw, [("CONSULT", 1, "2500.00")], member="ACM-666")
    html = letters.letter_html(tenant_of(cw.clerk), claim.id, "member")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f"{EVIL_NAME} Doe" in _text(letters.letter_pdf(tenant_of(cw.clerk), claim.id, "member"))


def test_the_number_of_queries_does_not_grow_with_the_lines(cw, count_queries):
    short = _submitted(cw, [("CONSULT", 1, "2500.00")])
    long = _submitted(cw, [("LAB-FBC", 1, "1200.00"), ("CONSULT", 1, "2400.00")] * 10)
    tenant = tenant_of(cw.clerk)
    counts = []
    for claim in (short, long):
        letters.letter_html(tenant, claim.id, "provider")  # warm: identity-map hits are not the point
        with count_queries() as counter:
            letters.letter_html(tenant, claim.id, "provider")
        counts.append(counter.count)
    assert counts[0] == counts[1] > 0


def test_only_a_decided_claim_has_a_letter(cw):
    pending = _submitted(cw, [("SURGERY", 1, "80000.00")])
    assert pending.status.value == "pending_review"
    with pytest.raises(Conflict):
        letters.letter_pdf(tenant_of(cw.adjudicator), pending.id, "member")
    with pytest.raises(NotFound):
        letters.letter_html(tenant_of(cw.other_adjudicator), pending.id, "member")


# --- the page and the API ------------------------------------------------------------------------


def test_the_letter_opens_inline_named_after_the_claim_and_is_not_cached(cw, decided, client, login):
    login(cw.clerk)
    for audience in ("member", "provider"):
        response = client.get(f"/claims/{decided.id}/letter.pdf?for={audience}")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.headers["Content-Disposition"] == f'inline; filename="{decided.claim_number}-{audience}.pdf"'
        assert response.headers["Cache-Control"] == "no-store"
        assert decided.claim_number in _text(response.data)
    assert client.get(f"/claims/{decided.id}/letter.pdf?for=nobody").status_code == 422


def test_the_claim_page_links_the_letters_of_a_decided_claim_only(cw, decided, client, login):
    pending = _submitted(cw, [("SURGERY", 1, "80000.00")])
    login(cw.adjudicator)
    page = client.get(f"/claims/{decided.id}").get_data(as_text=True)
    assert f"/claims/{decided.id}/letter.pdf?for=member" in page and "Print letter (member)" in page
    assert f"/claims/{decided.id}/letter.pdf?for=provider" in page and "Print letter (provider)" in page
    assert "Print letter" not in client.get(f"/claims/{pending.id}").get_data(as_text=True)


def test_a_pending_claim_has_no_letter_yet(cw, client, login):
    pending = _submitted(cw, [("SURGERY", 1, "80000.00")])
    login(cw.adjudicator)
    response = client.get(f"/claims/{pending.id}/letter.pdf")
    assert response.status_code == 409
    assert "no decision yet" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "reader",
    [
        lambda cw: cw.adjudicator,
        lambda cw: make_user(Role.FINANCE_OFFICER, company_id=cw.company.id),
        lambda cw: make_user(Role.AUDITOR),
        lambda cw: make_user(Role.ADMIN),
    ],
    ids=["adjudicator", "finance_officer", "auditor", "admin"],
)
def test_the_insurers_staff_and_platform_readers_print_the_letter(cw, decided, client, login, reader):
    login(reader(cw))
    assert client.get(f"/claims/{decided.id}/letter.pdf?for=provider").status_code == 200


@pytest.mark.parametrize("who", ["other_adjudicator", "other_clerk"])
def test_another_insurer_or_hospital_gets_404(cw, decided, client, login, who):
    login(getattr(cw, who))
    assert client.get(f"/claims/{decided.id}/letter.pdf").status_code == 404


def test_a_receptionist_may_not_print_letters(cw, decided, client, login):
    login(make_user(Role.RECEPTIONIST, institution_id=cw.hospital.id))
    assert client.get(f"/claims/{decided.id}/letter.pdf").status_code == 403


def test_the_api_answers_the_letter_as_a_pdf(cw, decided, client, api_token):
    integration = make_user(Role.INTEGRATION, institution_id=cw.hospital.id)
    response = client.get(f"{PREFIX}/claims/{decided.id}/letter.pdf?for=provider", headers=api_token(integration))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'inline; filename="{decided.claim_number}-provider.pdf"'
    assert "Write-off (billed above allowed) 300.00" in _text(response.data)

    adjudicator = api_token(cw.adjudicator)
    assert client.get(f"{PREFIX}/claims/{decided.id}/letter.pdf", headers=adjudicator).mimetype == "application/pdf"
    pending = _submitted(cw, [("SURGERY", 1, "80000.00")])
    conflict = client.get(f"{PREFIX}/claims/{pending.id}/letter.pdf", headers=adjudicator)
    assert conflict.status_code == 409 and conflict.mimetype == "application/problem+json"
    other = client.get(f"{PREFIX}/claims/{decided.id}/letter.pdf", headers=api_token(cw.other_adjudicator))
    assert other.status_code == 404
    assert client.get(f"{PREFIX}/claims/{decided.id}/letter.pdf?for=x", headers=adjudicator).status_code == 422
