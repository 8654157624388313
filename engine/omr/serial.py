"""The printed 检查编号, read with Tesseract when the QR cannot be (folded, scribbled over, too small).

Only the header band right of the title is read, with digits and '-' allowed, and the result must
be a whole serial (``engine.identifiers.Serial``): anything less is no serial.  A serial read this way
has no signature to check, so the card always goes to a person (``engine.omr.read``).
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

from ..identifiers import Serial
from .locate import PX_PER_MM, TABLE_W_MM, TABLE_X_MM

if TYPE_CHECKING:
    import numpy as np

# The serial line of the header sits 15–33 mm below the top edge, right of the middle (forms.css).
BAND_MM = (10.0, 40.0)
TESSERACT_SECONDS = 10


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
    band = cv2.cvtColor(page[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    ok, png = cv2.imencode(".png", band)
    if not ok:
        return None
    # A block first; where the label's glyphs are read as digits stuck to the serial, the line alone.
    for psm in ("6", "7"):
        try:
            out = subprocess.run([exe, "stdin", "stdout", "--psm", psm, "-c", "tessedit_char_whitelist=0123456789-"],
                                 input=png.tobytes(), capture_output=True, timeout=TESSERACT_SECONDS, check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        s = Serial.parse(out.stdout.decode("utf-8", "replace"))
        if s:
            return str(s)
    return None
