"""The front door of the card readers: ``read_card`` chooses the reader by content, ``read_pdf`` reads a
PDF (its form fields, else its text layer, else it is a scan).  Re-exported by ``engine.readback``."""

from __future__ import annotations

from pathlib import Path

from .common import CardReading
from .docx import read_docx
from .image import read_image, scan_reading
from .pdf_form import form_answers, form_reading
from .pdf_source import PdfSource
from .pdf_text import glyphs_pdfium, layout_of, read_pdf_text
from .qr import pdf_qr_payloads

# A text layer this short is a scanner's OCR stub or page furniture, not a typed card.
MIN_TEXT_CHARS = 40


def read_card(path: Path, content: str, key: bytes) -> CardReading:
    if content == "docx":
        return read_docx(path, key)
    if content == "image":
        return read_image(path, key)
    if content != "pdf":
        raise ValueError(f"not a card format: {content}")
    return read_pdf(path, key)


def read_pdf(path: Path, key: bytes) -> CardReading:
    with PdfSource(path) as src:
        lay = layout_of(glyphs_pdfium(src))
        form = form_answers(src.widgets())
        if form is None and len(lay.text) < MIN_TEXT_CHARS:
            r = scan_reading(pdf_qr_payloads(src), key)
            r.pages = src.pages
            return r
        payloads = pdf_qr_payloads(src)
        pages = src.pages
    if form is not None:
        r = form_reading(form[0], form[1], lay.header())
        r.pages = pages
        r.qr_payloads = payloads
        r.resolve_serial(lay.text, key)
        return r
    r = read_pdf_text(lay, key, payloads)
    if not r.is_card and not r.form and payloads:
        # Some typed text around a picture of the card (a scan with a cover line): still a scan.
        scan = scan_reading(payloads, key)
        scan.pages = pages
        return scan if scan.is_card else r
    return r

