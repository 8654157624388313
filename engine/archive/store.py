"""Filing: put one document into the archive, byte-identical, numbered, indexed and logged.

Order of work in ``file_item`` (why a crash at any point leaves all or nothing):

1. check the metadata and the bytes (format on the allowed list, container sound), hash them;
2. write the bytes to ``<target dir>/.ruqi-tmp-<pid>-<random>`` and fsync file and directory;
3. in ONE database transaction under the archive write lock: take the next 件号, choose the
   file name, insert the index row and the "file" audit entry; commit;
4. after the commit: ``os.replace`` the temporary file onto its final name, fsync the directory.

A crash before 3 commits leaves only a temporary file whose process is gone: ``repair`` deletes
it, and the 件号 was never taken (it is allocated in the rolled-back transaction).  A crash
between 3 and 4 leaves a committed row whose file is still under its temporary name: ``repair``
finds it by size and SHA-256 and completes the rename.  ``repair`` runs on the first filing of
every process, and from ``ruqi archive repair``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..db import session as db_session
from ..findings import RuqiError, error
from ..register import current_actor
from ..workspace import Workspace
from . import audit, formats, layout
from .models import ItemRecord
from .numbering import RETENTIONS, ArchivalCode, next_piece, write_lock

TMP_PREFIX = ".ruqi-tmp-"
DEFAULT_RETENTION = "D30"
_READ_CHUNK = 1 << 20


class StoreCode(StrEnum):
    META_MISSING = "ARCHIVE_META_MISSING"
    FORM_TYPE_UNKNOWN = "ARCHIVE_FORM_TYPE_UNKNOWN"
    RETENTION_INVALID = "ARCHIVE_RETENTION_INVALID"
    FORMAT_NOT_ALLOWED = "ARCHIVE_FORMAT_NOT_ALLOWED"
    UNREADABLE = "ARCHIVE_UNREADABLE"
    SUPERSEDES_UNKNOWN = "ARCHIVE_SUPERSEDES_UNKNOWN"


@dataclass(slots=True)
class ItemMeta:
    """What the filer knows about a document (DA/T 46 in spirit)."""

    form_type: str  # notice / notice_board / card_generated / card_returned / stats_* / plan / review_export / other
    title: str  # 题名
    responsible: str  # 责任者 (usually the bureau's name; the enterprise for a returned card)
    date: date  # 日期 of the document (issue date, date received)
    year: int | None = None  # 年度; defaults to date.year (an inspection's year for its forms)
    serial: str = ""  # inspection serial, e.g. 140200-2025-0001
    enterprise: str = ""
    uscc: str = ""
    county: str = ""
    original_name: str = ""  # file name as generated or received; defaults to the path's name
    retention: str | None = None  # overrides ruqi.toml [archive.retention]
    flags: list[str] = field(default_factory=list)  # e.g. late, yes_answer, over_cap
    supersedes: int | None = None  # item id this replaces; default: the previous version, if any
    received_at: datetime | None = None  # when an outside document arrived
    extra: dict[str, Any] = field(default_factory=dict)  # anything else worth keeping (JSON)


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One filed item as read from the index (a plain value: safe to keep after the session ends)."""

    id: int
    archival_code: str
    year: int
    piece: int
    retention: str
    form_type: str
    title: str
    responsible: str
    date: date
    serial: str
    enterprise: str
    uscc: str
    county: str
    original_name: str
    rel_path: str
    path: Path
    format: str
    format_version: str
    size: int
    sha256: str
    sm3: str
    version: int
    supersedes: int | None
    flags: list[str]
    extra: dict[str, Any]
    received_at: datetime | None
    filed_at: datetime
    actor: str

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]
        d["path"] = str(self.path)
        for k in ("date", "received_at", "filed_at"):
            d[k] = d[k].isoformat() if d[k] is not None else None
        return d


FiledItem = ItemRow  # what file_item returns: the row as indexed


def to_row(ws: Workspace, r: ItemRecord) -> ItemRow:
    return ItemRow(
        id=r.id, archival_code=r.archival_code, year=r.year, piece=r.piece, retention=r.retention,
        form_type=r.form_type, title=r.title, responsible=r.responsible, date=r.doc_date, serial=r.serial,
        enterprise=r.enterprise, uscc=r.uscc, county=r.county, original_name=r.original_name,
        rel_path=r.rel_path, path=ws.archive / r.rel_path, format=r.format, format_version=r.format_version,
        size=r.size, sha256=r.sha256, sm3=r.sm3, version=r.version, supersedes=r.supersedes,
        flags=list(r.flags or []), extra=dict(r.extra or {}), received_at=r.received_at, filed_at=r.filed_at,
        actor=r.actor,
    )


SNAPSHOT_FIELDS = (
    "id", "archival_code", "year", "piece", "retention", "form_type", "title", "responsible", "doc_date",
    "serial", "enterprise", "uscc", "county", "original_name", "rel_path", "format", "format_version", "size",
    "sha256", "sm3", "version", "supersedes", "flags", "extra", "received_at", "filed_at", "actor",
)


_DATE_FIELDS = ("doc_date", "received_at", "filed_at")


def snapshot(r: Any) -> dict[str, Any]:
    """The row (an ``ItemRecord`` or a plain table row) as recorded in its "file" audit entry;
    verify compares the live row against it."""
    out = {k: getattr(r, k) for k in SNAPSHOT_FIELDS}
    for k in _DATE_FIELDS:
        if out[k] is not None:
            out[k] = out[k].isoformat()
    return out


# ---------------------------------------------------------------- hashing


def sm3_available() -> bool:
    try:
        hashlib.new("sm3")
        return True
    except ValueError:
        return False


def digests(data: bytes) -> tuple[str, str]:
    """(sha256, sm3) hex digests; sm3 is '' when this Python/OpenSSL build lacks it."""
    sm3 = hashlib.new("sm3", data).hexdigest() if sm3_available() else ""
    return hashlib.sha256(data).hexdigest(), sm3


# ---------------------------------------------------------------- filing


def file_item(
    ws: Workspace, data: bytes | Path, meta: ItemMeta, *, actor: str | None = None, session: Session | None = None,
) -> ItemRow:
    """File one document.  With ``session``, the item joins the caller's transaction (e.g. the
    register's) and its file is moved into place when that transaction commits."""
    if isinstance(data, Path):
        meta.original_name = meta.original_name or data.name
        data = data.read_bytes()
    _repair_once(ws, session)
    fmt = _check(ws, data, meta)
    sha256, sm3 = digests(data)
    year = meta.year or meta.date.year
    folder = layout.folder(meta.form_type, year, meta.serial, meta.enterprise, meta.county)
    tmp = _write_temp(ws.archive / folder, data)
    try:
        if session is None:
            with db_session(ws) as s:
                rec = _insert(s, ws, meta, fmt, data, sha256, sm3, year, folder, actor)
            _finalize(tmp, ws.archive / rec.rel_path)
        else:
            rec = _insert(session, ws, meta, fmt, data, sha256, sm3, year, folder, actor)
            _finalize_on_commit(session, tmp, ws.archive / rec.rel_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return to_row(ws, rec)


def _check(ws: Workspace, data: bytes, meta: ItemMeta) -> str:
    def fail(code: StoreCode, msg: str) -> RuqiError:
        return RuqiError(error(code, msg, meta.original_name or meta.title))

    if meta.form_type not in layout.LABELS:
        raise fail(StoreCode.FORM_TYPE_UNKNOWN, f"未知的文种“{meta.form_type}”，可用：{'、'.join(layout.LABELS)}")
    need = {"题名": meta.title, "责任者": meta.responsible, "日期": meta.date}
    if meta.form_type in layout.PER_INSPECTION:
        need |= {"检查编号": meta.serial, "企业名称": meta.enterprise, "统一社会信用代码": meta.uscc, "所属县区": meta.county}
    missing = [k for k, v in need.items() if not v]
    if missing:
        raise fail(StoreCode.META_MISSING, f"归档缺少必填信息：{'、'.join(missing)}")
    if retention_for(ws, meta) not in RETENTIONS:
        raise fail(StoreCode.RETENTION_INVALID, f"保管期限“{retention_for(ws, meta)}”无效，只能是 Y、D30 或 D10")
    fmt = formats.sniff(data, meta.original_name)
    if fmt not in formats.ALLOWED:
        raise fail(StoreCode.FORMAT_NOT_ALLOWED,
                   f"文件格式{'无法识别' if not fmt else '“' + fmt + '”不在允许范围'}，可归档：{'、'.join(formats.ALLOWED)}")
    problem = formats.check_structure(fmt, data)
    if problem:
        raise fail(StoreCode.UNREADABLE, f"文件无法打开：{problem}")
    return fmt


def retention_for(ws: Workspace, meta: ItemMeta) -> str:
    return meta.retention or ws.config.retention.get(meta.form_type, DEFAULT_RETENTION)


def _insert(
    s: Session, ws: Workspace, meta: ItemMeta, fmt: str, data: bytes, sha256: str, sm3: str, year: int,
    folder: PurePosixPath, actor: str | None,
) -> ItemRecord:
    write_lock(s)
    piece = next_piece(s, year)
    version, previous = _next_version(s, meta, fmt, year)
    if meta.supersedes is not None and s.get(ItemRecord, meta.supersedes) is None:
        raise RuqiError(error(StoreCode.SUPERSEDES_UNKNOWN, f"要替代的归档条目 {meta.supersedes} 不存在"))
    rel, version = _free_name(s, ws, folder, meta, version, fmt)
    code = ArchivalCode(ws.config.fonds_code, year, retention_for(ws, meta), ws.config.org_code, piece)
    who = current_actor(actor)
    rec = ItemRecord(
        archival_code=str(code), year=year, piece=piece, retention=code.retention, form_type=meta.form_type,
        title=meta.title, responsible=meta.responsible, doc_date=meta.date, serial=meta.serial,
        enterprise=meta.enterprise, uscc=meta.uscc, county=meta.county, original_name=meta.original_name,
        rel_path=rel, format=fmt, format_version=formats.pdfa_version(data) if fmt == "pdf" else "",
        size=len(data), sha256=sha256, sm3=sm3, version=version,
        supersedes=meta.supersedes if meta.supersedes is not None else previous, flags=list(meta.flags),
        extra=dict(meta.extra), received_at=meta.received_at, filed_at=datetime.now(), actor=who,
        audit_seq=audit.next_seq(s),
    )
    s.add(rec)
    s.flush()
    audit.append(s, ws, audit.Action.FILE, str(code), who, {"item": snapshot(rec)})
    return rec


def _next_version(s: Session, meta: ItemMeta, fmt: str, year: int) -> tuple[int, int | None]:
    """Versions count per inspection, form type and format (the PDF and the docx of a notice are
    both v1); for items without a serial, per year, form type, county and 题名."""
    q = select(ItemRecord.id, ItemRecord.version).where(ItemRecord.form_type == meta.form_type,
                                                         ItemRecord.format == fmt)
    if meta.serial:
        q = q.where(ItemRecord.serial == meta.serial)
    else:
        q = q.where(ItemRecord.serial == "", ItemRecord.year == year, ItemRecord.county == meta.county,
                    ItemRecord.title == meta.title)
    last = s.execute(q.order_by(ItemRecord.version.desc()).limit(1)).first()
    return (last.version + 1, last.id) if last else (1, None)


def _free_name(s: Session, ws: Workspace, folder: PurePosixPath, meta: ItemMeta, version: int,
               fmt: str) -> tuple[str, int]:
    while True:
        rel = str(folder / layout.file_name(meta.form_type, meta.title, meta.serial, version, fmt))
        taken = s.scalar(select(ItemRecord.id).where(ItemRecord.rel_path == rel))
        if taken is None and not (ws.archive / rel).exists():
            return rel, version
        version += 1


def _write_temp(directory: Path, data: bytes) -> Path:
    _make_dirs(directory)
    tmp = directory / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
    with open(tmp, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(directory)
    return tmp


def _finalize(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def _finalize_on_commit(s: Session, tmp: Path, final: Path) -> None:
    pending: list[tuple[Path, Path]] = s.info.setdefault("ruqi_pending_files", [])
    pending.append((tmp, final))
    if s.info.get("ruqi_files_listener"):
        return
    s.info["ruqi_files_listener"] = True

    def on_commit(sess: Session) -> None:
        for t, f in sess.info.pop("ruqi_pending_files", []):
            _finalize(t, f)

    def on_rollback(sess: Session) -> None:
        for t, _f in sess.info.pop("ruqi_pending_files", []):
            t.unlink(missing_ok=True)

    event.listen(s, "after_commit", on_commit)
    event.listen(s, "after_rollback", on_rollback)


def _make_dirs(directory: Path) -> None:
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        d = d.parent
    for m in reversed(missing):
        m.mkdir(exist_ok=True)
        _fsync_dir(m.parent)  # the new directory's entry must survive a power cut too


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":
        return  # directories cannot be opened for fsync on Windows; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------- audit entries not tied to a new file


def log_action(
    ws: Workspace, action: str, obj: str, *, actor: str | None = None, details: dict[str, Any] | None = None,
    session: Session | None = None,
) -> audit.Entry:
    """Append an audit entry (generate, reject, override, export, verify …) for ``obj``
    (a serial, a 档号, a file name).  ``details`` must be JSON-serialisable; put hashes in it."""
    with _maybe_session(ws, session) as s:
        write_lock(s)
        rec = audit.append(s, ws, action, obj, current_actor(actor), details or {})
        return audit.to_entry(rec)


@contextmanager
def _maybe_session(ws: Workspace, s: Session | None) -> Iterator[Session]:
    if s is not None:
        yield s
    else:
        with db_session(ws) as own:
            yield own


# ---------------------------------------------------------------- repair


@dataclass(slots=True)
class RepairReport:
    completed: list[str] = field(default_factory=list)  # rel paths whose rename was finished
    removed: list[str] = field(default_factory=list)  # orphan temporary files deleted
    in_flight: list[str] = field(default_factory=list)  # temp files of a live process, left alone

    @property
    def changed(self) -> bool:
        return bool(self.completed or self.removed)


_REPAIRED: set[str] = set()


def _repair_once(ws: Workspace, session: Session | None = None) -> None:
    """Repair on the first filing of a process.  Inside the caller's transaction when there is
    one: a second SQLite transaction would wait for the lock the caller already holds."""
    key = str(ws.archive)
    if key not in _REPAIRED:
        _REPAIRED.add(key)
        repair(ws, session=session)


def temp_files(ws: Workspace) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(ws.archive):
        for name in files:
            if name.startswith(TMP_PREFIX):
                yield Path(dirpath) / name


def _owner_alive(tmp: Path) -> bool:
    try:
        pid = int(tmp.name[len(TMP_PREFIX):].split("-", 1)[0])
    except ValueError:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        # os.kill would terminate it; fall back on age: nobody writes one file for an hour.
        return datetime.now().timestamp() - tmp.stat().st_mtime < 3600
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repair(ws: Workspace, *, actor: str | None = None, session: Session | None = None) -> RepairReport:
    """Finish or undo filings a crash interrupted (see the module docstring)."""
    rep = RepairReport()
    temps = list(temp_files(ws))
    if not temps:
        return rep
    with _maybe_session(ws, session) as s:
        write_lock(s)
        for tmp in temps:
            rel_tmp = tmp.relative_to(ws.archive).as_posix()
            if _owner_alive(tmp):
                rep.in_flight.append(rel_tmp)
                continue
            target = _waiting_row(s, ws, tmp)
            if target is not None:
                _finalize(tmp, ws.archive / target)
                rep.completed.append(target)
            else:
                tmp.unlink(missing_ok=True)
                rep.removed.append(rel_tmp)
        if rep.changed:
            audit.append(s, ws, audit.Action.REPAIR, "archive", current_actor(actor),
                         {"completed": rep.completed, "removed": rep.removed})
    return rep


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
