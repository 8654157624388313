"""四性检测 (DA/T 70-2018) over the whole archive: 真实性, 完整性, 可用性, 安全性.

- 真实性 (authenticity): each file's size and SHA-256 (SM3 too with ``deep``) match its index row;
  the bytes are the format the row says and the file name's extension agrees; the row itself
  still equals the snapshot recorded in its "file" audit entry.
- 完整性 (integrity): required metadata present; the 档号 agrees with the row's fields; 件号 run
  1…n in every 年度; every indexed file is present; the store holds no unindexed file.
- 可用性 (usability): the format is on the allowed list and the file opens: every file gets the
  cheap container check (see ``formats``); a random sample of ``sample`` files (all of them with
  ``deep``) is opened with the format's own parser.  Parsing costs 10–40 ms a file against well
  under 1 ms for the rest of the checks, so parsing all 10,000 items is the opt-in ``--deep``.
- 安全性 (security): the audit chain is intact, every item has its "file" entry, and nothing
  proves the log once went further than it does now: neither head witness (the file
  ``.ruqi-audit-head`` and the database row, see ``audit``) is missing or names an entry the log
  no longer has, and no index row names an entry beyond the log's end.  A fresh archive (no
  entries, no head) passes.

"The store" is every file under ``archive/`` except: the index database (``ruqi.sqlite`` and its
``-wal``/``-shm``/``-journal`` files), the head file ``.ruqi-audit-head`` (exactly that name,
checked to hold a head record and nothing else) and the journal ``.ruqi-journal.jsonl`` (checked
to hold exactly the log's entries, see ``journal``) at the top level, and ``.ruqi-tmp-*`` files
anywhere (reported as warnings: ``ruqi archive repair`` clears them).  Everything else in it must
be an indexed regular file: a symlink (in place of an archived file or anywhere else) is an
error, and so is the litter file managers leave (``Thumbs.db``, ``desktop.ini``, ``.DS_Store``,
any case) as soon as it holds a byte — a hidden file with content is how something could be
smuggled in.  Empty litter is tolerated: it holds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import stat
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, select

from ..db import session
from ..findings import Finding, Findings, Severity, error, os_reason, warning
from ..forms import GENERATED_FORMS, PER_INSPECTION, FormType
from ..workspace import Workspace
from . import audit, formats, journal
from .audit import AuditCode
from .files import TMP_PREFIX
from .models import AuditRecord, ItemRecord
from .numbering import ArchivalCode
from .store import FIELD_LABELS, snapshot

_LITTER_NAMES = {"thumbs.db", "desktop.ini", ".ds_store"}  # compared in lower case, as Windows does
_DB_SUFFIXES = ("", "-wal", "-shm", "-journal")
DEFAULT_SAMPLE = 20  # files parsed per run without --deep
_GENERATED = {*GENERATED_FORMS, FormType.STATS_REPORT}


class Check(StrEnum):
    AUTHENTICITY = "真实性"
    INTEGRITY = "完整性"
    USABILITY = "可用性"
    SECURITY = "安全性"


class VerifyCode(StrEnum):
    SIZE_MISMATCH = "ARCHIVE_SIZE_MISMATCH"
    HASH_MISMATCH = "ARCHIVE_HASH_MISMATCH"
    SM3_MISMATCH = "ARCHIVE_SM3_MISMATCH"
    FORMAT_MISMATCH = "ARCHIVE_FORMAT_MISMATCH"
    NAME_MISMATCH = "ARCHIVE_NAME_MISMATCH"
    ROW_ALTERED = "ARCHIVE_ROW_ALTERED"
    META_MISSING = "ARCHIVE_META_MISSING"
    CODE_MISMATCH = "ARCHIVE_CODE_MISMATCH"
    PIECE_GAP = "ARCHIVE_PIECE_GAP"
    FILE_MISSING = "ARCHIVE_FILE_MISSING"
    FILE_UNINDEXED = "ARCHIVE_FILE_UNINDEXED"
    TEMP_LEFTOVER = "ARCHIVE_TEMP_LEFTOVER"
    FORMAT_NOT_ALLOWED = "ARCHIVE_FORMAT_NOT_ALLOWED"
    UNREADABLE = "ARCHIVE_UNREADABLE"
    NOT_PDFA = "ARCHIVE_NOT_PDFA"
    ROW_UNLOGGED = "ARCHIVE_ROW_UNLOGGED"
    ROW_DELETED = "ARCHIVE_ROW_DELETED"
    SYMLINK = "ARCHIVE_SYMLINK"  # a symbolic link in the store (in place of an archived file or not)
    NOT_REGULAR = "ARCHIVE_NOT_REGULAR_FILE"  # a FIFO, device or folder where an archived file should be
    LITTER_CONTENT = "ARCHIVE_SYSTEM_FILE_WITH_CONTENT"  # Thumbs.db / desktop.ini / .DS_Store holding bytes

    @property
    def zh(self) -> str:
        """What a page that lists only codes (the last 四性检测's audit entry) shows beside each."""
        return VERIFY_ZH[self]


VERIFY_ZH: dict[VerifyCode, str] = {
    VerifyCode.SIZE_MISMATCH: "文件大小与索引不符", VerifyCode.HASH_MISMATCH: "文件内容被改动（SHA-256 不符）",
    VerifyCode.SM3_MISMATCH: "文件内容被改动（SM3 不符）", VerifyCode.FORMAT_MISMATCH: "文件实际格式与索引不符",
    VerifyCode.NAME_MISMATCH: "文件扩展名与登记格式不符", VerifyCode.ROW_ALTERED: "索引记录与归档时不一致",
    VerifyCode.META_MISSING: "缺少必填元数据", VerifyCode.CODE_MISMATCH: "档号与年度、保管期限、件号不符",
    VerifyCode.PIECE_GAP: "件号不连续", VerifyCode.FILE_MISSING: "索引中的文件不存在",
    VerifyCode.FILE_UNINDEXED: "档案库中有未登记在索引中的文件", VerifyCode.TEMP_LEFTOVER: "中断的归档留下的临时文件",
    VerifyCode.FORMAT_NOT_ALLOWED: "格式不在允许范围", VerifyCode.UNREADABLE: "文件无法读取或打开",
    VerifyCode.NOT_PDFA: "本局生成的 PDF 不是 PDF/A", VerifyCode.ROW_UNLOGGED: "索引记录在审计日志中没有归档条目",
    VerifyCode.ROW_DELETED: "审计日志记载的归档件已不在索引中", VerifyCode.SYMLINK: "档案库中有符号链接",
    VerifyCode.NOT_REGULAR: "归档文件处不是普通文件", VerifyCode.LITTER_CONTENT: "系统隐藏文件含有内容",
}


CHECK_OF: dict[str, Check] = {
    **dict.fromkeys([VerifyCode.SIZE_MISMATCH, VerifyCode.HASH_MISMATCH, VerifyCode.SM3_MISMATCH,
                     VerifyCode.FORMAT_MISMATCH, VerifyCode.NAME_MISMATCH, VerifyCode.ROW_ALTERED,
                     VerifyCode.SYMLINK, VerifyCode.NOT_REGULAR],
                    Check.AUTHENTICITY),
    **dict.fromkeys([VerifyCode.META_MISSING, VerifyCode.CODE_MISMATCH, VerifyCode.PIECE_GAP,
                     VerifyCode.FILE_MISSING, VerifyCode.FILE_UNINDEXED, VerifyCode.TEMP_LEFTOVER,
                     VerifyCode.ROW_DELETED],
                    Check.INTEGRITY),
    **dict.fromkeys([VerifyCode.FORMAT_NOT_ALLOWED, VerifyCode.UNREADABLE, VerifyCode.NOT_PDFA], Check.USABILITY),
    **dict.fromkeys([VerifyCode.ROW_UNLOGGED, VerifyCode.LITTER_CONTENT, *AuditCode, *journal.JournalCode],
                    Check.SECURITY),
}


@dataclass(slots=True)
class VerifyReport:
    findings: Findings = field(default_factory=Findings)
    items: int = 0
    bytes: int = 0
    entries: int = 0
    head: str = ""  # hash of the last audit entry: write it down outside the machine
    seconds: float = 0.0
    deep: bool = False
    parsed: int = 0  # files opened with their own parser

    @property
    def ok(self) -> bool:
        return self.findings.ok

    def by_check(self) -> dict[Check, list[Finding]]:
        out: dict[Check, list[Finding]] = {c: [] for c in Check}
        for f in self.findings:
            out[CHECK_OF.get(f.code, Check.INTEGRITY)].append(f)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "items": self.items, "bytes": self.bytes, "audit_entries": self.entries,
            "audit_head": self.head, "seconds": round(self.seconds, 3), "deep": self.deep,
            "parsed": self.parsed,
            "checks": {str(c): not any(f.is_error for f in fs) for c, fs in self.by_check().items()},
            "findings": [f.to_dict() | {"check": str(CHECK_OF.get(f.code, Check.INTEGRITY))} for f in self.findings],
        }


def verify(ws: Workspace, *, deep: bool = False, sample: int = DEFAULT_SAMPLE, workers: int | None = None) -> VerifyReport:
    """Check every item and the audit chain; nothing is modified (the CLI logs the run)."""
    t0 = time.perf_counter()
    items, log = ItemRecord.__table__, AuditRecord.__table__
    with session(ws) as s:
        # Plain rows, not ORM objects: verify touches every column of every row.
        rows: list[Row] = list(s.execute(select(items).order_by(items.c.year, items.c.piece)))
        entries: list[Row] = list(s.execute(select(log).order_by(log.c.seq)))
        head_in_db = audit.db_head(s)
    rep = VerifyReport(items=len(rows), entries=len(entries), deep=deep,
                       head=entries[-1].hash if entries else audit.GENESIS)
    by_seq = {e.seq: e for e in entries}
    n = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=n) as pool:
        # Files are read and hashed in worker threads (hashlib and file reads release the GIL)
        # while this thread checks rows, 件号 and the audit chain.
        parse = {r.id for r in rows} if deep else {r.id for r in random.sample(rows, max(0, min(sample, len(rows))))}
        rep.parsed = len(parse)
        futures = [pool.submit(_check_files, ws, rows[i::n], deep, parse) for i in range(n)]
        log_findings = [*audit.check_chain(entries), *audit.check_head(ws, by_seq, head_in_db),
                        *audit.check_rows_within(by_seq, (r.audit_seq for r in rows))]
        rep.findings.extend(log_findings)
        rep.findings.extend(journal.check(ws, by_seq, sound=_entry_sound, log_ok=not log_findings))
        for r in rows:
            rep.findings.extend(_check_row(r, by_seq))
        rep.findings.extend(_check_pieces(rows))
        rep.findings.extend(_check_deleted_rows(rows, entries))
        rep.findings.extend(_check_store(ws, {r.rel_path for r in rows}))
        for fut in futures:
            found, nbytes = fut.result()
            rep.findings.extend(found)
            rep.bytes += nbytes
    rep.findings.items.sort(key=lambda f: (list(Check).index(CHECK_OF.get(f.code, Check.INTEGRITY)), f.where))
    rep.seconds = time.perf_counter() - t0
    return rep


def _where(r: Row) -> str:
    return f"{r.archival_code} {r.rel_path}"


def _msg(check: Check, text: str) -> str:
    return f"{check}：{text}"


# ---------------------------------------------------------------- rows (main thread)


def _entry_sound(e: Row) -> bool:
    return audit.entry_hash(e.seq, e.at, e.actor, e.action, e.object, e.details, e.prev_hash) == e.hash


def _check_row(r: Row, by_seq: dict[int, Row]) -> Iterator[Finding]:
    w = _where(r)
    entry = by_seq.get(r.audit_seq)
    expected = audit.canonical({"item": snapshot(r)})
    if entry is None or entry.action != audit.Action.FILE or entry.details != expected:
        yield from _compare_with_entry(r, entry, w)
    missing = [label for label, v in (("题名", r.title), ("责任者", r.responsible), ("日期", r.doc_date),
                                      ("保管期限", r.retention), ("文种", r.form_type)) if not v]
    if r.form_type in PER_INSPECTION:
        missing += [label for label, v in (("检查编号", r.serial), ("企业名称", r.enterprise),
                                           ("统一社会信用代码", r.uscc), ("所属县区", r.county)) if not v]
    if missing:
        yield error(VerifyCode.META_MISSING, _msg(Check.INTEGRITY, f"缺少必填元数据：{'、'.join(missing)}。"), w)
    code = ArchivalCode.parse(r.archival_code)
    if code is None or (code.year, code.retention, code.piece) != (r.year, r.retention, r.piece):
        yield error(VerifyCode.CODE_MISMATCH, _msg(
            Check.INTEGRITY, f"档号“{r.archival_code}”与年度 {r.year}、保管期限 {r.retention}、件号 {r.piece:04d} 不符。"), w)
    if r.format not in formats.ALLOWED:
        yield error(VerifyCode.FORMAT_NOT_ALLOWED, _msg(Check.USABILITY, f"格式“{r.format}”不在允许范围（{'、'.join(formats.ALLOWED)}）。"), w)
    ext = r.rel_path.rpartition("/")[2].rpartition(".")[2].lower()
    if ext != r.format:
        yield error(VerifyCode.NAME_MISMATCH, _msg(Check.AUTHENTICITY, f"文件扩展名“.{ext}”与登记格式“{r.format}”不符。"), w)
    if r.format == "pdf" and r.form_type in _GENERATED and not r.format_version.startswith("PDF/A"):
        yield warning(VerifyCode.NOT_PDFA, _msg(Check.USABILITY, "本局生成的 PDF 不是 PDF/A 长期保存格式。"), w)


def _compare_with_entry(r: Row, entry: Row | None, w: str) -> Iterator[Finding]:
    """The slow path, taken only when the row's snapshot text differs from its entry's."""
    try:
        recorded = json.loads(entry.details).get("item") if entry and entry.action == audit.Action.FILE else None
    except (ValueError, AttributeError):
        recorded = None
    if not isinstance(recorded, dict) or recorded.get("id") != r.id:
        yield error(VerifyCode.ROW_UNLOGGED, _msg(Check.SECURITY, f"索引记录在审计日志中没有对应的归档条目（第{r.audit_seq}条）。"), w)
        return
    now = json.loads(audit.canonical(snapshot(r)))
    diffs = [k for k in sorted(set(now) | set(recorded)) if now.get(k) != recorded.get(k)]
    if diffs:
        detail = "；".join(f"{FIELD_LABELS.get(k, k)} 现为“{now.get(k)}”，归档时为“{recorded.get(k)}”" for k in diffs[:5])
        yield error(VerifyCode.ROW_ALTERED, _msg(Check.AUTHENTICITY, f"索引记录与归档时的记录不一致：{detail}。"), w)


def _check_pieces(rows: Iterable[Row]) -> Iterator[Finding]:
    by_year: dict[int, list[int]] = defaultdict(list)
    for r in rows:
        by_year[r.year].append(r.piece)
    for year, pieces in sorted(by_year.items()):
        have = set(pieces)
        gaps = [p for p in range(1, max(pieces) + 1) if p not in have]
        if gaps:
            shown = "、".join(f"{p:04d}" for p in gaps[:20]) + ("…" if len(gaps) > 20 else "")
            yield error(VerifyCode.PIECE_GAP, _msg(Check.INTEGRITY, f"{year} 年度件号不连续，缺少：{shown}（共 {len(gaps)} 个）。"),
                        f"{year} 年度")


def _check_deleted_rows(rows: Iterable[Row], entries: Iterable[Row]) -> Iterator[Finding]:
    ids = {r.id for r in rows}
    referenced = {r.audit_seq for r in rows}
    for e in entries:
        if e.action != audit.Action.FILE or e.seq in referenced:
            continue
        try:
            item = json.loads(e.details).get("item")
        except (ValueError, AttributeError):
            continue  # an unparsable entry is already reported by the chain check
        if isinstance(item, dict) and item.get("id") not in ids:
            yield error(VerifyCode.ROW_DELETED, _msg(
                Check.INTEGRITY, f"审计日志第{e.seq}条记载归档了 {e.object}，但索引中已没有这一件。"), f"日志第{e.seq}条")


# ---------------------------------------------------------------- files (worker threads)


def _check_files(ws: Workspace, rows: list[Row], deep: bool, parse: set[int]) -> tuple[list[Finding], int]:
    found: list[Finding] = []
    total = 0
    root = str(ws.archive)
    for r in rows:
        path = f"{root}/{r.rel_path}"
        try:
            kind = _not_regular(os.lstat(path).st_mode)
            if kind is not None:
                found.append(_not_regular_finding(kind, _where(r), indexed=True))
                continue
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            found.append(error(VerifyCode.FILE_MISSING, _msg(Check.INTEGRITY, "索引中的文件不存在。"), _where(r)))
            continue
        except OSError as e:
            found.append(error(VerifyCode.UNREADABLE, _msg(Check.USABILITY, f"文件无法读取：{os_reason(e)}。"), _where(r)))
            continue
        total += len(data)
        found.extend(_check_bytes(r, data, deep, r.id in parse))
    return found, total


def _check_bytes(r: Row, data: bytes, deep: bool, parse: bool) -> Iterator[Finding]:
    w = _where(r)
    if len(data) != r.size:
        yield error(VerifyCode.SIZE_MISMATCH, _msg(Check.AUTHENTICITY, f"文件大小 {len(data)} 字节，索引记录为 {r.size} 字节。"), w)
    sha = hashlib.sha256(data).hexdigest()
    if sha != r.sha256:
        yield error(VerifyCode.HASH_MISMATCH, _msg(Check.AUTHENTICITY, f"SHA-256 为 {sha[:16]}…，索引记录为 {r.sha256[:16]}…（文件内容被改动）。"), w)
    if deep and r.sm3:
        sm3 = hashlib.new("sm3", data).hexdigest()
        if sm3 != r.sm3:
            yield error(VerifyCode.SM3_MISMATCH, _msg(Check.AUTHENTICITY, f"SM3 为 {sm3[:16]}…，索引记录为 {r.sm3[:16]}…。"), w)
    actual = formats.sniff(data, r.rel_path)
    if actual != r.format:
        yield error(VerifyCode.FORMAT_MISMATCH, _msg(Check.AUTHENTICITY, f"文件实际格式为“{actual or '无法识别'}”，索引记录为“{r.format}”。"), w)
        return
    problem = formats.check_opens(r.format, data) if parse else formats.check_structure(r.format, data)
    if problem:
        yield error(VerifyCode.UNREADABLE, _msg(Check.USABILITY, f"文件无法打开：{problem}。"), w)


# ---------------------------------------------------------------- the store


def _check_store(ws: Workspace, indexed: set[str]) -> Iterator[Finding]:
    skip_top = _db_file_names(ws)
    for rel, name, st in _walk(str(ws.archive), ""):
        top = rel == name
        if top and (name in skip_top or name in (audit.HEAD_NAME, journal.JOURNAL_NAME)):
            continue  # their content is audit.check_head's and journal.check's business
        kind = _not_regular(st.st_mode)
        if kind is not None:
            if rel not in indexed:  # an indexed path is reported by the file check, with its 档号
                yield _not_regular_finding(kind, rel, indexed=False)
        elif name.startswith(TMP_PREFIX):
            yield warning(VerifyCode.TEMP_LEFTOVER, _msg(Check.INTEGRITY, "中断的归档留下的临时文件，请运行 ruqi archive repair。"), rel)
        elif name.lower() in _LITTER_NAMES and rel not in indexed:
            if st.st_size:
                yield error(VerifyCode.LITTER_CONTENT, _msg(
                    Check.SECURITY, f"档案库中的系统文件 {name} 含有 {st.st_size} 字节内容：这种隐藏文件不在索引中，"
                    "可能被用来夹带文件。请打开核对，确认是文件管理器生成的缓存后删除（空文件不报告）。"), rel)
        elif rel not in indexed:
            extra = "（只有 .ruqi-audit-head 本身是本系统的文件）" if top and name.startswith(audit.HEAD_NAME) else ""
            yield error(VerifyCode.FILE_UNINDEXED, _msg(Check.INTEGRITY, f"档案库中有未登记在索引中的文件{extra}。"), rel)


def _walk(path: str, prefix: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(posix path relative to archive/, name, lstat) of every entry but real folders, which are
    walked into; symlinks (to folders too) are listed, never followed."""
    with os.scandir(path) as it:
        for e in it:
            rel = f"{prefix}{e.name}"
            if e.is_dir(follow_symlinks=False):
                yield from _walk(e.path, rel + "/")
            else:
                yield rel, e.name, e.stat(follow_symlinks=False)


def _not_regular(mode: int) -> str | None:
    """None for a regular file; else what it is, in Chinese."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "符号链接"
    if stat.S_ISDIR(mode):
        return "文件夹"
    if stat.S_ISFIFO(mode):
        return "管道（FIFO）"
    return "特殊文件"


def _not_regular_finding(kind: str, where: str, *, indexed: bool) -> Finding:
    if kind == "符号链接":
        text = ("归档文件被替换成了符号链接：链接指向的内容不是归档时保存的原件。" if indexed
                else "档案库中有符号链接：档案库只能存放原件，链接可以把库外的内容混入档案。")
        return error(VerifyCode.SYMLINK, _msg(Check.AUTHENTICITY, text + "请删除链接并从备份恢复原件。"), where)
    text = f"归档文件的位置上是一个{kind}，不是普通文件。" if indexed else f"档案库中有一个{kind}，不是普通文件。"
    return error(VerifyCode.NOT_REGULAR, _msg(Check.AUTHENTICITY, text), where)


def _db_file_names(ws: Workspace) -> set[str]:
    url = ws.database_url
    if not url.startswith("sqlite"):
        return set()
    name = url.rsplit("/", 1)[-1]
    return {name + s for s in _DB_SUFFIXES}


def code_zh(code: str) -> str:
    """The Chinese name of a code a 四性检测 reports (``提示代码`` of its audit entry), or "" for one this
    release does not know (an entry written by a later release)."""
    for enum in (VerifyCode, AuditCode, journal.JournalCode, audit.IndexCode):
        if code in enum.__members__.values():
            return enum(code).zh
    return ""


__all__ = ["CHECK_OF", "Check", "Severity", "VerifyCode", "VerifyReport", "code_zh", "verify"]


def verify_and_record(ws: Workspace, *, deep: bool = False, sample: int = DEFAULT_SAMPLE,
                      actor: str | None = None) -> tuple[VerifyReport, Finding | None]:
    """``verify``, then its result as a ``verify`` audit entry (the CLI and the web page run this),
    and whether the database is behind the archive (then no entry may be appended: the second value
    says why, and nothing is logged until repair)."""
    rep = verify(ws, deep=deep, sample=sample)
    behind = audit.index_state(ws)
    if behind is None:
        audit.log_action(ws, audit.Action.VERIFY, "archive", actor=actor, details={
            "ok": rep.ok, "items": rep.items, "deep": deep, "head": rep.head,
            "codes": sorted({f.code for f in rep.findings}),
            "checks": {str(c): not any(f.is_error for f in fs) for c, fs in rep.by_check().items()},
        })
    return rep, behind
