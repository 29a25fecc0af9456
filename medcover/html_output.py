"""What a page writes: a template's ``{{ value }}`` and a form field's attributes, as escaped text made without a
Markup object per value.

Jinja compiles each ``{{ value }}`` of an autoescaped template to ``escape(value)``. MarkupSafe's ``escape`` is Python
code that wraps every answer in a new ``Markup``, only for the template to join the pieces into one string; a list
page writes over a thousand values, and that wrapping was about a tenth of its time. ``text_of`` gives the same
characters as a plain string, and the code generator below writes it where Jinja would write ``escape(``, through
Jinja's documented hook (``Environment.code_generator_class``). Only output goes this way: ``|e``, ``~`` and a
macro's or ``{% set %}`` block's result still make Markup as before, because a block's pieces are joined and wrapped
in Markup by Jinja itself. An ``{% include %}`` (a list page's rows) hands its text to the page as one string: Jinja
would pass each of its pieces on, one at a time, through every template around it (a tenth of a whole page's
rendering); the text is the same (the test renders every kind of include both ways).

A form field's attributes are WTForms' ``html_params``, which formats each attribute through ``Markup.format`` (its
escaping formatter); a page with a form spent about a sixth of its time there. ``html_params`` here writes the same
text (``tests/platform/test_html_output.py`` compares the two, and every form of the app field by field), and
``install`` puts it where WTForms' widgets look it up.
"""

from __future__ import annotations

import wtforms.widgets
import wtforms.widgets.core as widgets
from jinja2.compiler import CodeGenerator
from markupsafe import Markup, escape

try:
    from markupsafe._speedups import _escape_inner  # MarkupSafe's own escaping, in C
except ImportError:  # a build of MarkupSafe without its C speedups
    from markupsafe._native import _escape_inner


def text_of(value, _escape=_escape_inner, _str=str, _markup=Markup, _int=int) -> str:
    """``str(escape(value))``, faster: a string escaped, Markup as it is, a whole number as its digits; anything
    else by its ``__html__`` when it has one, else its text escaped (so Undefined gives "" or raises, as before)."""
    kind = type(value)
    if kind is _str:
        return _escape(value)
    if kind is _markup:
        return value
    if kind is _int:
        return _str(value)
    html = getattr(value, "__html__", None)
    if html is not None:
        return html()
    return _escape(_str(value))


class OutputCodeGenerator(CodeGenerator):
    """Jinja's code generator, but an autoescaped ``{{ value }}`` calls ``text_of``."""

    def visit_Template(self, node, frame=None) -> None:
        self.writeline(f"from {__name__} import text_of as _text_of")
        super().visit_Template(node, frame)

    def visit_Include(self, node, frame) -> None:
        """An included template (a list page's rows) as one string: Jinja passes each of its pieces on one by one
        through every template around it, a thousand pieces for fifty rows."""
        if node.ignore_missing or not node.with_context or self.environment.is_async:
            super().visit_Include(node, frame)
            return
        self.writeline("template = environment.get_or_select_template(", node)
        self.visit(node.template, frame)
        self.write(f", {self.name!r})")
        context = f"template.new_context(context.get_all(), True, {self.dump_local_context(frame)})"
        self.simple_write(f"environment.concat(template.root_render_func({context}))", frame)

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("_text_of(")
        if finalize.src is not None:
            self.write(finalize.src)


#: WTForms' own, kept for the comparison test
library_html_params = widgets.html_params


def html_params(**attrs) -> Markup:
    """WTForms' ``html_params``: attributes sorted by name, ``class_`` and ``for_`` without their underscore, ``data_``
    and ``aria_`` with hyphens, True as the bare name, False left out; names and values escaped, and a double quote
    in a value already marked safe written as ``&quot;``."""
    clean, written = widgets.clean_key, []
    for name, value in sorted(attrs.items()):
        name = clean(name)
        if value is True:
            written.append(name)
        elif value is not False:
            text = _escape_inner(value) if type(value) is str else str(escape(value)).replace('"', "&quot;")
            written.append(f'{_escape_inner(name)}="{text}"')
    return Markup(" ".join(written))  # noqa: S704 - every name and value escaped above


def use_html_params(function) -> None:
    """Where WTForms' widgets and labels find ``html_params``: the modules' names and the widgets' own attribute."""
    widgets.html_params = wtforms.widgets.html_params = function
    for value in vars(widgets).values():
        if isinstance(value, type) and "html_params" in vars(value):
            value.html_params = staticmethod(function)


def install(app) -> None:
    """Before the app compiles its first template or renders its first form."""
    app.jinja_env.code_generator_class = OutputCodeGenerator
    use_html_params(html_params)
