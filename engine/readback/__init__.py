"""Reading returned feedback cards back: PDF form, text PDF, docx, scan or photo.

Front door::

    read_card(path, content, key, pages=0) -> CardReading

``content`` is what preflight found the bytes to be (``pdf``, ``docx``, ``image``).  For a PDF
the AcroForm values win when our checkbox fields are present; otherwise the text layer is read;
a PDF without text is a scan.  Readers assume the file passed ``engine.inbox.preflight``.
"""

from __future__ import annotations

from pathlib import Path

from .common import AnswerProblem, CardReading, ReadMethod, parse_answer
from .docx import read_docx
from .image import read_image, read_image_pdf
from .pdf_form import read_pdf_form
from .pdf_text import layout, read_pdf_text
from .qr import pdf_qr_payloads

# A text layer this short is a scanner's OCR stub or page furniture, not a typed card.
MIN_TEXT_CHARS = 40


def read_card(path: Path, content: str, key: bytes, pages: int = 0) -> CardReading:
    if content == "docx":
        return read_docx(path, key)
    if content == "image":
        return read_image(path, key)
    if content != "pdf":
        raise ValueError(f"not a card format: {content}")
    form = read_pdf_form(path, key)
    if form is not None:
        return form
    lay = layout(path)
    if len(lay.text) < MIN_TEXT_CHARS:
        return read_image_pdf(path, key, lay.pages)
    return read_pdf_text(path, key, pdf_qr_payloads(path), lay)


__all__ = ["AnswerProblem", "CardReading", "ReadMethod", "parse_answer", "read_card"]
