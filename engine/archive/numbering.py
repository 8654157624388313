"""档号 (DA/T 22-2015): 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号.

Example ``J001-WS·2025-D30-AQJ-0001``.  件号 runs 0001, 0002, … within a 年度 across every item
of that year, whatever its form type or retention, with no gaps and no reuse.  It is taken as
``max + 1`` inside the transaction that inserts the item, under the archive write lock, so a
rollback (or a crash before commit) takes its 件号 back with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from .models import ItemRecord

CATEGORY = "WS"  # 门类: 文书
RETENTIONS = {"Y": "永久", "D30": "30年", "D10": "10年"}
PIECE_DIGITS = 4
# Any advisory-lock key unique to ruqi; PostgreSQL only (SQLite's BEGIN IMMEDIATE is the lock there).
PG_LOCK_KEY = 0x72757169

_CODE_RE = re.compile(r"^(?P<fonds>[^-·]+)-(?P<cat>[A-Z]+)·(?P<year>\d{4})-(?P<ret>Y|D30|D10)-(?P<org>[^-]+)-(?P<piece>\d{4,})$")


@dataclass(frozen=True, slots=True)
class ArchivalCode:
    fonds: str  # 全宗号
    year: int  # 年度
    retention: str  # 保管期限
    org: str  # 机构(问题)代码
    piece: int  # 件号
    category: str = CATEGORY

    def __str__(self) -> str:
        return f"{self.fonds}-{self.category}·{self.year}-{self.retention}-{self.org}-{self.piece:0{PIECE_DIGITS}d}"

    @classmethod
    def parse(cls, s: str) -> ArchivalCode | None:
        m = _CODE_RE.match(s.strip())
        if m is None:
            return None
        return cls(m["fonds"], int(m["year"]), m["ret"], m["org"], int(m["piece"]), m["cat"])


def write_lock(s: Session) -> None:
    """Serialise archive writers for the rest of the transaction (件号 and the audit chain need it)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK_KEY})
    # SQLite: engine.db already began this transaction with BEGIN IMMEDIATE.


def next_piece(s: Session, year: int) -> int:
    last = s.scalar(select(func.max(ItemRecord.piece)).where(ItemRecord.year == year))
    return (last or 0) + 1
