"""Spreadsheet cell values as people type them: shared by the plan reader and the statistics reader.

``cell_text`` is where typed text enters the engine: control characters (Excel's ``_x000B_`` for a
Shift+Enter pasted from Word, zero-width marks) are removed and line breaks joined there, so no
reader passes them on.  ``text_findings`` tells the clerk, per cell, what was cleaned or is too long.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from .findings import Finding, error, warning
from .text import halfwidth, has_hidden, one_line


class CellCode(StrEnum):
    CONTROL_CHARS = "CELL_CONTROL_CHARS"
    TOO_LONG = "CELL_TOO_LONG"


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def cell_text(v: Any) -> str:
    """A cell as text, as the clerk sees it: ``12.0`` → ``12``, one line, no control characters."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return one_line(str(v))


def text_findings(v: Any, where: str, header: str, max_chars: int | None = None, *,
                  read_as: str | None = None) -> Iterator[Finding]:
    """What ``cell_text`` cleaned in this cell (a warning) and whether it is too long (an error).
    ``read_as`` is what the reader keeps when that is not ``cell_text`` (a list of names, where a
    line break separates two names), so the clerk is told what will actually be printed."""
    if not isinstance(v, str):
        return
    text = one_line(v)
    if has_hidden(v):
        yield warning(CellCode.CONTROL_CHARS, f"“{header}”中含有换行符或看不见的控制字符（多为从 Word 等处复制粘贴带入），"
                      f"已自动去掉，按“{_excerpt(text if read_as is None else read_as)}”处理。如不正确请在表格中改正。",
                      where)
    if max_chars is not None and len(text) > max_chars:
        yield error(CellCode.TOO_LONG, f"“{header}”有 {len(text)} 个字，超过上限 {max_chars} 个字（“{_excerpt(text)}”）。"
                    "请只填写本栏应有的内容，删去多余的文字。", where)


def _excerpt(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[:n] + "…"


_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(v: Any, *, within_text: bool = False) -> date | None:
    """A date cell, or a date typed as ``2025-3-10``, ``2025/3/10``, ``2025.3.10``, ``2025年3月10日`` (full-width
    digits too).  ``within_text`` finds it inside a longer text such as ``填报时间：2025年6月16日``."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    if not within_text and isinstance(v, int | float) and 20000 < v < 80000:  # an Excel serial in a text cell
        return _EXCEL_EPOCH + timedelta(days=int(v))
    t = halfwidth(cell_text(v))
    m = re.search(_DATE, t) if within_text else re.fullmatch(rf"\s*{_DATE}\s*", t)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
