"""The visit register: every generated inspection, its serial and visit numbers, its card status.

One row per visit.  A plan row that names the same enterprise, kind and dates as a recorded
visit *is* that visit (``Inspection.natural_key``), so generating a plan twice neither
duplicates inspections nor double-counts visits.

Visit numbers (本年度第N次, 第M次<kind>) count the enterprise's live visits of the year **by date**
(start, end, then order of entry).  ``visit_total``/``visit_kind`` keep the numbers as they were
printed on the card; ``stale_numbers`` lists printed cards whose number is no longer right
because an earlier-dated visit was entered later, or an earlier one was voided.

A voided visit (``voided_at`` set, see ``engine.void``) stays in the table with who and why; it
counts toward nothing (caps, numbers, pending cards) and frees its natural key for a corrected row.

Two backends, one set of rules.  The caps and the numbers are computed by ``tally_kinds`` and
``number_by_date`` from a list of ``Tallied`` visits; a ``Book`` supplies that list for one
enterprise-year.  ``LocalBook`` reads this workspace's ``visits`` (and ``outside_visits``, the
visits imported from spreadsheets); ``engine.shared_register.SharedBook`` reads the province's
shared register, where every bureau's visits are.  The workspace's own ``visits`` table stays the
record of its own visits either way (documents, cards, voiding); ``register_state`` says which
register numbered each one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from types import EllipsisType
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from .actor import current_actor
from .caps import cap_for
from .card_state import CardState
from .db import IN_LIST_MAX, Base, partial_index
from .db.migrations import LIVE_NATURAL_INDEX
from .forms import INSPECTION_KINDS
from .identifiers import Serial
from .inspection import Inspection
from .xlsx_safe import append_row


class Visit(Base):
    __tablename__ = "visits"
    # Unique among live visits only: a voided visit keeps its dates on record while the clerk
    # registers the corrected row for the same dates (SQLite and PostgreSQL both have partial indexes).
    __table_args__ = (
        partial_index(LIVE_NATURAL_INDEX, "uscc", "kind", "start", "end", unique=True, where="voided_at IS NULL"),
        Index("ix_visits_year_seq", "year", "seq"),  # migration 10: next_serial reads max(seq) off it
        # migration 11: the review list's live visits in its order, counted and paged off the index alone
        partial_index("ix_visits_start_serial", "start", "serial", where="voided_at IS NULL"),
    )

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
    card_status: Mapped[str] = mapped_column(String(20), default=CardState.NONE)  # card_state.STORED
    card_received_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    card_version: Mapped[int] = mapped_column(Integer, default=0)
    card_answers: Mapped[dict[str, str | None] | None] = mapped_column(JSON, nullable=True)
    card_flags: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # Who read the card that counts (migration 9): engine.readings.ReadBy, None while no card is back.
    card_read_by: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # Voiding (migration 4): nullable, so the columns can be added to a filled table.
    voided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    voided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    voided_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # The shared register (migration 10): which register numbered it (RegisterState), what sync found,
    # and the approved reason of a 县 bureau's visit outside its own county.
    register_state: Mapped[str | None] = mapped_column(String(12), nullable=True)
    register_note: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    cross_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)

    @property
    def voided(self) -> bool:
        return self.voided_at is not None

    def to_inspection(self) -> Inspection:
        return Inspection(
            enterprise=self.enterprise, uscc=self.uscc, county=self.county, county_code=self.county_code,
            industry=self.industry, grade=self.grade, kind=self.kind, basis=self.basis, start=self.start,
            end=self.end, leader=self.leader, members=list(self.members or []), experts=list(self.experts or []),
            joint_units=self.joint_units, content=self.content, benchmark=self.benchmark,
            key_supervision=self.key_supervision, cross_reason=self.cross_reason or "", serial=self.serial, visit_total=self.visit_total,
            visit_kind=self.visit_kind, issue_date=self.issue_date,
        )


class RegisterState(StrEnum):
    """``Visit.register_state``: which register numbered the visit (NULL: this workspace's own)."""

    SHARED = "shared"  # booked in the shared register: caps and numbers over every bureau's visits
    UNCONFIRMED = "unconfirmed"  # recorded with --offline, not yet pushed by `ruqi register sync`
    CONFLICT = "conflict"  # pushed by sync, and over the cap there: on the 纪委 list


class OutsideVisit(Base):
    """A visit made outside ruqi (互联网+执法, paper), imported from a spreadsheet: it counts toward
    the caps and the visit numbers, and nothing else (no documents, no card is due)."""

    __tablename__ = "outside_visits"
    __table_args__ = (UniqueConstraint("uscc", "kind", "start", "end", "unit", name="uq_outside_visit"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    uscc: Mapped[str] = mapped_column(String(18), index=True)
    enterprise: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    unit: Mapped[str] = mapped_column(String(100))  # the bureau that made it
    level: Mapped[str] = mapped_column(String(2))
    source: Mapped[str] = mapped_column(String(200))  # the file it was imported from
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.now)
    actor: Mapped[str] = mapped_column(String(100), default="")


# ---- the counting rules (one copy, for every backend) ------------------------------------------


@dataclass(frozen=True, slots=True)
class Tallied:
    """One live visit as the caps and the visit numbers see it."""

    key: str  # the serial (an imported visit: its import key)
    kind: str
    start: date
    end: date
    order: int  # order of entry: breaks ties between visits with the same dates
    level: str = ""  # 省 / 市 / 县 of the bureau that made it
    bureau: str = ""  # its division code


def tally_kinds(entries: Iterable[Tallied], before: date | None = None) -> Counter[str]:
    """Visits per kind (optionally only those starting before a date)."""
    return Counter(e.kind for e in entries if before is None or e.start < before)


def number_by_date(entries: Iterable[Tallied]) -> dict[str, tuple[int, int]]:
    """key → (本年度第N次, 第M次<kind>): the visits of one enterprise-year in date order."""
    out: dict[str, tuple[int, int]] = {}
    per_kind: Counter[str] = Counter()
    for n, e in enumerate(sorted(entries, key=lambda e: (e.start, e.end, e.order)), start=1):
        per_kind[e.kind] += 1
        out[e.key] = (n, per_kind[e.kind])
    return out


NEW_ORDER = 1 << 63  # the order of entry of a visit being recorded: after every other


class Book(Protocol):
    """Where the caps and visit numbers are counted: this workspace, or the shared register."""

    @property
    def state(self) -> str | None:
        """``Visit.register_state`` of a visit this book numbers."""

    def hold(self, pairs: Iterable[tuple[str, int]]) -> None:
        """Lock these enterprise-years until the transaction ends (the last allowed visit goes once)."""

    def entries(self, uscc: str, year: int) -> list[Tallied]:
        """The live visits of one enterprise-year, every bureau's that this book knows."""

    def book(self, v: Visit) -> None:
        """Add a visit just recorded in this workspace."""


class LocalBook:
    """This workspace's own visits and imported outside visits (a single bureau; the demo).  Its
    transaction already holds SQLite's write lock (``BEGIN IMMEDIATE``), so ``hold`` has nothing to add."""

    def __init__(self, s: Session, state: str | None = None):
        self.s = s
        self._state = state

    @property
    def state(self) -> str | None:
        return self._state

    def hold(self, pairs: Iterable[tuple[str, int]]) -> None:
        return None

    def entries(self, uscc: str, year: int) -> list[Tallied]:
        own = self.s.execute(select(Visit.serial, Visit.kind, Visit.start, Visit.end, Visit.seq)
                             .where(Visit.uscc == uscc, Visit.year == year, live())).all()
        outside = self.s.execute(select(OutsideVisit.key, OutsideVisit.kind, OutsideVisit.start, OutsideVisit.end,
                                        OutsideVisit.level)
                                 .where(OutsideVisit.uscc == uscc, OutsideVisit.year == year)).all()
        return [*(Tallied(k, kind, a, b, seq) for k, kind, a, b, seq in own),
                *(Tallied(k, kind, a, b, 0, level) for k, kind, a, b, level in outside)]

    def book(self, v: Visit) -> None:
        return None


def live() -> ColumnElement[bool]:
    """The condition for visits that count (not voided)."""
    return Visit.voided_at.is_(None)


def same_visits(s: Session, insp: Inspection) -> tuple[Visit | None, Visit | None]:
    """The live visit this plan row is (same enterprise, kind and dates), and the latest voided
    one with the same, if recorded: one query for both."""
    uscc, kind, start, end = insp.natural_key
    rows = s.scalars(select(Visit).where(Visit.uscc == uscc, Visit.kind == kind, Visit.start == date.fromisoformat(start),
                                         Visit.end == date.fromisoformat(end))).all()
    voided = [v for v in rows if v.voided_at is not None]
    return (next((v for v in rows if v.voided_at is None), None),
            max(voided, key=lambda v: v.voided_at or datetime.min) if voided else None)


def find_visit(s: Session, insp: Inspection) -> Visit | None:
    """The live visit this plan row is (same enterprise, kind and dates), if recorded."""
    return same_visits(s, insp)[0]


def find_voided(s: Session, insp: Inspection) -> Visit | None:
    """The latest voided visit with this plan row's enterprise, kind and dates, if any."""
    return same_visits(s, insp)[1]


def by_serial(s: Session, serial: str) -> Visit | None:
    return s.scalar(select(Visit).where(Visit.serial == serial))


def counts(s: Session, uscc: str, year: int, before: date | None = None, book: Book | None = None) -> Counter[str]:
    """Live visits per kind of one enterprise in one year (optionally only those starting earlier),
    as ``book`` knows them (default: this workspace's)."""
    return tally_kinds((book or LocalBook(s)).entries(uscc, year), before)


def next_serial(s: Session, division_code: str, year: int) -> Serial:
    """The next serial of the year.  Read once per transaction, then counted on: the transaction
    holds the write lock, so no other process takes a number meanwhile."""
    taken = s.info.setdefault("ruqi_last_seq", {})
    if year not in taken:
        last = s.scalar(select(func.max(Visit.seq)).where(Visit.year == year))  # voided visits keep their serial
        taken[year] = max(last or 0, _filed_floor(s, year))
    taken[year] += 1
    return Serial(division_code, year, taken[year])


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
_DERIVED = ("card_status", "card_received_at", "card_version", "card_answers", "card_flags", "card_read_by")


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
    s.info.pop("ruqi_last_seq", None)  # a restored visit may carry a higher number
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


def _date_order(v: Visit) -> tuple[date, date, int]:
    return (v.start, v.end, v.seq)


def numbers_by_date(s: Session, uscc: str, year: int, book: Book | None = None) -> dict[str, tuple[int, int]]:
    """serial → (本年度第N次, 第M次<kind>) of every live visit of one enterprise in one year, by date,
    over every visit ``book`` knows (default: this workspace's)."""
    return number_by_date((book or LocalBook(s)).entries(uscc, year))


@dataclass(frozen=True, slots=True)
class Stale:
    """A printed card whose visit numbers are no longer right, and the visits that made them wrong."""

    serial: str
    enterprise: str
    kind: str
    start: date
    printed: tuple[int, int]  # (第N次, 第M次) as printed
    now: tuple[int, int]  # as they are by date today
    entered_later: tuple[tuple[str, date], ...] = ()  # earlier-dated visits registered after this card
    voided: tuple[tuple[str, date], ...] = ()  # earlier-dated visits voided after this card was printed

    def explain(self) -> str:
        """What happened, in Chinese, for the clerk and the 纪委."""
        why = []
        if self.entered_later:
            why.append("之后又登记了日期更早的检查 " + "、".join(f"{s}（{d:%Y-%m-%d}）" for s, d in self.entered_later))
        if self.voided:
            why.append("日期更早的检查 " + "、".join(f"{s}（{d:%Y-%m-%d}）" for s, d in self.voided) + " 已作废")
        # Neither: numbered by order of entry before migration 4, or a visit of the same run withdrawn.
        because = "；".join(why) or "该企业本年度的检查登记有变动（按录入顺序编号的旧记录，或撤回了生成失败的检查）"
        return (f"反馈卡打印时为第{self.printed[0]}次入企检查、第{self.printed[1]}次{self.kind}；{because}，"
                f"按检查日期应为第{self.now[0]}次、第{self.now[1]}次{self.kind}。")

    def to_json(self) -> dict[str, object]:
        return {"serial": self.serial, "printed": list(self.printed), "now": list(self.now),
                "entered_later": [s for s, _ in self.entered_later], "voided": [s for s, _ in self.voided]}


def stale_numbers(s: Session, uscc: str, year: int, serials: Sequence[str] | None = None,
                  book: Book | None = None) -> list[Stale]:
    """Live visits of one enterprise and year whose printed numbers differ from the numbers by date.

    Only visits ``book`` numbered are judged: a card numbered over the shared register is not
    wrong because this workspace alone counts fewer visits."""
    book = book or LocalBook(s)
    now = numbers_by_date(s, uscc, year, book)
    every = s.scalars(select(Visit).where(Visit.uscc == uscc, Visit.year == year)).all()
    out = []
    for v in sorted((v for v in every if not v.voided), key=_date_order):
        if (serials is not None and v.serial not in serials) or v.serial not in now \
                or _numbered_elsewhere(v, book) or (v.visit_total, v.visit_kind) == now[v.serial]:
            continue
        earlier = [o for o in every if o is not v and _date_order(o) < _date_order(v)]
        later = tuple((o.serial, o.start) for o in earlier if not o.voided and o.seq > v.seq)
        gone = tuple((o.serial, o.start) for o in earlier
                     if o.voided and o.seq < v.seq and o.voided_at is not None and o.voided_at >= v.created_at)
        out.append(Stale(v.serial, v.enterprise, v.kind, v.start, (v.visit_total, v.visit_kind), now[v.serial],
                         later, gone))
    return out


def stale_among(s: Session, pairs: Iterable[tuple[str, int]]) -> list[Stale]:
    """``stale_numbers`` of many enterprise-years (this workspace's book), in three queries plus one
    per enterprise-year that really has a printed number off: the 纪委 list of a year over 20,000
    visits no longer asks the database twice per enterprise."""
    wanted = set(pairs)
    if not wanted:
        return []
    years = sorted({y for _, y in wanted})
    usccs = sorted({u for u, _ in wanted})
    # A few enterprises (one page of a list) are looked up by their index; many, by scanning the years.
    few = len(usccs) <= IN_LIST_MAX  # they fit one IN list
    entries: dict[tuple[str, int], list[Tallied]] = {}
    printed: dict[tuple[str, int], list[tuple[str, int, int]]] = {}
    mine = select(Visit.serial, Visit.uscc, Visit.year, Visit.kind, Visit.start, Visit.end, Visit.seq,
                  Visit.visit_total, Visit.visit_kind).where(Visit.year.in_(years), live())
    for serial, uscc, year, kind, start, end, seq, total, per_kind in s.execute(
            mine.where(Visit.uscc.in_(usccs)) if few else mine):
        if (uscc, year) in wanted:
            entries.setdefault((uscc, year), []).append(Tallied(serial, kind, start, end, seq))
            printed.setdefault((uscc, year), []).append((serial, total, per_kind))
    outside = select(OutsideVisit.key, OutsideVisit.uscc, OutsideVisit.year, OutsideVisit.kind, OutsideVisit.start,
                     OutsideVisit.end, OutsideVisit.level).where(OutsideVisit.year.in_(years))
    for key, uscc, year, kind, start, end, level in s.execute(
            outside.where(OutsideVisit.uscc.in_(usccs)) if few else outside):
        if (uscc, year) in wanted:
            entries.setdefault((uscc, year), []).append(Tallied(key, kind, start, end, 0, level))
    out: list[Stale] = []
    for pair in sorted(printed):
        now = number_by_date(entries[pair])
        if any((total, per_kind) != now[serial] for serial, total, per_kind in printed[pair]):
            out.extend(stale_numbers(s, *pair))  # the full judgement, only where a number is off
    return out


def _numbered_elsewhere(v: Visit, book: Book) -> bool:
    """Whether ``v`` was numbered by another register than ``book`` (shared vs this workspace's)."""
    shared = v.register_state in (RegisterState.SHARED, RegisterState.CONFLICT)
    return shared != (book.state == RegisterState.SHARED)


def renumber_unprinted(s: Session, serials: Collection[str], book: Book | None = None) -> dict[str, Visit]:
    """Number these visits by date again: they were recorded in this run and nothing is printed yet,
    so a plan whose rows are not in date order still prints the right numbers on every card.
    Returns the visits by serial."""
    visits = {v.serial: v for v in s.scalars(select(Visit).where(Visit.serial.in_(list(serials)))).all()}
    groups: dict[tuple[str, int], list[Visit]] = {}
    for v in visits.values():
        groups.setdefault((v.uscc, v.year), []).append(v)
    for (uscc, year), vs in groups.items():
        now = numbers_by_date(s, uscc, year, book)
        for v in vs:
            v.visit_total, v.visit_kind = now[v.serial]
    s.flush()
    return visits


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
    stale: list[Stale] = field(default_factory=list)  # printed cards this new visit made wrong


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
    book: Book | None = None,
    existing: Visit | None | EllipsisType = ...,
) -> Recorded:
    """Record a visit (or find it again) and fill ``insp.serial`` and its visit numbers.

    A new visit is numbered by date among the enterprise's live visits of the year that ``book``
    knows (default: this workspace's), and booked there; printed cards of this workspace's
    later-dated visits that it shifts are returned in ``Recorded.stale``.  ``existing``: the
    live visit of this row as the caller already looked it up (default: looked up here).
    """
    book = book or LocalBook(s)
    if existing is ...:
        existing = find_visit(s, insp)
    stale: list[Stale] = []
    if existing is not None:
        v, created = existing, False
    else:
        serial = next_serial(s, division_code, insp.year)
        entries = book.entries(insp.uscc, insp.year)
        # Only a visit dated after this one can have its printed numbers shifted by it.
        shifts = any((e.start, e.end) >= (insp.start, insp.end) for e in entries)
        before = {st.serial for st in stale_numbers(s, insp.uscc, insp.year, book=book)} if shifts else set()
        v = Visit(
            serial=str(serial), year=insp.year, seq=serial.seq, enterprise=insp.enterprise, uscc=insp.uscc,
            county=insp.county, county_code=insp.county_code, industry=insp.industry, grade=insp.grade,
            kind=insp.kind, basis=insp.basis, joint_units=insp.joint_units, start=insp.start, end=insp.end,
            leader=insp.leader, members=list(insp.members), experts=list(insp.experts), content=insp.content,
            benchmark=insp.benchmark, key_supervision=insp.key_supervision,
            issue_date=issue_date or insp.issue_date or date.today(), batch=batch,
            over_cap=over_cap, override_reason=override_reason, actor=current_actor(actor),
            register_state=book.state, cross_reason=insp.cross_reason or None,
        )
        # Entered last: after every visit recorded so far that has the same dates.
        v.visit_total, v.visit_kind = number_by_date([*entries, Tallied(v.serial, v.kind, v.start, v.end, NEW_ORDER)])[
            v.serial]
        s.add(v)
        s.flush()
        book.book(v)
        stale = [st for st in stale_numbers(s, insp.uscc, insp.year, book=book)
                 if st.serial not in before] if shifts else []
        created = True
    insp.serial, insp.visit_total, insp.visit_kind, insp.issue_date = (
        v.serial, v.visit_total, v.visit_kind, v.issue_date,
    )
    return Recorded(v, created, stale)


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
    visits = s.scalars(select(Visit).where(Visit.year == year, live())
                       .order_by(Visit.county, Visit.enterprise, Visit.seq)).all()
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


SUMMARY_KINDS = INSPECTION_KINDS


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
