"""The audit log's copy in the archive itself: ``archive/.ruqi-journal.jsonl``.

The database is only an index.  What must survive its loss (deleted, truncated, replaced by an
old backup) is the audit chain, and the chain already holds everything the index needs: each
"file" entry carries the full row of the item it filed (``store.snapshot``), 档号 and 件号
included, and a generated card's row carries its visit (``extra["visit"]``).  So every entry is
also appended here, after its transaction commits, as one line of JSON with exactly the stored
fields (``details`` as the stored text, so anyone can recompute the hash).  ``ruqi archive
repair`` replays the entries the database lacks.

Appends happen after the commit (a rolled-back entry is never written), one ``write`` per entry
on an ``O_APPEND`` file, so concurrent writers interleave whole lines; the order of lines does not
matter, ``seq`` does.  A process killed between its commit and its append leaves a line missing:
``backfill`` (run by every repair, and by every command as it opens the workspace) adds what the
database has and the journal lacks; it reads the whole file only when its tail or its count of
lines says something is missing.  Not fsynced per line: the database is; the journal is the copy.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..findings import Finding, error, warning
from ..workspace import Workspace
from .models import AuditRecord
from .txn import on_commit

JOURNAL_NAME = ".ruqi-journal.jsonl"
FIELDS = ("seq", "at", "actor", "action", "object", "details", "prev_hash", "hash")
_TAIL_BYTES = 1 << 16
_COUNT_CHUNK = 1 << 20
COUNTED_NAME = ".ruqi-journal-counted"  # in the workspace root: where the last count of lines stopped (``line_count``)
_MARK_BYTES = 64

log = logging.getLogger(__name__)


class JournalCode(StrEnum):
    LINE_BAD = "JOURNAL_LINE_BAD"  # a line that is not an audit entry: damaged, or content slipped in
    DIFFERS = "JOURNAL_DIFFERS"  # an entry unlike the log's entry of the same seq
    AHEAD = "JOURNAL_AHEAD"  # entries the database lacks: it was lost or replaced (ruqi archive repair)
    LAGS = "JOURNAL_LAGS"  # entries not copied yet (a killed process); the next command writes them

    @property
    def zh(self) -> str:
        return JOURNAL_ZH[self]


JOURNAL_ZH: dict[JournalCode, str] = {
    JournalCode.LINE_BAD: "审计日志副本中有不是日志条目的内容", JournalCode.DIFFERS: "审计日志副本与数据库中的日志不一致",
    JournalCode.AHEAD: "审计日志副本有数据库中没有的条目", JournalCode.LAGS: "审计日志副本尚未写全",
}


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One entry as stored (``details`` is the canonical JSON text): an ``audit.Stored``."""

    seq: int
    at: str
    actor: str
    action: str
    object: str
    details: str
    prev_hash: str
    hash: str


@dataclass(slots=True)
class JournalRead:
    entries: dict[int, JournalEntry] = field(default_factory=dict)
    bad_lines: list[int] = field(default_factory=list)  # 1-based line numbers that are not an entry
    conflicts: list[int] = field(default_factory=list)  # seqs found twice with different contents


def journal_path(ws: Workspace) -> Path:
    return ws.archive / JOURNAL_NAME


def line(rec: Any) -> bytes:
    return (json.dumps({k: getattr(rec, k) for k in FIELDS}, ensure_ascii=False, separators=(",", ":"))
            + "\n").encode("utf-8")


def append(ws: Workspace, recs: Iterable[Any]) -> None:
    data = b"".join(line(r) for r in recs)
    if not data:
        return
    fd = os.open(journal_path(ws), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def append_after_commit(s: Session, ws: Workspace, recs: Sequence[AuditRecord]) -> None:
    """The entries' lines, in one write after the commit."""
    copies = [JournalEntry(*(getattr(rec, k) for k in FIELDS)) for rec in recs]

    def write() -> None:
        try:
            append(ws, copies)
        except OSError as e:  # committed already: the next backfill adds the lines
            log.warning("journal lines %s-%s not written: %s", copies[0].seq, copies[-1].seq, e)

    on_commit(s, write)


def read(ws: Workspace) -> JournalRead:
    out = JournalRead()
    try:
        raw = journal_path(ws).read_bytes()
    except FileNotFoundError:
        return out
    for n, text in enumerate(raw.split(b"\n"), start=1):
        if not text.strip():
            continue
        e = _parse(text)
        if e is None:
            out.bad_lines.append(n)
            continue
        seen = out.entries.get(e.seq)
        if seen is not None and seen != e:
            out.conflicts.append(e.seq)
        out.entries.setdefault(e.seq, e)
    return out


def _parse(text: bytes) -> JournalEntry | None:
    try:
        d = json.loads(text)
        e = JournalEntry(**{k: d[k] for k in FIELDS})
    except (ValueError, KeyError, TypeError):
        return None
    ok = isinstance(e.seq, int) and all(isinstance(getattr(e, k), str) for k in FIELDS[1:])
    return e if ok else None


def last_seq(ws: Workspace) -> int:
    """The highest seq among the journal's last lines (cheap: reads only the file's tail)."""
    p = journal_path(ws)
    try:
        with open(p, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - _TAIL_BYTES))
            tail = f.read()
    except FileNotFoundError:
        return 0
    seqs = [e.seq for e in map(_parse, tail.split(b"\n")[-64:]) if e is not None]
    return max(seqs, default=0)


def backfill(ws: Workspace, s: Session) -> int:
    """Append the database's entries the journal lacks; the number appended."""
    db_count, db_last = s.execute(select(func.count(), func.max(AuditRecord.seq))).one()
    if not db_count:
        return 0
    try:
        if last_seq(ws) >= (db_last or 0) and line_count(ws) >= db_count:
            return 0  # the usual case, decided from the file's tail and its newlines, without parsing it
    except OSError:
        return 0
    have = set(read(ws).entries)
    missing = [r for r in s.scalars(select(AuditRecord).order_by(AuditRecord.seq)) if r.seq not in have]
    append(ws, missing)
    return len(missing)


def line_count(ws: Workspace) -> int:
    """The journal's lines, counted from where the last count stopped.

    Every command asks (``backfill``), and the journal grows by about 1.7 kB an entry: a year's
    filing is tens of MB to read.  It only grows (appends), so the size counted up to and the lines
    found there are kept in ``COUNTED_NAME`` (the workspace root: a cache, not part of the archive),
    with the bytes just before that size; a command counts only what was appended since.  The
    whole file is counted when the cache is missing or unreadable, or the file is shorter than it or
    differs there (replaced, restored from a backup).  The cache is written when the count moved on;
    a failure to write it costs the next command a whole count, nothing else."""
    try:
        with open(journal_path(ws), "rb", buffering=0) as f:
            return _count_on(ws, f)
    except FileNotFoundError:
        return 0


def _count_on(ws: Workspace, f: Any) -> int:
    size = os.fstat(f.fileno()).st_size
    start, lines = _counted(ws, f, size)
    f.seek(start)
    buf = bytearray(_COUNT_CHUNK)
    left = size - start  # lines appended while counting are the next command's
    while left > 0 and (n := f.readinto(buf)):
        n = min(n, left)
        lines += buf.count(b"\n", 0, n)
        left -= n
    if start != size:
        f.seek(max(0, size - _MARK_BYTES))
        _remember(ws, size, lines, f.read(_MARK_BYTES))
    return lines


def _counted(ws: Workspace, f: Any, size: int) -> tuple[int, int]:
    """(size, lines) of the last count when the journal still has those bytes, else (0, 0)."""
    try:
        at, lines, mark = (ws.root / COUNTED_NAME).read_text(encoding="ascii").split()
        start, counted = int(at), int(lines)
        if not 0 < start <= size:
            return 0, 0
        f.seek(max(0, start - _MARK_BYTES))
        return (start, counted) if f.read(min(start, _MARK_BYTES)).hex() == mark else (0, 0)
    except (OSError, ValueError):
        return 0, 0


def _remember(ws: Workspace, size: int, lines: int, mark: bytes) -> None:
    target = ws.root / COUNTED_NAME
    tmp = target.with_name(f"{COUNTED_NAME}.{os.getpid()}")
    try:
        tmp.write_text(f"{size} {lines} {mark.hex()}\n", encoding="ascii")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)


def check(ws: Workspace, by_seq: Mapping[int, Any], *, sound: Callable[[Any], bool], log_ok: bool) -> Iterator[Finding]:
    """The journal holds exactly the log's entries: it is skipped by the store check, so nothing
    else may hide in it.  ``sound(entry)``: the database entry matches its own hash (when it does
    not, the chain check reports it and the journal's copy is what ``repair`` would go by).
    ``log_ok``: the log has no finding of its own; when it has (entries cut or inserted), the
    journal's extra or missing lines say nothing new and are not reported again."""
    jr = read(ws)
    if not jr.entries and not jr.bad_lines:
        return  # a workspace from before the journal: the next command writes it
    for n in jr.bad_lines[:10]:
        yield error(JournalCode.LINE_BAD, f"审计日志副本 {JOURNAL_NAME} 第{n}行不是审计日志条目（被改动或夹带了其他内容）。",
                    f"{JOURNAL_NAME} 第{n}行")
    for q in jr.conflicts[:10]:
        yield error(JournalCode.DIFFERS, f"审计日志副本中第{q}条出现了两个不同的版本（被改动）。", JOURNAL_NAME)
    for q, e in sorted(jr.entries.items()):
        d = by_seq.get(q)
        if d is not None and any(getattr(d, k) != getattr(e, k) for k in FIELDS) and sound(d):
            yield error(JournalCode.DIFFERS, f"审计日志副本第{q}条与数据库中的第{q}条不同（副本被改动）。", JOURNAL_NAME)
    if not log_ok:
        return
    ahead = sorted(q for q in jr.entries if q not in by_seq)
    if ahead:
        yield error(JournalCode.AHEAD, f"审计日志副本有第{ahead[0]}条等 {len(ahead)} 条数据库中没有的条目：数据库被换成了旧备份，"
                                       "或副本中被加入了条目。请运行 ruqi archive repair 核对恢复。", JOURNAL_NAME)
    lags = len([q for q in by_seq if q not in jr.entries])
    if lags:
        yield warning(JournalCode.LAGS, f"审计日志副本缺少 {lags} 条（进程中断所致），下一条 ruqi 命令会补写。", JOURNAL_NAME)
