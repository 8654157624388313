"""The printed 检查编号, read with Tesseract when the QR cannot be (folded, scribbled over, too small).

Only the header band right of the title is read, with digits, '-' and ':' allowed, and the result must
be a whole serial (``engine.identifiers.Serial``) written as the engine prints it: anything less is no
serial.  A serial is never guessed: the band is read twice, as it is and enlarged, and the number is
taken only when both readings are the same whole serial (one Tesseract reading is not sure of itself:
on 150 dpi Group-4 faxes and soft phone photos it read "…0006" as "…0000" and "…0004" as "…0008").
A serial read this way has no signature to check, so the card always goes to a person
(``engine.omr.read``).
"""

from __future__ import annotations

import os
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
# A printed glyph of the header line is ~4 mm high; ink taller or wider than this is the QR, a
# scribble over it or a stamp, never a digit.
GLYPH_MAX_MM = 7.0


def tesseract() -> str | None:
    return shutil.which("tesseract")


def read_printed_serial(page: np.ndarray) -> str | None:
    """The serial printed in the header of a registered page, or None (never a partial guess, nor
    a number two readings do not agree on)."""
    exe = tesseract()
    if exe is None:
        return None
    import cv2

    p = PX_PER_MM
    y0, y1 = round(BAND_MM[0] * p), round(BAND_MM[1] * p)
    x0, x1 = round((TABLE_X_MM + TABLE_W_MM * 0.3) * p), round((TABLE_X_MM + TABLE_W_MM) * p)
    band = _without_blobs(cv2.cvtColor(page[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY))
    for line in _lines(band)[:MAX_LINES]:
        first = _read(exe, line)
        if first is not None:
            again = _read(exe, cv2.resize(line, None, fx=AGAIN_SCALE, fy=AGAIN_SCALE, interpolation=cv2.INTER_CUBIC))
            return first if again == first else None
    return None


# Each line of print in the band is read alone, as one line (Tesseract's --psm 7): the band as a
# block (--psm 6) read the last digit beside the QR's place wrong in one band of five (4 → 8, 5 → 8,
# 6 → 0) on the benchmark's corpora, and the band as one line fails where a phone photo's band also
# holds the title's glyphs.  A line that gives a whole serial is read again at twice its size, where
# its glyphs fall on other pixels: a misread digit is not misread the same way twice.
PSM = "7"
AGAIN_SCALE = 2.0
MAX_LINES = 3
LINE_MM = (1.5, GLYPH_MAX_MM)  # height of a line of the header's print (its glyphs ~4 mm)
LINES_LEFT_OF = 0.7  # share of the band's width: the QR starts at ~0.82, the serial line at ~0.35
SERIAL_LINE_MM = 14.0  # the serial line's centre below the band's top edge (forms.css)
LINE_PAD = 8  # px of paper left round a line


def _lines(band: np.ndarray) -> list[np.ndarray]:
    """The band's lines of print, each cut out with a margin of paper, nearest the serial's place first."""
    import cv2

    _, ink = cv2.threshold(band, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    # Lines are found left of the QR's place: its finder patterns, too small to be taken out as a
    # blob, would join the serial's line to the rows above it.
    rows = ink[:, :round(LINES_LEFT_OF * ink.shape[1])].sum(axis=1) >= 3
    runs, start = [], None
    for y, on in enumerate([*rows, False]):
        if on and start is None:
            start = y
        elif not on and start is not None:
            runs.append((start, y))
            start = None
    lo, hi = (v * PX_PER_MM for v in LINE_MM)
    runs = [(a, b) for a, b in runs if lo <= b - a <= hi]
    runs.sort(key=lambda r: abs((r[0] + r[1]) / 2 - SERIAL_LINE_MM * PX_PER_MM))
    out = []
    for a, b in runs:
        x0, x1 = _widest_run(ink[a:b])
        line = band[max(0, a - LINE_PAD):b + LINE_PAD, max(0, x0 - LINE_PAD):x1 + LINE_PAD]
        out.append(cv2.copyMakeBorder(line, LINE_PAD, LINE_PAD, LINE_PAD, LINE_PAD, cv2.BORDER_REPLICATE))
    return out


WORD_GAP_MM = 2.0  # blank paper this wide parts words: glyphs of the serial stand < 1 mm apart


def _widest_run(ink: np.ndarray) -> tuple[int, int]:
    """The columns of the line's widest run of print (the serial): the label before it stands 3 mm
    apart, and what is left of the QR after it (a finder pattern, specks too small to be taken out
    as a blob) ~4 mm; read with the serial, those specks were read as digits ("…0006" as "…0000-")."""
    import numpy as np

    xs = np.flatnonzero(ink.sum(axis=0))
    if xs.size == 0:
        return 0, ink.shape[1]
    cuts = np.flatnonzero(np.diff(xs) > WORD_GAP_MM * PX_PER_MM)
    starts, ends = np.r_[xs[0], xs[cuts + 1]], np.r_[xs[cuts], xs[-1]]
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k]) + 1


def _read(exe: str, band: np.ndarray) -> str | None:
    """The one whole serial Tesseract reads in ``band``, or None."""
    import cv2

    ok, png = cv2.imencode(".png", band)
    if not ok:
        return None
    # ':' is allowed so that the label's full-width colon is read as one and parts the label (its
    # glyphs forced to digits) from the serial: without it a scribbled QR beside the line gave
    # "492140200-2025-0012", no whole serial.  One thread: the reading is small, and the figure of
    # the benchmark is per core.
    try:
        out = subprocess.run([exe, "stdin", "stdout", "--psm", PSM, "-c", f"tessedit_char_whitelist={WHITELIST}"],
                             input=png.tobytes(), capture_output=True, timeout=TESSERACT_SECONDS, check=False,
                             env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    except (OSError, subprocess.SubprocessError):
        return None
    return _as_printed(out.stdout.decode("utf-8", "replace"))


def _as_printed(text: str) -> str | None:
    """The one serial in ``text`` written exactly as the engine prints it, or None.

    A scribble's remnant read as one more digit gives "…-00050" for "…-0005": ``Serial.parse``
    would take it as sequence 50, another inspection. The engine prints the sequence with four
    digits (more only from 10000 on, never with a leading zero), so such a reading is refused; and
    it numbers a year's inspections from 1, so "…-0000" is a misread."""
    found = {m.group(0) for m in SERIAL_RE.finditer(text)
             if (s := Serial.parse(m.group(0))) and str(s) == m.group(0) and s.seq >= 1}
    return found.pop() if len(found) == 1 else None




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
        # With its fringe: the gray rim of a blob lies outside Otsu's ink, and its specks read as digits.
        fringe = cv2.dilate(np.isin(labels, big).astype(np.uint8), np.ones((FRINGE, FRINGE), np.uint8))
        out[fringe > 0] = 255
    return out


FRINGE = 5  # px (0.6 mm) round a blob painted out with it
