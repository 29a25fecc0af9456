"""The shared pieces behind UI.md's "Words and numbers" and "Forms and feedback": labels for stored values, the
journeys' scan for internal ids and snake_case, field-named messages, and the error summary of the form macros."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from flask import render_template_string
from wtforms import DecimalField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from blueprints.payment.models import MethodKind
from medcover.forms import Form, field_message
from medcover.labels import badges, day, label
from tests.e2e.watch import words_problems


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("bank_transfer", "Bank transfer"),
        (MethodKind.BANK_TRANSFER, "Bank transfer"),
        ("pending_review", "Pending review"),
        ("partially_paid", "Partially paid"),
        ("mpesa", "M-Pesa"),
        ("Wrong patient", "Wrong patient"),
        ("name@example.com", "name@example.com"),
        (None, ""),
    ],
)
def test_every_stored_value_has_plain_words(value, words):
    assert label(value) == words


def test_a_status_badge_says_the_status_in_words_in_its_colour_and_escapes_what_it_does_not_know():
    status_badge = badges({"paid": "ok", "pending_review": "warn"})
    assert status_badge(MethodKind.BANK_TRANSFER) == (
        '<span class="badge off" data-status="bank_transfer">Bank transfer</span>'
    )
    assert (
        status_badge("pending_review") == '<span class="badge warn" data-status="pending_review">Pending review</span>'
    )
    assert status_badge("pending_review") is status_badge("pending_review")  # made once a status, row after row
    assert status_badge("<b>") == '<span class="badge off" data-status="&lt;b&gt;">&lt;b&gt;</span>'


def test_dates_read_as_people_write_them():
    assert (day(date(2026, 12, 4)), day(None)) == ("4 Dec 2026", "")
    assert (day(date(2027, 1, 31)), day(date(2027, 2, 1))) == ("31 Jan 2027", "1 Feb 2027")
    assert day(date(2026, 12, 4)) is day(date(2026, 12, 4))  # written out once, row after row


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Claim #61 was paid", ["'#61'"]),
        ("Method: bank_transfer", ["'bank_transfer'"]),
        ("Dispute #12 (open)", ["'#12'"]),
        ("Claim CL-2026-000061 · Bank transfer · 1-50 of 1,234", []),
        ("write to first_last@example.com or open /billing/tariffs_x", []),
        ("the file report_2026.csv", []),
    ],
)
def test_the_journeys_scan_finds_internal_ids_and_raw_values_only(text, found):
    problems = words_problems(text)
    assert len(problems) == len(found) and all(f in p for f, p in zip(found, problems, strict=True))


class Override(Form):
    class Meta:
        csrf = False

    note = StringField("Override note", validators=[DataRequired(), Length(max=20)])
    amount = DecimalField("Amount", validators=[DataRequired()])
    payer = SelectField(
        "Payer", choices=[SelectChoice("", "Choose…"), SelectChoice("patient", "Patient")], validators=[DataRequired()]
    )
    reason = StringField("Reason")


def test_messages_name_their_field(app):
    with app.test_request_context(method="POST", data={"note": "", "amount": "lots", "payer": "", "reason": "x"}):
        form = Override()
        assert not form.validate()
        assert form.note.errors == ["Enter the override note"]
        assert form.amount.errors[0].startswith("Enter the amount")
        assert field_message(form.amount, "Not a valid decimal value.") == "Enter the amount as a number, like 1250.00"
        assert form.payer.errors == ["Choose the payer"]
        assert form.reason.errors == []
        assert field_message(form.note, "Field cannot be longer than 20 characters.") == (
            "Override note must be 20 characters or fewer"
        )


def test_the_error_summary_links_to_the_fields_at_fault_and_marks_only_those(app):
    with app.test_request_context(method="POST", data={"note": "", "amount": "12.50", "payer": "patient"}):
        form = Override()
        form.validate()
        html = render_template_string(
            '{% from "_form_macros.html" import field, form_errors %}{{ form_errors(form) }}'
            "{{ field(form.note, help='What the member reads') }}{{ field(form.amount) }}",
            form=form,
        )
    assert 'class="error-summary form-errors" role="alert"' in html and "There is a problem" in html
    assert '<a href="#note">Enter the override note</a>' in html and 'href="#amount"' not in html
    assert html.index('id="note-hint"') < html.index('name="note"')  # the hint comes before the field
    assert 'aria-describedby="note-hint note-errors"' in html and 'aria-invalid="true"' in html
    assert html.count('aria-invalid="true"') == 1 and form.amount.data == Decimal("12.50")


#: a stored date's column names, as the models name them
_DATE_COLUMNS = (
    "accrued_on|date_of_birth|due_on|effective_from|effective_to|encounter_date|end_date|issued_on|occurred_on"
    "|paid_on|period_end|period_start|service_date|start_date|submitted_on|valid_from|valid_to|waiting_until|due_date"
)
_RAW_DATE = re.compile(r"\{\{ *[a-zA-Z_][\w.]*\.(" + _DATE_COLUMNS + r")( *(or|if)[^}]*)? *\}\}")
_IN_ATTRIBUTE = re.compile(r'(value|data-[\w-]+|href|hx-[\w-]+|datetime)="[^"]*$')


def test_no_page_writes_a_stored_date_as_iso():
    """UI.md: dates read "4 Dec 2026" on pages. A form's own value and a machine-read attribute keep ISO 8601."""
    from pathlib import Path

    raw = []
    for path in sorted((Path(__file__).resolve().parents[2] / "templates").rglob("*.html")):
        if path.name.endswith("_pdf.html"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for found in _RAW_DATE.finditer(line):
                if not _IN_ATTRIBUTE.search(line[: found.start()]):
                    raw.append(f"{path.name}:{number}: {found.group(0)}")
    assert raw == []
