"""What the statistics desk remembers: the rounds it issued and the submissions it accepted.

``stats_rounds``: one row per (table, period) sent out with ``ruqi stats blank``: due date and
the units asked.  ``stats_submissions``: one row per unit per accepted workbook.  A corrected
workbook from the same unit for the same table and period *supersedes* the earlier row (flag
and pointer; both rows and both archived files stay), so the aggregate always reads the latest
while the history shows every version.  Rows are only ever inserted or flagged, never edited.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..actor import current_actor
from ..archive.models import ItemRecord
from ..archive.store import ItemMeta, ItemRow, file_item, to_row
from ..db import Base, session_or_new
from ..findings import Finding, Findings, RuqiError, error, located
from ..text import sentences
from ..workspace import Workspace
from .codes import StatsCode
from .period import Period

if TYPE_CHECKING:
    from .read import Submission


class StatsRound(Base):
    __tablename__ = "stats_rounds"
    __table_args__ = (UniqueConstraint("table_no", "period", name="uq_stats_round"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_no: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    unit_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # the units asked so far
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.now)
    actor: Mapped[str] = mapped_column(String(100), default="")


class StatsRecord(Base):
    __tablename__ = "stats_submissions"
    __table_args__ = (Index("ix_stats_current", "table_no", "period", "unit_code", "superseded"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_no: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    unit_code: Mapped[str] = mapped_column(String(16))
    unit_name: Mapped[str] = mapped_column(String(100))
    submitter: Mapped[str] = mapped_column(String(200), default="")  # 填报单位 as written
    filled_at: Mapped[str] = mapped_column(String(40), default="")  # 填报时间 as written
    source_name: Mapped[str] = mapped_column(String(500), default="")
    archive_ref: Mapped[str] = mapped_column(String(1000), default="")  # archive item id or path
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    via: Mapped[str] = mapped_column(String(16), default="")  # metadata / headers
    received_at: Mapped[datetime] = mapped_column(DateTime)
    values: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # one dict per table row
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # the warnings it was filed with
    version: Mapped[int] = mapped_column(Integer, default=1)
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)
    superseded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor: Mapped[str] = mapped_column(String(100), default="")


class StatsRejection(Base):
    """A unit's workbook the inbox sent back (``inbox/rejected/``): the unit shows as 已退回 until
    an accepted one arrives.  One row per unit named in the workbook; rows are only inserted."""

    __tablename__ = "stats_rejections"
    __table_args__ = (Index("ix_stats_rejected", "table_no", "period", "unit_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    table_no: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    unit_code: Mapped[str] = mapped_column(String(16))
    unit_name: Mapped[str] = mapped_column(String(100))
    source_name: Mapped[str] = mapped_column(String(500), default="")
    stored_as: Mapped[str] = mapped_column(String(1000), default="")  # where the file was put, workspace-relative
    sha256: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # code, where, message
    actor: Mapped[str] = mapped_column(String(100), default="")

    @property
    def reason_text(self) -> str:
        """The first reasons as a clerk reads them (cell, message), for status lists."""
        shown = [located(r.get("message", ""), r.get("where", "")) for r in self.reasons[:2]]
        more = f"（另有{len(self.reasons) - 2}处）" if len(self.reasons) > 2 else ""
        return sentences(shown, end="").rstrip("。") + more  # quoted inside a longer line


@contextmanager
def stats_session(ws: Workspace, s: Session | None = None) -> Iterator[Session]:
    """The caller's session when given (one transaction with the archive), else a new one.

    Using the caller's connection matters with SQLite: a second connection would wait for the
    caller's write lock.  The tables come from the migrations (``engine.db.migrations``)."""
    with session_or_new(ws, s) as own:
        yield own


# ---- rounds ---------------------------------------------------------------------------------


def record_round(ws: Workspace, table_no: int, period: Period, due: date | None, unit_codes: list[str],
                 actor: str | None = None) -> StatsRound:
    """Remember a round sent out; issuing again adds units and, when given, replaces the due date."""
    with stats_session(ws) as s:
        r = get_round(s, table_no, period)
        if r is None:
            r = StatsRound(table_no=table_no, period=str(period), due=due, unit_codes=list(unit_codes),
                           actor=current_actor(actor))
            s.add(r)
        else:
            r.unit_codes = list(dict.fromkeys([*r.unit_codes, *unit_codes]))
            if due is not None:
                r.due = due
        s.flush()
        return r


def get_round(s: Session, table_no: int, period: Period | str) -> StatsRound | None:
    return s.scalar(select(StatsRound).where(StatsRound.table_no == table_no, StatsRound.period == str(period)))


def latest_round(s: Session, table_no: int) -> StatsRound | None:
    return s.scalar(select(StatsRound).where(StatsRound.table_no == table_no)
                    .order_by(StatsRound.period.desc(), StatsRound.issued_at.desc()).limit(1))


def rounds(ws: Workspace, s: Session | None = None) -> list[StatsRound]:
    """Every round sent out, the latest period first (what a page offers to look at)."""
    with stats_session(ws, s) as own:
        return list(own.scalars(select(StatsRound).order_by(StatsRound.period.desc(), StatsRound.table_no)))


def issued_periods(ws: Workspace, s: Session | None = None) -> dict[int, Period]:
    """The latest period sent out per table: what ``read_submission`` assumes for a workbook that
    names no quarter.  Read here, by the caller, so reading itself needs no database."""
    with stats_session(ws, s) as own:
        rows = own.execute(select(StatsRound.table_no, StatsRound.period)
                           .order_by(StatsRound.period, StatsRound.issued_at)).all()
    return {int(no): Period.parse(period) for no, period in rows}  # later rows overwrite earlier ones


# ---- submissions ----------------------------------------------------------------------------


def current(s: Session, table_no: int, period: Period | str) -> list[StatsRecord]:
    """The latest accepted submission of every unit (superseded ones left out)."""
    return list(s.scalars(select(StatsRecord).where(
        StatsRecord.table_no == table_no, StatsRecord.period == str(period), StatsRecord.superseded.is_(False),
    ).order_by(StatsRecord.id)))


def history(s: Session, table_no: int, period: Period | str, unit_code: str | None = None) -> list[StatsRecord]:
    q = select(StatsRecord).where(StatsRecord.table_no == table_no, StatsRecord.period == str(period))
    if unit_code is not None:
        q = q.where(StatsRecord.unit_code == unit_code)
    return list(s.scalars(q.order_by(StatsRecord.unit_code, StatsRecord.version)))


class AcceptStatus(StrEnum):
    ACCEPTED = "accepted"  # recorded (superseding earlier versions where there were some)
    DUPLICATE = "duplicate"  # the very same file is already the current submission: nothing recorded or filed


@dataclass(slots=True)
class AcceptResult:
    status: AcceptStatus
    record_ids: list[int] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # unit names recorded
    version: int = 0  # highest version number written
    superseded_ids: list[int] = field(default_factory=list)
    superseded_refs: list[str] = field(default_factory=list)  # archive refs of the replaced versions
    archive_ref: str = ""  # the archive item id (or path) the records point at
    item: Any = None  # the archive ItemRow when accept filed the workbook itself
    findings: Findings = field(default_factory=Findings)

    @property
    def archival_code(self) -> str:
        return getattr(self.item, "archival_code", "") or ""

    @property
    def rel_path(self) -> str:
        return getattr(self.item, "rel_path", "") or ""

    def to_json(self) -> dict[str, Any]:
        return {"status": str(self.status), "record_ids": self.record_ids, "units": self.units,
                "version": self.version, "superseded_ids": self.superseded_ids,
                "superseded_refs": self.superseded_refs, "archive_ref": self.archive_ref,
                "archival_code": self.archival_code, "findings": self.findings.to_list()}


def superseded_refs(ws: Workspace, sub: Submission, s: Session | None = None) -> list[str]:
    """Archive refs that accepting ``sub`` would supersede (for the archive's ``supersedes``)."""
    if sub.table is None or sub.period is None:
        return []
    with stats_session(ws, s) as ss:
        return [p.archive_ref for code in sub.unit_codes()
                if (p := _current_of(ss, sub.table.no, str(sub.period), code)) is not None]


def accept(ws: Workspace, sub: Submission, archive_ref: str | int | None = None, *,
           received_at: datetime | None = None, actor: str | None = None,
           session: Session | None = None, extra: dict[str, Any] | None = None) -> AcceptResult:
    """Record an accepted submission, one row per unit in it (a later one from the same unit,
    table and period supersedes the earlier; both stay).

    ``archive_ref``: the archive item id (or archived path) of the file as received, when the
    caller filed it.  Without it, accept files ``sub.path`` itself (form type ``stats_table``)
    in the same transaction as the records, superseding the unit's previous item, and returns
    the archive row in ``result.item``.  Pass ``session`` to join the caller's transaction;
    ``extra``: more metadata for that archive item (e.g. ``{"mail": provenance}`` from the inbox).

    A submission with errors must not be accepted: that raises ``RuqiError`` and records nothing
    (check ``sub.ok`` first; the inbox rejects such files with ``sub.findings`` as reasons).
    """
    if not sub.ok or sub.table is None or sub.period is None:
        first = sub.findings.errors[0] if sub.findings.errors else None
        why = first.message if first else "没有可入库的数据"
        raise RuqiError(error(StatsCode.NOT_ACCEPTABLE, f"统计表有错误，不能入库：{why}", sub.path.name))
    when = received_at or datetime.now()
    by_unit = sub.values_by_unit()
    with stats_session(ws, session) as s:
        prior = {code: _current_of(s, sub.table.no, str(sub.period), code) for code in by_unit}
        olds = [p for p in prior.values() if p is not None]
        if sub.sha256 and len(olds) == len(prior) and all(p.sha256 == sub.sha256 for p in olds):
            return AcceptResult(AcceptStatus.DUPLICATE, [p.id for p in olds], [p.unit_name for p in olds],
                                max(p.version for p in olds), archive_ref=olds[0].archive_ref,
                                item=_archive_item(ws, olds[0].archive_ref, s), findings=sub.findings)
        result = AcceptResult(AcceptStatus.ACCEPTED, findings=sub.findings)
        if archive_ref is None:
            result.item = _file(ws, sub, when, actor, s, olds, extra)
            archive_ref = result.item.id
        result.archive_ref = str(archive_ref)
        flags = [{"code": f.code, "where": f.where, "message": f.message} for f in sub.findings.warnings]
        for code, (unit, rows) in by_unit.items():
            old = prior[code]
            rec = StatsRecord(
                table_no=sub.table.no, period=str(sub.period), unit_code=code, unit_name=unit.name,
                submitter=sub.submitter_text, filled_at=sub.filled_at, source_name=sub.path.name,
                archive_ref=str(archive_ref), sha256=sub.sha256, via=sub.via, received_at=when, values=rows,
                flags=flags, version=(old.version + 1) if old else 1, actor=current_actor(actor),
            )
            s.add(rec)
            s.flush()
            if old is not None:
                old.superseded, old.superseded_by = True, rec.id
                result.superseded_ids.append(old.id)
                result.superseded_refs.append(old.archive_ref)
            result.record_ids.append(rec.id)
            result.units.append(unit.name)
            result.version = max(result.version, rec.version)
        return result


def _file(ws: Workspace, sub: Submission, when: datetime, actor: str | None, s: Session,
          olds: list[StatsRecord], extra: dict[str, Any] | None = None) -> ItemRow:
    meta = sub.archive_meta()
    meta["extra"] = {**meta.get("extra", {}), **(extra or {})}
    meta["received_at"] = when
    meta["flags"] = sorted({str(f.code) for f in sub.findings.warnings})
    previous = next((int(o.archive_ref) for o in olds if o.archive_ref.isdigit()), None)
    if previous is not None:
        meta["supersedes"] = previous
    return file_item(ws, sub.path, ItemMeta(**meta), actor=actor, session=s)


def _archive_item(ws: Workspace, ref: str, s: Session) -> ItemRow | None:
    """The archive row behind ``ref``, read in our own transaction (a second SQLite connection
    would wait for the write lock this transaction holds)."""
    if not ref.isdigit():
        return None
    rec = s.get(ItemRecord, int(ref))
    return to_row(ws, rec) if rec is not None else None


def _current_of(s: Session, table_no: int, period: str, unit_code: str) -> StatsRecord | None:
    return s.scalar(select(StatsRecord).where(
        StatsRecord.table_no == table_no, StatsRecord.period == period, StatsRecord.unit_code == unit_code,
        StatsRecord.superseded.is_(False)))


# ---- rejections -----------------------------------------------------------------------------


def note_rejected(ws: Workspace, sub: Submission, reasons: Findings | list[Finding], *, received_at: datetime,
                  source_name: str = "", stored_as: str = "", actor: str | None = None,
                  session: Session | None = None) -> list[StatsRejection]:
    """Remember that the inbox sent ``sub`` back, for each unit it can be attributed to.

    The unit is the one the blank was issued to (signed metadata), else the units named in its
    rows, else the 填报单位.  A workbook naming no known unit, or no table, is not attributable:
    nothing is recorded (the file and its reason are in ``inbox/rejected/`` all the same).  The
    same bytes rejected again for the same unit are recorded once.  Pass ``session`` to join the
    caller's transaction (the inbox's, so the record commits with the file's move).
    """
    if sub.table is None:
        return []
    units = [sub.submitter] if sub.meta_trusted and sub.submitter else sub.units or ([sub.submitter] if sub.submitter else [])
    if not units:
        return []
    errors = [f for f in reasons if f.is_error] or list(reasons)
    out: list[StatsRejection] = []
    with stats_session(ws, session) as s:
        period = str(sub.period) if sub.period else ""
        if not period:
            rnd = latest_round(s, sub.table.no)
            period = rnd.period if rnd else ""
        if not period:
            return []
        for unit in units:
            if sub.sha256 and s.scalar(select(StatsRejection.id).where(
                    StatsRejection.table_no == sub.table.no, StatsRejection.period == period,
                    StatsRejection.unit_code == unit.code, StatsRejection.sha256 == sub.sha256)) is not None:
                continue
            rej = StatsRejection(table_no=sub.table.no, period=period, unit_code=unit.code, unit_name=unit.name,
                                 source_name=source_name or sub.path.name, stored_as=stored_as, sha256=sub.sha256,
                                 received_at=received_at,
                                 reasons=[{"code": str(f.code), "where": f.where, "message": f.message} for f in errors],
                                 actor=current_actor(actor))
            s.add(rej)
            out.append(rej)
        s.flush()
    return out


def latest_rejections(s: Session, table_no: int, period: Period | str) -> dict[str, StatsRejection]:
    """Unit code → its most recent rejected workbook of this table and period."""
    rows = s.scalars(select(StatsRejection).where(
        StatsRejection.table_no == table_no, StatsRejection.period == str(period)).order_by(StatsRejection.id))
    return {r.unit_code: r for r in rows}
