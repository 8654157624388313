"""The visit register: every generated inspection, its serial and visit numbers, its card status.

One row per visit.  A plan row that names the same enterprise, kind and dates as a recorded
visit *is* that visit (``Inspection.natural_key``), so generating a plan twice neither
duplicates inspections nor double-counts visits.
"""

from __future__ import annotations

import getpass
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base
from .identifiers import Serial
from .inspection import Inspection
from .xlsx_safe import append_row


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (UniqueConstraint("uscc", "kind", "start", "end", name="uq_visit_natural"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True, index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    enterprise: Mapped[str] = mapped_column(String(200))
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    county: Mapped[str] = mapped_column(String(50))
    county_code: Mapped[str] = mapped_column(String(6))
    industry: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    basis: Mapped[str] = mapped_column(String(500))
    joint_units: Mapped[str] = mapped_column(String(500), default="")
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    leader: Mapped[str] = mapped_column(String(50))
    members: Mapped[list[str]] = mapped_column(JSON, default=list)
    experts: Mapped[list[str]] = mapped_column(JSON, default=list)
    content: Mapped[str] = mapped_column(String(2000), default="")
    benchmark: Mapped[bool] = mapped_column(Boolean, default=False)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    visit_total: Mapped[int] = mapped_column(Integer)
    visit_kind: Mapped[int] = mapped_column(Integer)
    issue_date: Mapped[date] = mapped_column(Date)
    batch: Mapped[str] = mapped_column(String(64), default="")
    over_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    override_reason: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.now)
    actor: Mapped[str] = mapped_column(String(100), default="")
    # Card status, maintained by the inbox:
    card_status: Mapped[str] = mapped_column(String(20), default="none")  # none / received
    card_received_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    card_version: Mapped[int] = mapped_column(Integer, default=0)
    card_answers: Mapped[dict[str, str | None] | None] = mapped_column(JSON, nullable=True)
    card_flags: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)

    def to_inspection(self) -> Inspection:
        return Inspection(
            enterprise=self.enterprise, uscc=self.uscc, county=self.county, county_code=self.county_code,
            industry=self.industry, grade=self.grade, kind=self.kind, basis=self.basis, start=self.start,
            end=self.end, leader=self.leader, members=list(self.members or []), experts=list(self.experts or []),
            joint_units=self.joint_units, content=self.content, benchmark=self.benchmark,
            key_supervision=self.key_supervision, serial=self.serial, visit_total=self.visit_total,
            visit_kind=self.visit_kind, issue_date=self.issue_date,
        )


def current_actor(actor: str | None = None) -> str:
    if actor:
        return actor
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def find_visit(s: Session, insp: Inspection) -> Visit | None:
    uscc, kind, start, end = insp.natural_key
    return s.scalar(
        select(Visit).where(
            Visit.uscc == uscc, Visit.kind == kind, Visit.start == date.fromisoformat(start),
            Visit.end == date.fromisoformat(end),
        )
    )


def by_serial(s: Session, serial: str) -> Visit | None:
    return s.scalar(select(Visit).where(Visit.serial == serial))


def counts(s: Session, uscc: str, year: int, before: date | None = None) -> Counter[str]:
    """Visits per kind recorded for one enterprise in one year (optionally only those starting earlier)."""
    q = select(Visit.kind, func.count()).where(Visit.uscc == uscc, Visit.year == year)
    if before is not None:
        q = q.where(Visit.start < before)
    return Counter({k: n for k, n in s.execute(q.group_by(Visit.kind)).all()})


def next_serial(s: Session, division_code: str, year: int) -> Serial:
    last = s.scalar(select(func.max(Visit.seq)).where(Visit.year == year))
    return Serial(division_code, year, (last or 0) + 1)


@dataclass(slots=True)
class Recorded:
    visit: Visit
    created: bool  # False: the plan row was already in the register


def record(
    s: Session,
    insp: Inspection,
    division_code: str,
    *,
    batch: str = "",
    actor: str | None = None,
    over_cap: bool = False,
    override_reason: str = "",
    issue_date: date | None = None,
) -> Recorded:
    """Record a visit (or find it again) and fill ``insp.serial`` and its visit numbers."""
    existing = find_visit(s, insp)
    if existing is not None:
        v, created = existing, False
    else:
        serial = next_serial(s, division_code, insp.year)
        # Numbers count the visits recorded so far this year, this one included.
        so_far = counts(s, insp.uscc, insp.year)
        v = Visit(
            serial=str(serial), year=insp.year, seq=serial.seq, enterprise=insp.enterprise, uscc=insp.uscc,
            county=insp.county, county_code=insp.county_code, industry=insp.industry, grade=insp.grade,
            kind=insp.kind, basis=insp.basis, joint_units=insp.joint_units, start=insp.start, end=insp.end,
            leader=insp.leader, members=list(insp.members), experts=list(insp.experts), content=insp.content,
            benchmark=insp.benchmark, key_supervision=insp.key_supervision,
            visit_total=sum(so_far.values()) + 1, visit_kind=so_far[insp.kind] + 1,
            issue_date=issue_date or date.today(), batch=batch, over_cap=over_cap,
            override_reason=override_reason, actor=current_actor(actor),
        )
        s.add(v)
        s.flush()
        created = True
    insp.serial, insp.visit_total, insp.visit_kind, insp.issue_date = (
        v.serial, v.visit_total, v.visit_kind, v.issue_date,
    )
    return Recorded(v, created)


# ---- the per-enterprise summary of `ruqi register` -------------------------------------------


@dataclass(slots=True)
class KindCount:
    done: int
    cap: int | None  # None: no cap (调查核查)
    rule: str

    @property
    def left(self) -> int | None:
        return None if self.cap is None else max(self.cap - self.done, 0)

    @property
    def over(self) -> bool:
        return self.cap is not None and self.done > self.cap


@dataclass(slots=True)
class EnterpriseSummary:
    enterprise: str
    uscc: str
    county: str
    industry: str
    grade: str
    kinds: dict[str, KindCount]
    overrides: int

    @property
    def total(self) -> int:
        return sum(k.done for k in self.kinds.values())


def summary(s: Session, year: int) -> list[EnterpriseSummary]:
    """Visits per enterprise and kind in one year, with the cap and what is left."""
    from .caps import cap_for
    from .forms import INSPECTION_KINDS

    visits = s.scalars(select(Visit).where(Visit.year == year).order_by(Visit.county, Visit.enterprise, Visit.seq)).all()
    by_uscc: dict[str, list[Visit]] = {}
    for v in visits:
        by_uscc.setdefault(v.uscc, []).append(v)
    out = []
    for uscc, vs in by_uscc.items():
        last = vs[-1]  # the latest row carries the current industry and grade
        done = Counter(v.kind for v in vs)
        kinds = {}
        for k in INSPECTION_KINDS:
            cap = cap_for(last.industry, last.grade, k, benchmark=last.benchmark, key_supervision=last.key_supervision)
            kinds[k] = KindCount(done[k], cap.limit, cap.rule)
        out.append(EnterpriseSummary(last.enterprise, uscc, last.county, last.industry, last.grade, kinds,
                                     sum(v.over_cap for v in vs)))
    return out


SUMMARY_KINDS = ("执法检查", "督导检查", "调查核查")


def write_summary_xlsx(rows: list[EnterpriseSummary], out: Path, year: int) -> Path:
    """``ruqi register --out``: the year's summary as a workbook; names and codes are written as inert text."""
    from openpyxl import Workbook

    wb = Workbook()
    sh = wb.active
    sh.title = f"{year}年度台账"
    append_row(sh, ["县区", "企业名称", "统一社会信用代码", "行业类别", "等级",
                    *[f"{k}{x}" for k in SUMMARY_KINDS for x in ("次数", "上限", "剩余")], "超次数批准次数"])
    for r in rows:
        vals: list[object] = []
        for k in SUMMARY_KINDS:
            c = r.kinds[k]
            vals += [c.done, "不限" if c.cap is None else c.cap, "" if c.left is None else c.left]
        append_row(sh, [r.county, r.enterprise, r.uscc, r.industry, r.grade, *vals, r.overrides])
    wb.save(out)
    return out
