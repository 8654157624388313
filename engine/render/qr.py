"""The signed QR payload (``ctx["qr"]``) drawn as PNG, for the docx and (as a data URI) the HTML."""

from __future__ import annotations

import base64
import io
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    import segno


# Error level M: the payload is ~60 ASCII characters, version 4 (33 modules); a 20 mm print
# gives 0.6 mm modules, comfortably read from a phone photo or a 150 dpi scan.
ERROR_LEVEL = "m"


# A fixed mask: segno otherwise scores all eight in pure Python, ~20 ms per code.  Any mask is
# valid (ISO/IEC 18004 only recommends the lowest-penalty one); the tests decode what we print.
MASK = 4


@lru_cache(maxsize=64)
def _make(payload: str) -> segno.QRCode:
    import segno

    return segno.make(payload, error=ERROR_LEVEL, micro=False, boost_error=False, mask=MASK)


@lru_cache(maxsize=64)
def qr_png(payload: str, scale: int = 8) -> bytes:
    """Black-on-white PNG, ``scale`` pixels per module, 4-module quiet zone (Pillow: ~1 ms)."""
    from PIL import Image

    matrix = _make(payload).matrix
    border, n = 4, len(matrix)
    size = n + 2 * border
    quiet = b"\xff" * size
    rows = [quiet] * border + [b"\xff" * border + bytes(0 if dark else 255 for dark in row) + b"\xff" * border
                               for row in matrix] + [quiet] * border
    img = Image.frombytes("L", (size, size), b"".join(rows)).convert("1")
    if scale > 1:
        img = img.resize((size * scale, size * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def qr_data_uri(payload: str) -> str:
    """PNG data URI for HTML.  A PNG, not SVG: WeasyPrint parses SVG paths in Python, ~15 ms per code.
    One pixel per module: the PDF scales it without smoothing (CSS image-rendering: pixelated)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(payload, scale=1)).decode("ascii")
