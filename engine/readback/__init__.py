"""Reading returned feedback cards back: PDF form, text PDF, docx, scan or photo.

Front door::

    read_card(path, content, key) -> CardReading

``content`` is what preflight found the bytes to be (``pdf``, ``docx``, ``image``).  For a PDF
the AcroForm values win when our checkbox fields are present; otherwise the text layer is read;
a PDF without text is a scan.  Readers assume the file passed ``engine.inbox.preflight``.
"""

from __future__ import annotations

from ..lazy import lazy_package

# Loaded on first use (engine/lazy.py): the review and the web pages need only the reading's types
# (``engine.readback.common``), not the PDF, docx, image and QR readers.
__all__ = lazy_package(__name__, {
    "AnswerProblem": "common", "CardReading": "common", "ReadMethod": "common", "parse_answer": "common",
    "read_card": "card", "read_pdf": "card",
})
