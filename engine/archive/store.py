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
every process, and from ``ruqi archive repair``.  (``files`` and ``repair`` hold those parts.)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..actor import current_actor
from ..db import session as db_session
from ..findings import RuqiError, error
from ..forms import PER_INSPECTION
from ..workspace import Workspace
from . import audit, formats, layout
from .files import finalize, finalize_on_commit, fsync_all, write_temp
from .models import ItemRecord
from .numbering import RETENTIONS, ArchivalCode, next_piece, write_lock
from .repair import repair_once

DEFAULT_RETENTION = "D30"
# engine.inbox calls this before opening its own filing transaction.
_repair_once = repair_once


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
    # What the filer already knows of the bytes' format version (the renderer wrote "PDF/A-3B");
    # None: read from the bytes (the PDF's XMP packet, parsed with pypdf).
    format_version: str | None = None


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


# The row's fields as recorded in its "file" audit entry, with the Chinese name verify reports.
FIELD_LABELS = {
    "id": "条目编号", "archival_code": "档号", "year": "年度", "piece": "件号", "retention": "保管期限",
    "form_type": "文种", "title": "题名", "responsible": "责任者", "doc_date": "日期", "serial": "检查编号",
    "enterprise": "企业名称", "uscc": "统一社会信用代码", "county": "县区", "original_name": "原文件名",
    "rel_path": "存放路径", "format": "格式", "format_version": "格式版本", "size": "文件大小", "sha256": "SHA-256",
    "sm3": "SM3", "version": "版本", "supersedes": "替代的条目", "flags": "标记", "extra": "其他信息",
    "received_at": "收到时间", "filed_at": "归档时间", "actor": "操作人",
}
SNAPSHOT_FIELDS = tuple(FIELD_LABELS)
_DATE_FIELDS = ("doc_date", "received_at", "filed_at")


def snapshot(r: Any) -> dict[str, Any]:
    """The row (an ``ItemRecord`` or a plain table row) as recorded in its "file" audit entry;
    verify compares the live row against it."""
    if hasattr(r, "_fields"):  # a plain row: one C-level pass instead of 27 attribute lookups
        d = dict(zip(r._fields, r, strict=True))
        out = {k: d[k] for k in SNAPSHOT_FIELDS}
    else:
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
    repair_once(ws, session)
    ready = prepare(ws, data, meta)  # everything that takes time happens before the write lock is taken
    if session is None:
        with db_session(ws) as s:
            return file_prepared(s, ws, ready, actor=actor, move=False)
    return file_prepared(session, ws, ready, actor=actor)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document checked, hashed and written under a temporary name beside its final place, not
    yet indexed: :func:`file_prepared` files it; :meth:`discard` if it will not be."""

    meta: ItemMeta
    facts: _Facts
    year: int
    folder: PurePosixPath
    tmp: Path

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def prepare(ws: Workspace, data: bytes | Path, meta: ItemMeta, *, sync_dir: bool = True, sync: bool = True,
            ) -> Prepared:
    """Steps 1–2 of filing (no database): check, hash, write the temporary file and fsync it.

    ``sync_dir=False`` leaves the fsync of the folder to the caller (:func:`sync_folders`), who
    prepares many documents into few folders; ``sync=False`` the file's fsync too
    (``sync_folders(..., files=True)``).  Either must happen before the index rows commit."""
    if isinstance(data, Path):
        meta = replace(meta, original_name=meta.original_name or data.name)
        data = data.read_bytes()
    fmt = _check(ws, data, meta)
    version = meta.format_version if meta.format_version is not None else \
        formats.pdfa_version(data) if fmt == "pdf" else ""
    facts = _Facts(fmt, version, len(data), *digests(data))
    year = meta.year or meta.date.year
    folder = layout.folder(meta.form_type, year, meta.serial, meta.enterprise, meta.county)
    return Prepared(meta, facts, year, folder, write_temp(ws.archive / folder, data, sync_dir=sync_dir, sync=sync))


def sync_folders(ws: Workspace, ready: list[Prepared], *, files: bool = False) -> None:
    """The fsync :func:`prepare` left out, once per folder (``files``: and of every file, all at once)."""
    fsync_all([r.tmp for r in ready] if files else [], [ws.archive / r.folder for r in ready])


def file_prepared(s: Session, ws: Workspace, ready: Prepared, *, actor: str | None = None,
                  move: bool = True) -> ItemRow:
    """Steps 3–4: index the prepared document in ``s``'s transaction; its file is moved into place
    when that transaction commits (``move=False``: the caller commits and moves it now).  The
    temporary file is deleted if this fails or the transaction rolls back."""
    return file_prepared_many(s, ws, [ready], actor=actor, move=move)[0]


def file_prepared_many(s: Session, ws: Workspace, ready: Sequence[Prepared], *, actor: str | None = None,
                       move: bool = True, discard: bool = True) -> list[ItemRow]:
    """:func:`file_prepared` for several documents (one inspection's generated forms, or a chunk's):
    the same rows and audit entries, in the same order, as filing them one after the other, with
    one query per kind of fact (件号, versions, names, the log's last entry) and one flush instead
    of one each.  ``discard=False``: on failure the temporary files stay, for the caller to file
    them another way (its SAVEPOINT rolled back) or discard them."""
    try:
        recs = _insert_many(s, ws, ready, actor)
        if not move:
            s.commit()
    except BaseException:
        if discard:
            for r in ready:
                r.discard()  # nothing committed: the 件号 went back with the rollback
        raise
    # Committed (or joined to the caller's transaction): from here the temporary file is the
    # item's only copy until it is moved, so it is never deleted on error; repair finishes it.
    for r, rec in zip(ready, recs, strict=True):
        if move:
            finalize_on_commit(s, r.tmp, ws.archive / rec.rel_path)
        else:
            finalize(r.tmp, ws.archive / rec.rel_path)
    return [to_row(ws, rec) for rec in recs]


def _check(ws: Workspace, data: bytes, meta: ItemMeta) -> str:
    def fail(code: StoreCode, msg: str) -> RuqiError:
        return RuqiError(error(code, msg, meta.original_name or meta.title))

    if meta.form_type not in layout.LABELS:
        raise fail(StoreCode.FORM_TYPE_UNKNOWN, f"未知的文种“{meta.form_type}”，可用：{'、'.join(layout.LABELS)}")
    need = {"题名": meta.title, "责任者": meta.responsible, "日期": meta.date}
    if meta.form_type in PER_INSPECTION:
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


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the bytes themselves say, computed before the transaction."""

    format: str
    format_version: str
    size: int
    sha256: str
    sm3: str


def _insert_many(s: Session, ws: Workspace, ready: Sequence[Prepared], actor: str | None) -> list[ItemRecord]:
    write_lock(s)
    keys = [_version_key(r.meta, r.facts.format, r.year) for r in ready]
    if len(set(keys)) < len(keys):  # the same document twice: the second is a version of the first
        return [rec for r in ready for rec in _insert_many(s, ws, [r], actor)]
    versions = _next_versions(s, ready, keys)
    taken = _taken_names(s, [str(r.folder / layout.file_name(r.meta.form_type, r.meta.title, r.meta.serial, v, r.facts.format))
                             for r, (v, _) in zip(ready, versions, strict=True)])
    who = current_actor(actor)
    seq = audit.next_seq(s)
    pieces: dict[int, int] = {}
    recs: list[ItemRecord] = []
    for r, (version, previous) in zip(ready, versions, strict=True):
        meta, facts, year = r.meta, r.facts, r.year
        if meta.supersedes is not None and s.get(ItemRecord, meta.supersedes) is None:
            raise RuqiError(error(StoreCode.SUPERSEDES_UNKNOWN, f"要替代的归档条目 {meta.supersedes} 不存在"))
        piece = pieces[year] = pieces[year] + 1 if year in pieces else next_piece(s, year)
        rel, version = _free_name(s, ws, r.folder, meta, version, facts.format, taken)
        taken.add(rel)
        code = ArchivalCode(ws.config.fonds_code, year, retention_for(ws, meta), ws.config.org_code, piece)
        recs.append(ItemRecord(
            archival_code=str(code), year=year, piece=piece, retention=code.retention, form_type=meta.form_type,
            title=meta.title, responsible=meta.responsible, doc_date=meta.date, serial=meta.serial,
            enterprise=meta.enterprise, uscc=meta.uscc, county=meta.county, original_name=meta.original_name,
            rel_path=rel, format=facts.format, format_version=facts.format_version, size=facts.size,
            sha256=facts.sha256, sm3=facts.sm3, version=version,
            supersedes=meta.supersedes if meta.supersedes is not None else previous, flags=list(meta.flags),
            extra=dict(meta.extra), received_at=meta.received_at, filed_at=datetime.now(), actor=who,
            audit_seq=seq + len(recs),
        ))
    s.add_all(recs)
    s.flush()
    audit.append_many(s, ws, audit.Action.FILE, [(rec.archival_code, {"item": snapshot(rec)}) for rec in recs], who)
    return recs


VersionKey = tuple[str, str, str, int, str, str]  # form type, format, serial; or year, county, 题名 without one


def _version_key(meta: ItemMeta, fmt: str, year: int) -> VersionKey:
    if meta.serial:
        return meta.form_type, fmt, meta.serial, 0, "", ""
    return meta.form_type, fmt, "", year, meta.county, meta.title


def _next_versions(s: Session, ready: Sequence[Prepared], keys: list[VersionKey]) -> list[tuple[int, int | None]]:
    """:func:`_next_version` of each document; those with a serial from one query."""
    serials = {k[2] for k in keys if k[2]}
    last: dict[VersionKey, tuple[int, int]] = {}  # key -> (version, id) of its latest item
    if serials:
        for row in s.execute(select(ItemRecord.id, ItemRecord.version, ItemRecord.form_type, ItemRecord.format,
                                    ItemRecord.serial).where(ItemRecord.serial.in_(serials))
                             .order_by(ItemRecord.version.desc(), ItemRecord.id)):
            last.setdefault((row.form_type, row.format, row.serial, 0, "", ""), (row.version, row.id))
    out = []
    for r, key in zip(ready, keys, strict=True):
        if key[2]:
            hit = last.get(key)
            out.append((hit[0] + 1, hit[1]) if hit else (1, None))
        else:
            out.append(_next_version(s, r.meta, r.facts.format, r.year))
    return out


def _taken_names(s: Session, rels: list[str]) -> set[str]:
    """Which of these archive paths an item already has."""
    return set(s.scalars(select(ItemRecord.rel_path).where(ItemRecord.rel_path.in_(rels)))) if rels else set()


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
               fmt: str, taken: set[str]) -> tuple[str, int]:
    """The first version's name no item has and no file holds.  ``taken``: the names known taken
    (by other items, or earlier in this flush) after one query for the first name of each document;
    a name past the first is asked for."""
    first = True
    while True:
        rel = str(folder / layout.file_name(meta.form_type, meta.title, meta.serial, version, fmt))
        free = rel not in taken and (first or s.scalar(select(ItemRecord.id).where(ItemRecord.rel_path == rel)) is None)
        if free and not (ws.archive / rel).exists():
            return rel, version
        first = False
        version += 1
