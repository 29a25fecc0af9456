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


_INCLUDED = {
    "row.html": "<tr><td>{{ n }}</td><td>{{ name }}</td></tr>",
    "page.html": (
        "{% extends 'base.html' %}{% block content %}"
        "<table>{% for n in numbers %}{% include 'row.html' %}{% endfor %}</table>"
        "{% set kept %}{% include 'row.html' %}{% endset %}[{{ kept }}]"
        "{% macro again() %}{% include 'row.html' %}{% endmacro %}{{ again() }}"
        "{% include ['nowhere.html', 'row.html'] %}"
        "{% include 'nowhere.html' ignore missing %}"
        "{% include 'row.html' without context %}"
        "{% endblock %}"
    ),
    "base.html": "<main>{% block content %}{% endblock %}</main>",
}


def _environment(fast: bool):
    from jinja2 import DictLoader, Environment

    from medcover.html_output import OutputCodeGenerator

    environment = Environment(loader=DictLoader(_INCLUDED), autoescape=True)
    if fast:
        environment.code_generator_class = OutputCodeGenerator
    return environment


def test_an_included_template_is_written_as_jinja_writes_it_in_one_piece():
    """A list page includes its rows: the same text, in a loop, a set block, a macro, from a list of names, with
    ignore missing and without context; the include hands over one string instead of each of its pieces."""
    values = {"numbers": [1, 2], "name": "a<b", "n": 0}
    stock, fast = _environment(False), _environment(True)
    html = fast.get_template("page.html").render(values)
    assert html == stock.get_template("page.html").render(values)
    assert html.count("<td>a&lt;b</td>") == 5  # the loop's two, the set block, the macro, the list of names
    assert html.endswith("<tr><td></td><td></td></tr></main>")  # without context: its own empty names
    source = fast.compile(_INCLUDED["page.html"], "page.html", raw=True)
    assert "environment.concat(template.root_render_func(" in source


@pytest.mark.parametrize(
    "attrs",
    [
        {"name": "q", "id": "q", "value": "Wanjiru & \"Sons\" <Ltd> 'x'", "class_": "wide", "for_": "q"},
        {"data_confirm_kind": "primary", "aria_describedby": "a-hint b-errors", "hx_get": "/x?a=1&b=2"},
        {"checked": True, "readonly": False, "required": True, "maxlength": 40, "step": Decimal("0.01")},
        {"value": Markup('<b title="x">safe</b>'), "placeholder": None, "min": 0, "max": 3.5},
        {"a<b": "1", "list": "prices", "autofocus": False},
        {},
    ],
)
def test_field_attributes_are_written_as_wtforms_writes_them(attrs):
    from medcover.html_output import html_params, library_html_params

    assert html_params(**attrs) == library_html_params(**attrs)
    assert isinstance(html_params(**attrs), Markup)


def _every_form_class():
    from medcover.forms import Form

    found, waiting = set(), [Form]
    while waiting:
        for sub in waiting.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                waiting.append(sub)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def _rendered(form_class) -> list[str]:
    form = form_class(meta={"csrf": False})
    written = []
    for field in form:
        if getattr(field, "choices", ()) is None:
            field.choices = [(1, 'One "1" & <one>'), (2, "Two")]
        written += [str(field.label()), str(field(class_="x", aria_describedby="h"))]
    return written


def test_every_form_of_the_app_renders_as_with_wtforms_own_attributes(app):
    from medcover.html_output import html_params, library_html_params, use_html_params

    classes = _every_form_class()
    assert len(classes) > 20  # the domains' forms are all found
    with app.test_request_context():
        ours = {cls: _rendered(cls) for cls in classes}
        use_html_params(library_html_params)
        try:
            theirs = {cls: _rendered(cls) for cls in classes}
        finally:
            use_html_params(html_params)
    for cls in classes:
        assert ours[cls] == theirs[cls], cls.__qualname__
    assert sum(len(fields) for fields in ours.values()) > 200
