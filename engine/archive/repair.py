"""Repair: a lost or damaged database rebuilt from the archive's journal, and filings a crash
interrupted finished (committed but not moved into place) or undone (temporary files whose filing
never committed; see ``store`` for the order of work).

What the journal restores exactly: the audit log, and every index row with its 档号, 件号, hashes,
flags and metadata (each "file" entry holds the row).  What it cannot: entries lost with the
database that never reached the journal (a process killed between its commit and its append
while the database was lost too) — their files stay in place and ``ruqi archive verify`` lists
them as unindexed.  The register is rebuilt by ``engine.recover``.

``accept_audit_log`` is the one way to make verify stop reporting a log shorter than its head
witnesses when the journal cannot give the entries back: a person states why, and the log
records it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actor import current_actor
from ..db import quarantine_sqlite, session_or_new, sqlite_damage
from ..findings import Finding, error, warning
from ..workspace import Workspace
from . import audit, journal
from .files import finalize, owner_alive, temp_files
from .models import AuditHeadRecord, AuditRecord, ItemRecord
from .numbering import write_lock


class RepairCode(StrEnum):
    JOURNAL_LINE_BAD = "ARCHIVE_JOURNAL_LINE_BAD"
    JOURNAL_CONFLICT = "ARCHIVE_JOURNAL_CONFLICT"
    JOURNAL_DIVERGES = "ARCHIVE_JOURNAL_DIVERGES"  # the database's chain and the journal's differ
    JOURNAL_BROKEN = "ARCHIVE_JOURNAL_BROKEN"  # an entry fails its hash or link: replay stops before it
    JOURNAL_GAP = "ARCHIVE_JOURNAL_GAP"  # entries missing: the ones after the gap are not replayed


@dataclass(slots=True)
class RepairReport:
    completed: list[str] = field(default_factory=list)  # rel paths whose rename was finished
    removed: list[str] = field(default_factory=list)  # orphan temporary files deleted
    in_flight: list[str] = field(default_factory=list)  # temp files of a live process, left alone
    set_aside: str = ""  # where a damaged database file was moved
    damage: str = ""  # what was wrong with it
    replayed: int = 0  # audit entries restored from the journal
    items_restored: int = 0  # index rows restored from their "file" entries
    restored: dict[str, Any] = field(default_factory=dict)  # what later steps rebuilt (the register …)
    problems: list[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.completed or self.removed or self.set_aside or self.replayed
                    or any(v for v in self.restored.values() if isinstance(v, int)))


RestoreStep = Callable[[Session], dict[str, Any]]


def repair(ws: Workspace, *, actor: str | None = None, session: Session | None = None,
           restore: RestoreStep | None = None) -> RepairReport:
    """Bring the index back in line with the archive; logged as one "repair" audit entry.

    1. (own transaction only) a SQLite file that is not a database or fails its integrity check is
       moved to the workspace root (``ruqi.sqlite.damaged-<time>``) and a fresh one is created;
    2. the journal's entries beyond the database's last are replayed, verified link by link: the
       audit log, and the index rows of every "file" entry with their original 档号 and 件号;
    3. ``restore`` (the register, see ``engine.recover``) runs in the same transaction;
    4. filings a crash interrupted are finished or undone (see ``store``)."""
    rep = RepairReport()
    if session is None:
        _set_aside_if_damaged(ws, rep)
    with session_or_new(ws, session) as s:
        write_lock(s)
        _replay(ws, s, rep)
        if restore is not None:
            rep.restored = restore(s)
        _finish_interrupted(ws, s, rep)
        behind = audit.index_problem(ws, audit.last_seq(s))
        if behind is not None:
            # Entries the journal could not give back: what is restored is kept, but no new entry
            # may take a seq the lost ones had; a backup of the database is the way on.
            rep.problems.append(replace(behind, message=f"{behind.message}若确无备份，{audit.ACCEPT_HINT}"))
        elif rep.changed:
            audit.append(s, ws, audit.Action.REPAIR, "archive", current_actor(actor), {
                "completed": rep.completed, "removed": rep.removed, "set_aside": rep.set_aside, "damage": rep.damage,
                "replayed": rep.replayed, "items_restored": rep.items_restored,
                "restored": {k: v if isinstance(v, int) else len(v) for k, v in rep.restored.items()},
            })
    if session is None:
        sync_journal(ws)
    return rep


def sync_journal(ws: Workspace) -> int:
    """Append to the journal what the database has and it lacks (old workspaces, a killed process)."""
    with session_or_new(ws, None) as s:
        return journal.backfill(ws, s)


def _set_aside_if_damaged(ws: Workspace, rep: RepairReport) -> None:
    why = sqlite_damage(ws)
    if why is None:
        return
    moved = quarantine_sqlite(ws, datetime.now().strftime("%Y%m%d-%H%M%S"))
    rep.damage, rep.set_aside = why, str(moved or "")


def _replay(ws: Workspace, s: Session, rep: RepairReport) -> None:
    jr = journal.read(ws)
    rep.problems += [warning(RepairCode.JOURNAL_LINE_BAD, f"日志副本第{n}行不是完整的记录，已跳过。", journal.JOURNAL_NAME)
                     for n in jr.bad_lines]
    rep.problems += [error(RepairCode.JOURNAL_CONFLICT, f"日志副本中第{q}条出现了两个不同的版本，按最先的一个处理。",
                           journal.JOURNAL_NAME) for q in jr.conflicts]
    last = s.scalars(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).first()
    seq, prev = (last.seq, last.hash) if last else (0, audit.GENESIS)
    mine = jr.entries.get(seq)
    if last is not None and mine is not None and mine.hash != last.hash:
        rep.problems.append(error(RepairCode.JOURNAL_DIVERGES,
                                  f"数据库中的审计日志第{seq}条与档案中的日志副本不同，无法自动合并；未从副本恢复任何内容。"
                                  "请保留现状，联系管理员比对数据库备份。", journal.JOURNAL_NAME))
        return
    while (e := jr.entries.get(seq + 1)) is not None:
        actual = audit.entry_hash(e.seq, e.at, e.actor, e.action, e.object, e.details, e.prev_hash)
        if e.prev_hash != prev or actual != e.hash:
            rep.problems.append(error(RepairCode.JOURNAL_BROKEN,
                                      f"日志副本第{e.seq}条的哈希或与前一条的衔接不符（被改动），从这一条起不再恢复。",
                                      journal.JOURNAL_NAME))
            return
        s.add(AuditRecord(**{k: getattr(e, k) for k in journal.FIELDS}))
        if e.action == audit.Action.FILE:
            s.add(_item_from_entry(e))
            rep.items_restored += 1
        seq, prev = e.seq, e.hash
        rep.replayed += 1
    if rep.replayed:  # the database's head witness names the last entry the journal vouched for
        head = s.get(AuditHeadRecord, 1)
        if head is None:
            s.add(AuditHeadRecord(id=1, seq=seq, hash=prev))
        else:
            head.seq, head.hash = seq, prev
    s.flush()
    beyond = [q for q in jr.entries if q > seq + 1]
    if beyond:
        rep.problems.append(error(RepairCode.JOURNAL_GAP,
                                  f"日志副本缺少第{seq + 1}条，其后的 {len(beyond)} 条无法按链恢复（它们归档的文件会在四性检测中列为未登记）。",
                                  journal.JOURNAL_NAME))


_DATES = {"doc_date": date.fromisoformat, "received_at": datetime.fromisoformat, "filed_at": datetime.fromisoformat}


def _item_from_entry(e: journal.JournalEntry) -> ItemRecord:
    item = dict(json.loads(e.details)["item"])
    for k, parse in _DATES.items():
        if item.get(k) is not None:
            item[k] = parse(item[k])
    return ItemRecord(**item, audit_seq=e.seq)


def _finish_interrupted(ws: Workspace, s: Session, rep: RepairReport) -> None:
    for tmp in temp_files(ws.archive):
        rel_tmp = tmp.relative_to(ws.archive).as_posix()
        try:
            if owner_alive(tmp):
                rep.in_flight.append(rel_tmp)
                continue
            target = _waiting_row(s, ws, tmp)
        except FileNotFoundError:
            continue  # its filer moved it into place after we listed it
        if target is not None:
            finalize(tmp, ws.archive / target)
            rep.completed.append(target)
        else:
            tmp.unlink(missing_ok=True)
            rep.removed.append(rel_tmp)


_REPAIRED: set[str] = set()


def repair_once(ws: Workspace, session: Session | None = None) -> None:
    """Finish interrupted filings on the first filing of a process.  Inside the caller's
    transaction when there is one: a second SQLite transaction would wait for the lock the caller
    already holds.  (No journal replay here: a database behind the archive is refused when the
    filing appends its audit entry, and rebuilt only on the clerk's ``ruqi archive repair``.)"""
    key = str(ws.archive)
    if key in _REPAIRED:
        return
    _REPAIRED.add(key)
    if not any(True for _ in temp_files(ws.archive)):
        return
    with session_or_new(ws, session) as s:
        write_lock(s)
        rep = RepairReport()
        _finish_interrupted(ws, s, rep)
        if rep.changed:
            audit.append(s, ws, audit.Action.REPAIR, "archive", current_actor(None),
                         {"completed": rep.completed, "removed": rep.removed})


def _waiting_row(s: Session, ws: Workspace, tmp: Path) -> str | None:
    """The committed row in tmp's folder whose file is missing and whose bytes tmp holds."""
    folder = tmp.parent.relative_to(ws.archive).as_posix()
    size = tmp.stat().st_size
    rows = s.execute(select(ItemRecord.rel_path, ItemRecord.sha256).where(
        ItemRecord.rel_path.startswith(folder + "/", autoescape=True), ItemRecord.size == size)).all()
    candidates = [r for r in rows if PurePosixPath(r.rel_path).parent.as_posix() == folder
                  and not (ws.archive / r.rel_path).exists()]
    if not candidates:
        return None
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    return next((r.rel_path for r in candidates if r.sha256 == sha), None)


def accept_audit_log(ws: Workspace, reason: str, *, actor: str | None = None) -> audit.Entry:
    """Record that a person accepts the audit log as it stands, with the head witnesses it
    contradicted, and point both witnesses at that record.  The journal then follows the log: a
    journal that still holds the entries given up is moved out of the archive (kept, never
    deleted) and written afresh from the database."""
    state, head, size = audit.head_file(ws)
    with session_or_new(ws, None) as s:
        write_lock(s)
        in_db = audit.db_head(s)
        rec = audit.append(s, ws, audit.Action.REPAIR, "audit-log", current_actor(actor), {
            "accept_audit_log": reason,
            "head_file": {"state": str(state), "seq": head.seq if head else None,
                          "hash": head.hash if head else None, "size": size},
            "head_db": {"seq": in_db.seq, "hash": in_db.hash} if in_db else None,
        }, reset_heads=True)
        entry = audit.to_entry(rec)
    _journal_follows_log(ws)
    return entry


def _journal_follows_log(ws: Workspace) -> None:
    with session_or_new(ws, None) as s:
        ours = {r.seq: r.hash for r in s.execute(select(AuditRecord.seq, AuditRecord.hash))}
    jr = journal.read(ws)
    if jr.conflicts or any(ours.get(q) != e.hash for q, e in jr.entries.items()):
        p = journal.journal_path(ws)
        p.replace(ws.root / f"{p.stem}.replaced-{datetime.now():%Y%m%d-%H%M%S}{p.suffix}")
    sync_journal(ws)
