"""Spreadsheet cell values as people type them: shared by the plan reader and the statistics reader."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def cell_text(v: Any) -> str:
    """A cell as text, as the clerk sees it: ``12.0`` → ``12``, surrounding space removed."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_EXCEL_EPOCH = date(1899, 12, 30)
_FULLWIDTH_DIGITS = {0xFF10 + i: 0x30 + i for i in range(10)}


def parse_date(v: Any, *, within_text: bool = False) -> date | None:
    """A date cell, or a date typed as ``2025-3-10``, ``2025/3/10``, ``2025.3.10``, ``2025年3月10日`` (full-width
    digits too).  ``within_text`` finds it inside a longer text such as ``填报时间：2025年6月16日``."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if not within_text and isinstance(v, int | float) and 20000 < v < 80000:  # an Excel serial in a text cell
        return _EXCEL_EPOCH + timedelta(days=int(v))
    t = cell_text(v).translate(_FULLWIDTH_DIGITS)
    m = re.search(_DATE, t) if within_text else re.fullmatch(rf"\s*{_DATE}\s*", t)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
