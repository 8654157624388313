"""PDF rendering: Jinja2 HTML templates laid out by WeasyPrint, many documents at a time.

Writing a CJK PDF costs WeasyPrint ~0.1 s per font face (subsetting fonts of 65,000 glyphs)
whatever the page count, so the documents of a chunk — all three forms of several inspections —
are laid out together in one HTML (one ``<section>`` each, a page break between them), written
once, and split into one file per document (:mod:`.pdfsplit`), each with its own title.
Rendering one document is the same path with a batch of one, so a single file and a batch file
are laid out identically.

The card's twenty answer boxes are printed as ``□是 □否`` and made AcroForm checkboxes after
the split (:mod:`.pdfsplit`); their names are :data:`CHECKBOX_FIELDS`.  Where the boxes are is
read from the PDF (pdfium) for the first card of a chunk; the other cards' boxes are the same
ones moved by the distance between their answer tables, which WeasyPrint reports as anchors —
unless that table is laid out differently (other height, another page), then they are read too.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..forms import ANSWER_OPTIONS, FORMS, QUESTION_NUMBERS, FormKey
from ..text import finalize
from .nobreak import html_nobreak
from .pdfsplit import TEXT_FIELDS, AnswerBox, CatalogExtras, TextField, checkbox_name, finish, split_pages
from .qr import qr_data_uri
from .templates import CSS_NAME, html_template_name

if TYPE_CHECKING:  # WeasyPrint takes ~0.7 s to import: only a process that renders loads it
    import jinja2
    import weasyprint

# Stable AcroForm names of the card's answer boxes: q1_yes, q1_no … q10_yes, q10_no.
CHECKBOX_FIELDS: tuple[str, ...] = tuple(
    checkbox_name(q, o) for q in QUESTION_NUMBERS for o in ANSWER_OPTIONS)

# What the engine writes for the archive (its 四性检测 expects PDF/A of every PDF it generated).
ARCHIVE_PDF_VARIANT = "pdf/a-3b"
PDF_VARIANTS = (ARCHIVE_PDF_VARIANT, "pdf/a-2b", "pdf/a-3u", "pdf/a-2u")
_DOC_ID = "ruqi-doc-{}"
_PX = 0.75  # CSS px → PDF pt

# The combined HTML's title, replaced in each split file by that document's own title.
TITLE_PLACEHOLDER = "RUQI-DOCUMENT-TITLE"

Item = tuple[str, dict[str, Any]]  # (form_key, context)


def html_context(ctx: dict[str, Any], doc_id: str = _DOC_ID.format(0)) -> dict[str, Any]:
    """The form context plus what only HTML needs: the QR code as a data URI, the document's id."""
    return {**ctx, "qr_data_uri": qr_data_uri(ctx["qr"]), "doc_id": doc_id}


def jinja_env(templates_dir: Path) -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir)),
        autoescape=True,  # & < > " in an enterprise name stay text
        undefined=jinja2.StrictUndefined,
        finalize=finalize,  # a control character in a value would make the XHTML unparsable
    )
    env.filters["nobreak"] = html_nobreak
    return env


def document_title(form_key: str, ctx: dict[str, Any]) -> str:
    """``入企检查监督反馈卡 140200-2025-0001 大同市某某有限公司``: the PDF's title in a reader."""
    return f"{FORMS[form_key].title} {ctx['serial']} {ctx['v']['enterprise']}"


def _tree_html(root: ET.Element, base_url: str) -> weasyprint.HTML:
    """A WeasyPrint document from an already parsed tree.

    The engine's HTML is well-formed XHTML, which Python's C XML parser reads ~30× faster than
    WeasyPrint's pure-Python HTML5 parser (~10 ms per inspection).  Sets what ``HTML.__init__``
    sets after parsing (WeasyPrint 62–70), without calling it (it would parse);
    :meth:`HtmlPdfRenderer.layout` falls back to the ordinary constructor for anything that is
    not well-formed.
    """
    import cssselect2
    import weasyprint
    from weasyprint.urls import URLFetcher

    html = weasyprint.HTML.__new__(weasyprint.HTML)
    html.base_url = base_url
    html.url_fetcher = URLFetcher()
    html.media_type = "print"
    html.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
    html.etree_element = html.wrapper_element.etree_element
    return html


# The margin boxes WeasyPrint's make_margin_boxes builds (the @page at-keywords it looks up).
_MARGIN_BOXES = tuple(f"@{side}-{where}" for side, wheres in (
    ("top", ("left", "center", "right")), ("bottom", ("left", "center", "right")),
    ("left", ("top", "middle", "bottom")), ("right", ("top", "middle", "bottom")),
    ("top", ("left-corner", "right-corner")), ("bottom", ("left-corner", "right-corner"))) for where in wheres)


def _generated(style: Any) -> bool:
    """Whether WeasyPrint generates a margin box of this computed style (its own test)."""
    return style is not None and style["content"] not in ("normal", "inhibit", "none")


def _skip_empty_margin_boxes() -> None:
    """WeasyPrint builds, styles and lays out the sixteen @page margin boxes (@top-left …) of every
    page even when no rule gives one any content, and then returns none of them: ~5 % of a
    chunk's CPU.  Where no box of the page has content (our forms: the user-agent stylesheet only
    aligns them), the answer is known to be no box, so they are not built; a template that gives
    one content (a page number at @bottom-center) gets WeasyPrint's own path.  Installed once per
    process, idempotent."""
    import weasyprint.layout as wl

    make = wl.make_margin_boxes
    if getattr(make, "ruqi_shortcut", False):
        return

    def make_margin_boxes(context: Any, page: Any, state: Any) -> Any:
        if not any(_generated(context.style_for(page.page_type, kw)) for kw in _MARGIN_BOXES):
            return ()
        return make(context, page, state)

    make_margin_boxes.ruqi_shortcut = True  # type: ignore[attr-defined]
    wl.make_margin_boxes = make_margin_boxes


class HtmlPdfRenderer:
    """Per-process state: compiled templates, the parsed stylesheet, the font configuration."""

    def __init__(self, templates_dir: Path):
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        _skip_empty_margin_boxes()
        self.templates_dir = templates_dir
        self.env = jinja_env(templates_dir)
        self.font_config = FontConfiguration()
        self.css = weasyprint.CSS(filename=str(templates_dir / CSS_NAME), font_config=self.font_config)

    def fragment(self, form_key: str, ctx: dict[str, Any], doc_id: str = _DOC_ID.format(0)) -> str:
        """The form's ``doc`` block for one inspection (the page shell is added by :meth:`html`)."""
        tpl = self.env.get_template(html_template_name(form_key))
        return "".join(tpl.blocks["doc"](tpl.new_context(html_context(ctx, doc_id))))

    def html(self, items: Sequence[Item]) -> str:
        parts = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"/>'
                 f"<title>{TITLE_PLACEHOLDER}</title></head><body>"]
        for i, (form_key, ctx) in enumerate(items):
            doc_id = _DOC_ID.format(i)
            parts.append(f'<section class="doc doc-{form_key}" id="{doc_id}">')
            parts.append(self.fragment(form_key, ctx, doc_id))
            parts.append("</section>")
        parts.append("</body></html>")
        return "".join(parts)

    def layout(self, items: Sequence[Item]) -> weasyprint.Document:
        import weasyprint

        source = self.html(items)
        base_url = str(self.templates_dir) + "/"
        try:
            html = _tree_html(ET.fromstring(source), base_url)
        except ET.ParseError:  # a template that is HTML but not XHTML: WeasyPrint's own parser
            html = weasyprint.HTML(string=source, base_url=base_url)
        # No pdf_forms: the card's checkboxes are added after the split (see pdfsplit).
        return html.render(stylesheets=[self.css], font_config=self.font_config)

    def render(self, items: Sequence[Item], pdf_variant: str | None = None) -> list[bytes]:
        """One PDF (bytes) per (form_key, context) item, in order; all laid out and written at once."""
        document = self.layout(items)
        ranges = page_ranges(document, len(items))
        plan = _BoxPlan.make(document, ranges, [k for k, _ in items])
        fields = [text_fields(document, ranges[i], _DOC_ID.format(i)) if k == FormKey.CARD else []
                  for i, (k, _) in enumerate(items)]
        combined = document.write_pdf(pdf_variant=pdf_variant)
        del document  # the laid-out pages are the bulk of the memory; the split needs only the bytes
        extras = CatalogExtras.from_pdf(combined)
        docs = split_pages(combined, ranges, [i in plan.scan for i in range(len(items))])
        plan.fill(docs)
        for doc, found in zip(docs, fields, strict=True):
            doc.fields = found
        out = []
        for doc, (form_key, ctx) in zip(docs, items, strict=True):
            if form_key == FormKey.CARD and len(doc.boxes) != 2 * len(ctx[FormKey.CARD]["items"]):
                raise RuntimeError(f"card {ctx['serial']}: {len(doc.boxes)} answer boxes found, "
                                   f"{2 * len(ctx[FormKey.CARD]['items'])} expected")
            out.append(finish(doc, extras, title=(TITLE_PLACEHOLDER, document_title(form_key, ctx))))
        return out


@dataclass(slots=True)
class _BoxPlan:
    """Which cards' answer boxes are read from the PDF, and which are copied from a read one."""

    scan: set[int]
    derive: dict[int, tuple[int, float]]  # card -> (reference card, vertical shift in pt)

    @classmethod
    def make(cls, document: weasyprint.Document, ranges: list[range], kinds: list[str]) -> _BoxPlan:
        plan = cls(set(), {})
        ref: tuple[int, float, float, float] | None = None  # (card, x, top, table height)
        for i, kind in enumerate(kinds):
            if kind != FormKey.CARD:
                continue
            geo = _table_geometry(document, ranges[i], _DOC_ID.format(i))
            if geo is None:
                plan.scan.add(i)
            elif ref is None:
                ref = (i, *geo)
                plan.scan.add(i)
            elif abs(geo[0] - ref[1]) < 0.01 and abs(geo[2] - ref[3]) < 0.01:
                plan.derive[i] = (ref[0], (geo[1] - ref[2]) * _PX)
            else:
                plan.scan.add(i)
        return plan

    def fill(self, docs: list[Any]) -> None:
        for i, (ref, shift) in self.derive.items():
            docs[i].boxes = [AnswerBox(b.page, b.option, (b.rect[0], b.rect[1] - shift, b.rect[2], b.rect[3] - shift))
                             for b in docs[ref].boxes]


def _table_geometry(document: weasyprint.Document, pages: range, doc_id: str) -> tuple[float, float, float] | None:
    """(x, top, height) in CSS px of a one-page card's answer table, None if it is not that simple."""
    if len(pages) != 1:
        return None
    anchors = document.pages[pages.start].anchors
    start, end = anchors.get(f"{doc_id}-answers"), anchors.get(f"{doc_id}-signoff")
    if start is None or end is None:
        return None
    return start[0], start[1], end[1] - start[1]


def text_fields(document: weasyprint.Document, pages: range, doc_id: str) -> list[TextField]:
    """The card's 负责人/职务/联系电话 cells (ids ``<doc>-field-head`` …) as PDF rectangles, inset 1 pt."""
    out = []
    for page_no, index in enumerate(pages):
        page = document.pages[index]
        for name in TEXT_FIELDS:
            box = page.anchors.get(f"{doc_id}-field-{name}")
            if box is None:
                continue
            x0, y0, x1, y1 = (c * _PX for c in box)
            height = page.height * _PX
            out.append(TextField(page_no, name, (x0 + 1, height - y1 + 1, x1 - 1, height - y0 - 1)))
    return out


def page_ranges(document: weasyprint.Document, n: int) -> list[range]:
    """Which pages belong to which ``<section>``: each section's id anchors its first page."""
    starts: dict[int, int] = {}
    prefix = _DOC_ID.format("")
    for index, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith(prefix) and anchor[len(prefix):].isdigit():
                starts.setdefault(int(anchor[len(prefix):]), index)
    if sorted(starts) != list(range(n)):
        raise RuntimeError(f"page split failed: found {len(starts)} of {n} documents")
    bounds = [starts[i] for i in range(n)] + [len(document.pages)]
    return [range(bounds[i], bounds[i + 1]) for i in range(n)]


_renderers: dict[Path, HtmlPdfRenderer] = {}
_renderers_lock = threading.Lock()  # a warm-up thread (batch.WarmUp) may be making the same one


def renderer(templates_dir: Path) -> HtmlPdfRenderer:
    key = templates_dir.resolve()
    with _renderers_lock:
        if key not in _renderers:
            _renderers[key] = HtmlPdfRenderer(key)
        return _renderers[key]
