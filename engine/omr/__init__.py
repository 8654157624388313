"""Reading paper cards: scans and photos of a printed 入企检查监督反馈卡, ticked with a pen.

Front door::

    read_scan(path, key, content="") -> list[ScanCard]     # one per card (page) in the file
    iter_scan(path, key, content="") -> Iterator[ScanCard]  # the same, one page at a time

Per page: decode (``pages``), find the QR and the answers table and register the image to the
card (``locate``), decide each question's two boxes with a measured confidence (``marks``), and
when the QR cannot be read, read the printed 检查编号 (``serial``, Tesseract) and say that no
signature was checked.  A question is answered only when exactly one box is clearly marked;
anything else leaves it to a person (``needs_review`` naming the questions).  Never a guess.
"""

from __future__ import annotations

from .layout import CardLayout, load_layouts
from .model import MarkDecision, MarkHow, ScanCard, SerialSource
from .read import iter_scan, read_page, read_scan, record_layout

__all__ = ["CardLayout", "MarkDecision", "MarkHow", "ScanCard", "SerialSource", "iter_scan", "load_layouts",
           "read_page", "read_scan", "record_layout"]
