"""The signed QR payload (``ctx["qr"]``) drawn as PNG, for the docx and (as a data URI) the HTML."""

from __future__ import annotations

import base64
import io
from functools import lru_cache

import segno

# Error level M: the payload is ~60 ASCII characters, version 4 (33 modules); a 20 mm print
# gives 0.6 mm modules, comfortably read from a phone photo or a 150 dpi scan.
ERROR_LEVEL = "m"


@lru_cache(maxsize=64)
def _make(payload: str) -> segno.QRCode:
    return segno.make(payload, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_png(payload: str, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    _make(payload).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_data_uri(payload: str) -> str:
    """PNG data URI for HTML.  A PNG, not SVG: WeasyPrint parses SVG paths in Python, ~15 ms per code;
    4 px per module, drawn without smoothing (CSS image-rendering: pixelated)."""
    return "data:image/png;base64," + base64.b64encode(qr_png(payload, scale=4)).decode("ascii")
