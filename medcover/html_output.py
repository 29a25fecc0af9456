"""What a template's ``{{ value }}`` writes: the value as escaped text, made without a Markup object per value.

Jinja compiles each ``{{ value }}`` of an autoescaped template to ``escape(value)``. MarkupSafe's ``escape`` is Python
code that wraps every answer in a new ``Markup``, only for the template to join the pieces into one string; a list
page writes over a thousand values, and that wrapping was about a tenth of its time. ``text_of`` gives the same
characters as a plain string, and the code generator below writes it where Jinja would write ``escape(``, through
Jinja's documented hook (``Environment.code_generator_class``). Only output goes this way: ``|e``, ``~`` and a
macro's or ``{% set %}`` block's result still make Markup as before, because a block's pieces are joined and wrapped
in Markup by Jinja itself.
"""

from __future__ import annotations

from jinja2.compiler import CodeGenerator
from markupsafe import Markup
from markupsafe._speedups import _escape_inner


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

    def _output_child_pre(self, node, frame, finalize) -> None:
        if frame.eval_ctx.volatile or not frame.eval_ctx.autoescape:
            super()._output_child_pre(node, frame, finalize)
            return
        self.write("_text_of(")
        if finalize.src is not None:
            self.write(finalize.src)


def install(app) -> None:
    """Before the app compiles its first template."""
    app.jinja_env.code_generator_class = OutputCodeGenerator
