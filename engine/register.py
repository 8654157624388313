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
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, UniqueConstraint, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base
from .identifiers import Serial
from .inspection import Inspection


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
    return Serial(division_code, year, max(last or 0, _filed_floor(s, year)) + 1)


def _filed_floor(s: Session, year: int) -> int:
    """The highest serial sequence of the year among filed documents.  Normally below the
    register's; after the database was rebuilt from an archive whose older generated cards
    carry no visit record, it keeps the serials of those inspections from being issued again.
    (Plain SQL on the archive's table: the archive package imports this module.)"""
    cache = s.info.setdefault("ruqi_filed_floor", {})
    if year not in cache:
        rows = s.execute(text("SELECT DISTINCT serial FROM archive_items WHERE year = :y AND serial <> ''"),
                         {"y": year}).scalars()
        cache[year] = max((p.seq for p in map(Serial.parse, rows) if p is not None and p.year == year), default=0)
    return cache[year]


# The card columns are derived from the returned cards (engine.inbox.cards.refresh_visit).
_DERIVED = ("card_status", "card_received_at", "card_version", "card_answers", "card_flags")


def visit_snapshot(v: Visit) -> dict[str, Any]:
    """The visit as recorded, JSON-safe: kept with its generated card in the archive, from which
    ``ruqi archive repair`` restores the register when the database is lost."""
    out: dict[str, Any] = {}
    for col in Visit.__table__.columns:
        if col.name in _DERIVED:
            continue
        value = getattr(v, col.name)
        out[col.name] = value.isoformat() if isinstance(value, date | datetime) else value
    return out


def restore_visit(s: Session, snap: dict[str, Any]) -> Visit | None:
    """Insert a visit from its snapshot unless its serial is already registered."""
    if by_serial(s, snap.get("serial", "")) is not None:
        return None
    values: dict[str, Any] = {}
    for col in Visit.__table__.columns:
        if col.name not in snap:
            continue
        value = snap[col.name]
        if isinstance(value, str) and isinstance(col.type, DateTime):
            value = datetime.fromisoformat(value)
        elif isinstance(value, str) and isinstance(col.type, Date):
            value = date.fromisoformat(value)
        values[col.name] = value
    v = Visit(**values)
    s.add(v)
    s.flush()
    return v


def withdraw(s: Session, serial: str) -> bool:
    """Take back a visit recorded by a run whose documents then failed (nothing was issued under
    its serial).  Its number may be taken again only if no later visit exists."""
    v = by_serial(s, serial)
    if v is None:
        return False
    s.delete(v)
    s.flush()
    return True


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
