"""Scans and photos: find the QR code (to match the serial), never guess the ticks.

Until the scan issue lands, a scanned or photographed card goes to ``needs_review`` with its
serial when the QR is readable; the answers stay ``None``.  The same QR decoding serves the
other readers (the QR picture inside a docx or a PDF).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from ..forms import FormKey
from ..images import pillow
from .common import NOT_READ, CardReading, ReadMethod

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    from PIL import Image

_DOWNSCALE_TO = 1800  # px on the long side: phone photos decode faster and often better

NEEDS_REVIEW_IMAGE = "这是扫描件或照片，系统暂不识别手写或打印的勾选，请人工核对十个问题的回答后在审查中录入。"


def decode_qr(img: Image.Image) -> list[str]:
    """Texts of the QR codes in a picture (empty when none is readable)."""
    return [text for text, _ in decode_qr_at(img)]


def decode_qr_at(img: Image.Image) -> list[tuple[str, tuple[float, float]]]:
    """The QR codes in a picture: each one's text and centre (x, y in the picture's pixels)."""
    import zxingcpp

    img = img.convert("L") if img.mode not in ("L", "RGB") else img

    def read(pic: Image.Image, scale: float) -> list[tuple[str, tuple[float, float]]]:
        out = []
        for r in zxingcpp.read_barcodes(pic, formats=zxingcpp.BarcodeFormat.QRCode):
            if r.text:
                p = r.position
                corners = (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
                out.append((r.text, (scale * sum(c.x for c in corners) / 4, scale * sum(c.y for c in corners) / 4)))
        return out

    found = read(img, 1.0)
    if not found and max(img.size) > _DOWNSCALE_TO:
        small = img.copy()
        small.thumbnail((_DOWNSCALE_TO, _DOWNSCALE_TO))
        found = read(small, img.width / small.width)
    return found


def decode_qr_bytes(data: bytes) -> list[str]:
    Image = pillow()  # noqa: N806 - the module, as Pillow spells it
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return decode_qr(img)
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return []  # an unreadable embedded picture is simply not our QR


def read_image(path: Path, key: bytes) -> CardReading:
    """A JPG/PNG photo or scan of a card."""
    Image = pillow()  # noqa: N806 - the module, as Pillow spells it
    with Image.open(path) as img:
        img.load()
        payloads = decode_qr(img)
    return scan_reading(payloads, key)


def scan_reading(payloads: list[str], key: bytes, why: str = NEEDS_REVIEW_IMAGE) -> CardReading:
    r = CardReading(ReadMethod.IMAGE, confidence=NOT_READ, is_card=False, form="", qr_payloads=payloads, needs_review=why)
    r.resolve_serial("", key)
    # A scan that carries our QR is one of our cards; otherwise we cannot tell.
    r.is_card = r.qr is not None
    r.form = FormKey.CARD if r.is_card else ""
    return r
