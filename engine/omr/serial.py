"""The printed 检查编号, read with Tesseract when the QR cannot be (folded, scribbled over, too small).

Only the header band right of the title is read, with digits and '-' allowed, and the result must
be a whole serial (``engine.identifiers.Serial``): anything less is no serial.  A serial read this way
has no signature to check, so the card always goes to a person (``engine.omr.read``).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from ..identifiers import SERIAL_RE, Serial
from .locate import PX_PER_MM, TABLE_W_MM, TABLE_X_MM

if TYPE_CHECKING:
    import numpy as np

# The serial line of the header sits 15–33 mm below the top edge, right of the middle (forms.css).
BAND_MM = (10.0, 40.0)
TESSERACT_SECONDS = 10
WHITELIST = "0123456789-:"


def tesseract() -> str | None:
    return shutil.which("tesseract")


def read_printed_serial(page: np.ndarray) -> str | None:
    """The serial printed in the header of a registered page, or None (never a partial guess)."""
    exe = tesseract()
    if exe is None:
        return None
    import cv2

    p = PX_PER_MM
    y0, y1 = round(BAND_MM[0] * p), round(BAND_MM[1] * p)
    x0, x1 = round((TABLE_X_MM + TABLE_W_MM * 0.3) * p), round((TABLE_X_MM + TABLE_W_MM) * p)
    band = _without_blobs(cv2.cvtColor(page[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY))
    ok, png = cv2.imencode(".png", band)
    if not ok:
        return None
    # A block first; where the label's glyphs are read as digits stuck to the serial, the line alone.
    # ':' is allowed so that the label's full-width colon is read as one and parts the label (its
    # glyphs forced to digits) from the serial: without it a scribbled QR beside the line gave
    # "492140200-2025-0012", no whole serial, in both modes.
    for psm in ("6", "7"):
        try:
            out = subprocess.run([exe, "stdin", "stdout", "--psm", psm, "-c", f"tessedit_char_whitelist={WHITELIST}"],
                                 input=png.tobytes(), capture_output=True, timeout=TESSERACT_SECONDS, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        s = _as_printed(out.stdout.decode("utf-8", "replace"))
        if s:
            return s
    return None


def _as_printed(text: str) -> str | None:
    """The one serial in ``text`` written exactly as the engine prints it, or None.

    A scribble's remnant read as one more digit gives "…-00050" for "…-0005": ``Serial.parse``
    would take it as sequence 50, another inspection. The engine prints the sequence with four
    digits (more only from 10000 on, never with a leading zero), so such a reading is refused."""
    found = {m.group(0) for m in SERIAL_RE.finditer(text) if (s := Serial.parse(m.group(0))) and str(s) == m.group(0)}
    return found.pop() if len(found) == 1 else None


# A printed glyph of the header line is ~4 mm high; ink taller or wider than this is the QR, a
# scribble over it or a stamp, never a digit.
GLYPH_MAX_MM = 7.0


def _without_blobs(band: np.ndarray) -> np.ndarray:
    """The band with every ink blob larger than a glyph painted white.

    A QR scribbled over is one blob that often touches the serial's last digit: read with the
    digit, its strokes were taken for more digits ("0043" for "0004"), a wrong serial. Taken out
    together with the digit it touches, the serial is one digit short and is not read at all."""
    import cv2
    import numpy as np

    _, ink = cv2.threshold(band, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    limit = GLYPH_MAX_MM * PX_PER_MM
    big = [i for i in range(1, n) if stats[i, cv2.CC_STAT_HEIGHT] > limit or stats[i, cv2.CC_STAT_WIDTH] > limit]
    out = band.copy()
    if big:
        out[np.isin(labels, big)] = 255
    return out
