"""Reporting periods: a quarter of a year, written ``2025Q2`` in commands and metadata."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

QUARTERS_ZH = ("一", "二", "三", "四")

_ISO = re.compile(r"^\s*(\d{4})\s*[-_ ]?\s*[Qq]\s*([1-4])\s*$")
_ZH = re.compile(r"(\d{4})\s*年?\s*第?\s*([一二三四1-4])\s*季度")
_QUARTER_ONLY = re.compile(r"第\s*([一二三四1-4])\s*季度")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    year: int
    quarter: int

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def quarter_zh(self) -> str:
        """``第二季度``, as printed in the header of 附件3."""
        return f"第{QUARTERS_ZH[self.quarter - 1]}季度"

    @property
    def label_zh(self) -> str:
        return f"{self.year}年{self.quarter_zh}"

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2025Q2``, ``2025-q2`` or ``2025年第二季度``; raises ValueError with a Chinese message."""
        t = unicodedata.normalize("NFKC", str(text or ""))
        m = _ISO.match(t)
        if m:
            return cls(int(m.group(1)), int(m.group(2)))
        m = _ZH.search(t)
        if m:
            return cls(int(m.group(1)), _quarter_number(m.group(2)))
        raise ValueError(f"报送期次“{text}”无法识别，请写成 2025Q2 或 2025年第二季度")

    @classmethod
    def of(cls, d: date) -> Period:
        return cls(d.year, (d.month - 1) // 3 + 1)


def _quarter_number(s: str) -> int:
    return QUARTERS_ZH.index(s) + 1 if s in QUARTERS_ZH else int(s)


def quarter_in(text: str) -> int | None:
    """The quarter named in a title or header (``第二季度`` → 2), if any."""
    m = _QUARTER_ONLY.search(unicodedata.normalize("NFKC", str(text or "")))
    return _quarter_number(m.group(1)) if m else None


def year_in(text: str) -> int | None:
    m = re.search(r"(20\d{2})\s*年", unicodedata.normalize("NFKC", str(text or "")))
    return int(m.group(1)) if m else None
