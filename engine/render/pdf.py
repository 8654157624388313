"""PDF rendering: Jinja2 HTML templates laid out by WeasyPrint, many documents at a time.

A single CJK page costs WeasyPrint ~0.1 s of fixed work (style set-up, font subsetting on
write) that does not grow with the page count, so documents of one form are laid out together
in one HTML (one ``<section>`` each, a page break between them), written once, and split into
one file per document (:mod:`.pdfsplit`).  Rendering one document is the same path with a
batch of one, so a single file and a batch file are laid out identically.

The card's twenty answer boxes are AcroForm checkboxes (``<input type=checkbox>`` with
WeasyPrint's ``pdf_forms``); their names are :data:`CHECKBOX_FIELDS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import weasyprint
from markupsafe import Markup
from weasyprint.text.fonts import FontConfiguration

from ..forms import ANSWER_OPTIONS, CARD_QUESTIONS
from .pdfsplit import CatalogExtras, finish, split_pages
from .qr import qr_data_uri
from .templates import CSS_NAME, html_template_name

# Stable AcroForm names of the card's answer boxes: q1_yes, q1_no … q10_yes, q10_no.
OPTION_SUFFIX = {"是": "yes", "否": "no"}


def checkbox_name(question: int, option: str) -> str:
    """``checkbox_name(3, "否")`` → ``"q3_no"`` (question numbers start at 1)."""
    return f"q{question}_{OPTION_SUFFIX[option]}"


CHECKBOX_FIELDS: tuple[str, ...] = tuple(
    checkbox_name(q, o) for q in range(1, len(CARD_QUESTIONS) + 1) for o in ANSWER_OPTIONS)

PDF_VARIANTS = ("pdf/a-3b", "pdf/a-2b", "pdf/a-3u", "pdf/a-2u")
_DOC_ID = "ruqi-doc-{}"


def html_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """The form context plus what only HTML needs: the QR as a data URI, the checkbox names."""
    card = ctx["card"]
    fields = [[(checkbox_name(i, o), o) for o in card["options"]] for i in range(1, len(card["items"]) + 1)]
    return {**ctx, "qr_data_uri": qr_data_uri(ctx["qr"]), "card_fields": fields}


def jinja_env(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,  # & < > " in an enterprise name stay text
        undefined=jinja2.StrictUndefined,
    )


@dataclass(slots=True)
class PdfJob:
    form_key: str
    contexts: list[dict[str, Any]]


class HtmlPdfRenderer:
    """Per-process state: compiled templates, the parsed stylesheet, the font configuration."""

    def __init__(self, templates_dir: Path):
        self.templates_dir = templates_dir
        self.env = jinja_env(templates_dir)
        self.font_config = FontConfiguration()
        self.css = weasyprint.CSS(filename=str(templates_dir / CSS_NAME), font_config=self.font_config)

    def fragment(self, form_key: str, ctx: dict[str, Any]) -> str:
        """The form's ``doc`` block for one inspection (the page shell is added by :meth:`html`)."""
        tpl = self.env.get_template(html_template_name(form_key))
        return "".join(tpl.blocks["doc"](tpl.new_context(html_context(ctx))))

    def title(self, form_key: str, ctx: dict[str, Any]) -> str:
        tpl = self.env.get_template(html_template_name(form_key))
        return "".join(tpl.blocks["title"](tpl.new_context(html_context(ctx)))).strip()

    def html(self, form_key: str, contexts: Sequence[dict[str, Any]]) -> str:
        # The title goes into the PDF's metadata, shared by every file split from this HTML:
        # so it names the form, not one enterprise.
        head = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
                f"<title>{Markup.escape(self.title(form_key, contexts[0]))}</title></head><body>")
        parts = [head]
        for i, ctx in enumerate(contexts):
            parts.append(f'<section class="doc doc-{form_key}" id="{_DOC_ID.format(i)}">')
            parts.append(self.fragment(form_key, ctx))
            parts.append("</section>")
        parts.append("</body></html>")
        return "".join(parts)

    def layout(self, form_key: str, contexts: Sequence[dict[str, Any]]) -> weasyprint.Document:
        html = weasyprint.HTML(string=self.html(form_key, contexts), base_url=str(self.templates_dir) + "/")
        return html.render(stylesheets=[self.css], font_config=self.font_config, pdf_forms=True)

    def render(self, form_key: str, contexts: Sequence[dict[str, Any]], pdf_variant: str | None = None) -> list[bytes]:
        """One PDF (bytes) per context, in order."""
        document = self.layout(form_key, contexts)
        ranges = page_ranges(document, len(contexts))
        combined = document.write_pdf(pdf_variant=pdf_variant)
        extras = CatalogExtras.from_pdf(combined)
        acroform = form_key == "card"
        return [finish(doc, extras, acroform) for doc in split_pages(combined, ranges)]


def page_ranges(document: weasyprint.Document, n: int) -> list[range]:
    """Which pages belong to which ``<section>``: each section's id anchors its first page."""
    starts: dict[int, int] = {}
    prefix = _DOC_ID.format("")
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith(prefix):
                starts.setdefault(int(anchor[len(prefix):]), index)
    if sorted(starts) != list(range(n)):
        raise RuntimeError(f"page split failed: found {len(starts)} of {n} documents")
    bounds = [starts[i] for i in range(n)] + [len(document.pages)]
    return [range(bounds[i], bounds[i + 1]) for i in range(n)]


_renderers: dict[Path, HtmlPdfRenderer] = {}


def renderer(templates_dir: Path) -> HtmlPdfRenderer:
    key = templates_dir.resolve()
    if key not in _renderers:
        _renderers[key] = HtmlPdfRenderer(key)
    return _renderers[key]
