"""Finding the card's QR code inside a PDF, cheapest way first.

1. the pictures embedded in the first page (a docx exported by Word/WPS/LibreOffice keeps the
   QR as a PNG in its page header);
2. a rendering of the top band of the first page, where every form prints its QR (our own PDF
   draws it as vector paths);
3. the whole first page (a scan whose QR sits elsewhere).
"""

from __future__ import annotations

from .image import decode_qr
from .pdf_source import PdfSource

TOP_BAND = 0.3  # fraction of the page height rendered in step 2
BAND_SCALE = 3.0  # 216 dpi: a 20 mm QR of 41 modules gets ~4 px per module


def pdf_qr_payloads(src: PdfSource) -> list[str]:
    for img in src.images(0):
        found = decode_qr(img)
        if found:
            return found
    _, h = src.page_size(0)
    found = decode_qr(src.render(0, scale=BAND_SCALE, crop=(0, h * (1 - TOP_BAND), 0, 0)))
    return found or decode_qr(src.render(0))
