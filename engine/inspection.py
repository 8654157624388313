"""The domain object every part of the engine passes around: one planned inspection visit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(slots=True)
class Inspection:
    enterprise: str
    uscc: str
    county: str  # 平城区
    county_code: str  # 140213 ("" for 开发区)
    industry: str  # 煤矿 / 非煤矿山 / 危险化学品 / 金属冶炼 / 非高危行业
    grade: str  # A–D or 一级/二级/三级/未定级
    kind: str  # 执法检查 / 督导检查 / 调查核查
    basis: str
    start: date
    end: date
    leader: str
    members: list[str] = field(default_factory=list)
    experts: list[str] = field(default_factory=list)
    joint_units: str = ""
    content: str = ""
    benchmark: bool = False  # 标杆企业
    key_supervision: bool = False  # 重点监管名单
    cross_reason: str = ""  # a 县 bureau visiting outside its county: the approved reason (engine.jurisdiction)
    # Filled by the register when the visit is recorded:
    serial: str = ""
    visit_total: int = 0  # 本年度第 N 次入企检查
    visit_kind: int = 0  # 第 M 次 <kind>
    issue_date: date | None = None

    @property
    def year(self) -> int:
        return self.start.year

    @property
    def people(self) -> int:
        """一行 N 人: leader, members and experts."""
        return 1 + len(self.members) + len(self.experts)

    @property
    def natural_key(self) -> tuple[str, str, str, str]:
        """What makes two plan rows the same visit: generating a plan twice must not double-count."""
        return (self.uscc, self.kind, self.start.isoformat(), self.end.isoformat())

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("start", "end", "issue_date"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def format_date(d: date) -> str:
    """GB/T 9704 style: Arabic numerals, no padding: 2025年6月23日."""
    return f"{d.year}年{d.month}月{d.day}日"


def format_range(start: date, end: date) -> str:
    """The seed's ``年 月 日至 日``; month and year repeated only when they change."""
    if start == end:
        return format_date(start)
    if start.year != end.year:
        return f"{format_date(start)}至{format_date(end)}"
    if start.month != end.month:
        return f"{format_date(start)}至{end.month}月{end.day}日"
    return f"{format_date(start)}至{end.day}日"
