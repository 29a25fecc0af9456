"""What a page's ``{{ value }}`` writes (medcover/html_output.py): the same escaped text as MarkupSafe's escape,
made without a Markup object per value; blocks and macros still give Markup, written once, not escaped twice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from flask import render_template_string
from jinja2 import StrictUndefined, Undefined, UndefinedError
from markupsafe import Markup, escape

from medcover.html_output import text_of


class _Html:
    def __html__(self):
        return "<b>bold</b>"


@pytest.mark.parametrize(
    "value",
    [
        "Wanjiru & Sons <Ltd> \"quoted\" 'single'",
        "",
        Markup("<em>kept</em>"),
        1234,
        -7,
        True,
        None,
        Decimal("1500.50"),
        3.5,
        date(2026, 12, 4),
        _Html(),
        ["<a>", 1],
    ],
)
def test_a_value_is_written_as_escape_would_write_it(value):
    assert text_of(value) == str(escape(value))
    assert type(text_of(value)) in (str, Markup)


def test_undefined_writes_nothing_and_strict_undefined_still_refuses():
    assert text_of(Undefined(name="missing")) == ""
    with pytest.raises(UndefinedError):
        text_of(StrictUndefined(name="missing"))


def test_pages_compile_their_output_to_the_fast_writer(app):
    source = app.jinja_env.compile("<p>{{ name }}</p>", raw=True)
    assert "_text_of(" in source
    assert "escape(" not in source


def test_a_page_escapes_what_it_is_given_and_keeps_what_is_marked_safe(app):
    with app.test_request_context():
        html = render_template_string(
            "{{ name }}|{{ safe }}|{{ count }}|{{ amount }}|{{ missing }}",
            name="<script>alert(1)</script>",
            safe=Markup("<b>bold</b>"),
            count=3,
            amount=Decimal("10.00"),
        )
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt;|<b>bold</b>|3|10.00|"


def test_macros_and_set_blocks_are_written_once_not_escaped_twice(app):
    source = (
        "{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}"
        "{% set row %}<tr>{{ cell(name) }}</tr>{% endset %}"
        "{{ row }}{{ cell(name) }}{{ (cell(name) ~ name)|length }}"
    )
    with app.test_request_context():
        html = render_template_string(source, name="a<b")
    assert html == "<tr><td>a&lt;b</td></tr><td>a&lt;b</td>" + str(len("<td>a&lt;b</td>a&lt;b"))


def test_an_autoescape_false_block_writes_text_as_it_is(app):
    with app.test_request_context():
        html = render_template_string("{% autoescape false %}{{ name }}{% endautoescape %}|{{ name }}", name="<i>")
    assert html == "<i>|&lt;i&gt;"
