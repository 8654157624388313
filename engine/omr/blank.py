"""Is a page of a scan empty?  Duplex scanners send the blank back of every card as a page of its own.

A page is blank when, once the paper's own shade and the scanner's speckle are taken away, almost
nothing on it is ink: a printed card inks several per cent of its page (table, text, QR); a blank
back, with sensor noise, dust and a faint show-through of the front, far less than ``BLANK_INK``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .locate import ink_mask

if TYPE_CHECKING:
    from PIL import Image

BLANK_INK = 0.002  # share of the page that is ink (after removing specks) below which it is blank
_WORK_SIDE = 1000  # px on the long side: blankness needs no detail


def blank_page(image: Image.Image) -> bool:
    """True when the page holds (next to) no ink: nothing a person wrote or printed."""
    import cv2
    import numpy as np

    img = image.convert("RGB")
    f = _WORK_SIDE / max(img.size)
    if f < 1:
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))))
    ink = ink_mask(np.asarray(img))
    # A speck of dust or noise is a pixel or two; a stroke of a letter survives a 2×2 opening.
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    return float(np.count_nonzero(ink)) / ink.size < BLANK_INK
