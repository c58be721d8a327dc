"""The feedback page a student opens: Japanese frame, math as MathML, no network needed.

``FeedbackExporter`` is the HTML exporter of nbgrader's ``GenerateFeedback`` for this course
(``c.GenerateFeedback.exporter_class`` in ``nbgrader_config.py``, so ``make grade``, the
formgrader and ``nbgrader generate_feedback`` all use it). Compared with nbgrader's own:

- the template ``templates/feedback_ja`` frames the notebook in Japanese (score headings, test
  cells, "no response" comments) and loads nothing from the network (nbgrader's loads MathJax
  from a CDN, so a page opened offline shows raw ``$...$``);
- math in Markdown (``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]``, LaTeX environments)
  and ``text/latex`` outputs are converted to MathML when the page is written
  (``latex2mathml``); browsers render MathML natively.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from jinja2 import pass_context
from latex2mathml.converter import convert
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from traitlets import default, validate

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "feedback_ja"


def mathml(latex: str, *, display: bool) -> str:
    """MathML for a LaTeX formula; on a formula it cannot convert, the LaTeX in ``<code>``."""
    try:
        return convert(latex.strip(), display="block" if display else "inline")
    except Exception:  # latex2mathml raises several unrelated types on unsupported input
        return f'<code class="math-unconverted">{html.escape(latex)}</code>'


class MathMLRenderer(IPythonRenderer):
    """nbconvert's Markdown renderer with math written as MathML instead of left for MathJax."""

    def block_math(self, body: str) -> str:
        return mathml(body, display=True)

    def inline_math(self, body: str) -> str:
        return mathml(body, display=False)

    def latex_environment(self, name: str, body: str) -> str:
        return mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)


_LATEX_OUTPUT = re.compile(r"^\s*(\$\$|\$|\\\[|\\\()(?P<body>.*?)(\$\$|\$|\\\]|\\\))\s*$", re.S)


def latex_output(data: str) -> str:
    """A ``text/latex`` output (usually ``$...$``) as display MathML."""
    m = _LATEX_OUTPUT.match(data)
    return mathml(m.group("body") if m else data, display=True)


class FeedbackExporter(HTMLExporter):
    """HTML exporter of the course's feedback pages (template ``feedback_ja``, MathML)."""

    @default("template_name")
    def _template_name_default(self) -> str:
        return TEMPLATE_NAME

    @default("extra_template_basedirs")
    def _extra_template_basedirs_default(self) -> list[str]:
        return [str(TEMPLATES)]

    @validate("extra_template_basedirs")
    def _keep_ours(self, proposal) -> list[str]:
        # nbgrader's GenerateFeedback sets this for every HTMLExporter; ours must stay in it
        dirs = list(proposal["value"])
        return dirs if str(TEMPLATES) in dirs else [str(TEMPLATES), *dirs]

    @pass_context
    def markdown2html(self, context, source: str) -> str:
        cell = context.get("cell", {})
        path = context.get("resources", {}).get("metadata", {}).get("path", "")
        renderer = MathMLRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=path,
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)

    def default_filters(self):
        yield from super().default_filters()
        yield ("markdown2html", self.markdown2html)
        yield ("latex2mathml", latex_output)
