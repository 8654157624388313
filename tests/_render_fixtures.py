"""Helpers for the render tests: read generated files back the way a person's tools would."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import docx
import pdfplumber
import pypdfium2 as pdfium
import zxingcpp
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph
from PIL import Image

from engine.forms import FORMS


def squash(text: str) -> str:
    """Whitespace (line breaks, ideographic spaces) removed: layouts wrap lines anywhere."""
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    """Page text, then the text of every table cell: a wrapped question and its answer cell share
    lines, so the page text interleaves them; cell by cell each sentence reads whole."""
    parts = []
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            parts.append(page.extract_text() or "")
            for table in page.extract_tables():
                parts += [cell or "" for row in table for cell in row]
    return "\n".join(parts)


def docx_text(path: Path) -> str:
    d = docx.Document(str(path))
    parts = [p.text for p in d.paragraphs]
    for table in d.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    for section in d.sections:
        parts += [p.text for p in section.header.paragraphs]
    return "\n".join(parts)


def expected_texts(ctx: dict[str, Any], form_key: str) -> list[str]:
    """Every sentence the form must print: its title, filled texts, numbered items and notes."""
    f = ctx[form_key]
    texts = [f["title"], ctx["serial_label"], *f["items"], *f["notes"]]
    texts += [t for k, t in f["t"].items() if not (form_key == "notice" and k == "joint" and not t)]
    if form_key == "card":
        texts.append(ctx["answer_boxes"])
    return texts


def missing_texts(text: str, ctx: dict[str, Any], form_key: str) -> list[str]:
    flat = squash(text)
    return [t for t in expected_texts(ctx, form_key) if squash(t) not in flat]


def decode_qr_image(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img)]


def pdf_page_image(path: Path, page: int = 0, dpi: int = 150) -> Image.Image:
    """The page as a reader shows it, form fields included."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        pdf.init_forms()
        return pdf[page].render(scale=dpi / 72, may_draw_forms=True).to_pil()
    finally:
        pdf.close()


def docx_images(path: Path) -> list[bytes]:
    with zipfile.ZipFile(path) as z:
        return [z.read(n) for n in z.namelist() if n.startswith("word/media/")]


def docx_image(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def form_of(path: Path) -> str:
    return next(k for k, f in sorted(FORMS.items(), key=lambda kv: -len(kv[1].title)) if f.title in path.name)


def paragraph_with(d: docx.document.Document, text: str) -> tuple[int, Paragraph]:
    """The first paragraph (1-based number, paragraph) of the body holding ``text``."""
    for n, p in enumerate(d.element.body.iter(qn("w:p")), 1):
        para = Paragraph(p, d)
        if text in para.text:
            return n, para
    raise AssertionError(text)
