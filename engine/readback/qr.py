"""Finding the card's QR code inside a PDF.

The cheap way first: decode the pictures embedded in the first page (a docx exported by
Word/WPS/LibreOffice keeps the QR as a PNG).  Only when none of them is a QR (the QR is drawn
as vector paths, or there is none) is the page rasterised.
"""

from __future__ import annotations

from pathlib import Path

from .image import decode_qr, decode_qr_bytes, render_pdf_page

MAX_IMAGES = 8  # a card has one picture; more means a scan or a foreign document


def embedded_image_payloads(path: Path) -> list[str]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path), strict=False)
        page = reader.pages[0]
        found: list[str] = []
        for k, img in enumerate(page.images):
            if k >= MAX_IMAGES:
                break
            try:
                pil = img.image
            except Exception:  # an image filter pypdf cannot decode: try the raw bytes
                found += decode_qr_bytes(img.data)
                continue
            if pil is not None:
                found += decode_qr(pil)
        return found
    except Exception:  # pypdf's image decoding raises many types on odd files; rasterising still works
        return []


def pdf_qr_payloads(path: Path) -> list[str]:
    found = embedded_image_payloads(path)
    if found:
        return found
    try:
        return decode_qr(render_pdf_page(path, 0))
    except Exception:  # pdfium failed on a file pdfplumber could read: no QR, not a crash
        return []
