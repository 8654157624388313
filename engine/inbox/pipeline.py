"""The ingest loop: every file in ``inbox/`` ends in exactly one place, with one typed outcome.

Per file, in this order (paperless-ngx's consumer, in small steps):

1. **claim**: rename the file into this run's ``.processing/`` directory (``engine.inbox.claim``);
   files a dead run left there are adopted first;
2. **hash + duplicate check**: SHA-256; bytes already in the archive are ``duplicate`` (or, for a
   file a killed run had filed, ``filed`` again without filing twice);
3. **examine** (in a process pool, no database): preflight, classify, read
   (``engine.inbox.examine``);
4. **validate** against the register (``engine.inbox.validate``);
5. **file**: in ONE transaction the archive item and the register's card columns; the claimed
   copy is deleted only after the commit.  Or **shelve**: ``rejected/`` or ``needs_review/``
   with ``<name>.reason.txt`` and ``<name>.reason.json``.

Where each status lives:

- ``filed``: archive (form type ``card_returned``, or ``other`` when the serial matches no
  inspection) and, for a known serial, the register's ``card_*`` columns;
- ``needs_review``: in the archive with flag ``NEEDS_REVIEW`` when the archive accepts its
  format (PDF, docx); a JPG/PNG/TIFF photo, which the archive does not take, waits in
  ``inbox/needs_review/`` with its reason files;
- ``rejected``: ``inbox/rejected/``, byte-identical, with its reason files;
- ``duplicate``: the bytes are already archived (or already waiting in ``needs_review/``); the
  copy is deleted and the receipt is written to the audit log.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import session
from ..findings import Finding, Findings, error
from ..readback import CardReading, ReadMethod
from ..readback.common import QUESTION_COUNT
from ..register import Visit, by_serial
from ..workspace import Workspace
from .claim import Claimed, Run
from .codes import Flag, Kind, Reason, Status
from .examine import Examination, examine
from .shelve import NEEDS_REVIEW_DIR, finding_dicts, held_index, now_iso, sha256_of, target_for, write_reasons
from .validate import CardCheck, check_card

Progress = Callable[[int, int], None]
GENERATED_TYPES = ("card_generated", "notice", "notice_board")
RETURNED_TYPES = ("card_returned", "other", "stats_table")
ARCHIVABLE_CONTENT = ("pdf", "docx", "xlsx", "xls")
BACKSTOP_EXTRA_S = 15.0  # the pool kills a worker this long after its SIGALRM should have fired


@dataclass(slots=True)
class Outcome:
    """What happened to one file; ``to_json`` is the ``ruqi ingest --json`` contract."""

    file: str
    sha256: str
    status: Status
    kind: Kind = Kind.UNKNOWN
    serial: str | None = None
    answers: dict[str, str | None] = field(default_factory=lambda: {str(i): None for i in range(1, QUESTION_COUNT + 1)})
    flags: list[str] = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)
    location: str = ""  # archive-relative path, or the path under inbox/
    archival_code: str = ""
    item_id: int | None = None
    duplicate_of: str = ""  # 档号 or needs_review path the bytes duplicate
    recovered: bool = False  # finished after a killed run had already filed it

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "sha256": self.sha256, "status": str(self.status), "kind": str(self.kind),
            "serial": self.serial, "answers": self.answers, "flags": list(self.flags),
            "errors": [{"code": f.code, "message": f.message, "where": f.where, "severity": str(f.severity)}
                       for f in self.findings],
            "location": self.location, "archival_code": self.archival_code or None,
            "duplicate_of": self.duplicate_of or None,
        }


@dataclass(slots=True)
class IngestReport:
    run: str
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(o.status is status for o in self.outcomes)

    def by_file(self) -> dict[str, Outcome]:
        return {o.file: o for o in self.outcomes}


@dataclass(slots=True)
class Item:
    claim: Claimed
    sha256: str
    size: int
    received_at: datetime

    @property
    def name(self) -> str:
        return self.claim.name


# ---------------------------------------------------------------- the loop


def ingest(
    ws: Workspace,
    *,
    names: Sequence[str] | None = None,
    workers: int | None = None,
    actor: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Handle every file in the inbox (or only ``names``) once; see the module docstring."""
    _archive_ready(ws)
    with Run(ws.inbox) as run:
        report = IngestReport(run.id)
        claims = run.adopt_orphans() + run.claim_inbox(set(names) if names is not None else None)
        items = [_prepare(c, now) for c in claims]
        todo: list[Item] = []
        for it, known in zip(items, _known_bytes(ws, items), strict=True):
            out = _already_known(ws, run, it, known, actor) if known else None
            if out is not None:
                report.outcomes.append(out)
            else:
                todo.append(it)
        total, done = len(items), len(report.outcomes)
        for it, ex in _examine_all(ws, todo, workers, run):
            report.outcomes.append(_finish(ws, run, it, ex, actor))
            done += 1
            if progress is not None:
                progress(done, total)
    return report


def _prepare(c: Claimed, now: datetime | None) -> Item:
    st = c.path.stat()
    # The file's own time is the best evidence of arrival (it survives a clerk dropping a day's
    # mail in the evening); a clock in the future is capped at now.
    moment = now or datetime.now()
    received = min(datetime.fromtimestamp(st.st_mtime), moment)
    return Item(c, sha256_of(c.path), st.st_size, received)


def _archive_ready(ws: Workspace) -> None:
    # The archive repairs interrupted filings on its first use in a process, in a transaction of
    # its own; doing it now keeps that from happening inside our filing transaction.
    from ..archive import store

    store._repair_once(ws)


# ---------------------------------------------------------------- duplicates


@dataclass(frozen=True, slots=True)
class Known:
    kind: str  # "archive" / "held"
    form_type: str = ""
    archival_code: str = ""
    item_id: int = 0
    original_name: str = ""
    location: str = ""
    serial: str = ""
    flags: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None


def _known_bytes(ws: Workspace, items: list[Item]) -> list[Known | None]:
    from ..archive.models import ItemRecord

    if not items:
        return []
    shas = sorted({it.sha256 for it in items})
    found: dict[str, Known] = {}
    with session(ws) as s:
        for k in range(0, len(shas), 500):
            for r in s.scalars(select(ItemRecord).where(ItemRecord.sha256.in_(shas[k:k + 500])).order_by(ItemRecord.id)):
                prev = found.get(r.sha256)
                # A returned copy wins over a generated one: that is what the clerk dropped before.
                if prev is None or (prev.form_type in GENERATED_TYPES and r.form_type not in GENERATED_TYPES):
                    found[r.sha256] = Known("archive", r.form_type, r.archival_code, r.id, r.original_name, r.rel_path,
                                            r.serial, tuple(r.flags or ()), dict(r.extra or {}))
    held = held_index(ws.inbox / NEEDS_REVIEW_DIR)
    for sha, p in held.items():
        found.setdefault(sha, Known("held", location=str(p.relative_to(ws.root))))
    return [found.get(it.sha256) for it in items]


def _already_known(ws: Workspace, run: Run, it: Item, k: Known, actor: str | None) -> Outcome | None:
    from ..archive import log_action

    if k.kind == "archive" and k.form_type in GENERATED_TYPES:
        rej = Outcome(it.name, it.sha256, Status.REJECTED, kind=Kind.FEEDBACK_CARD if k.form_type == "card_generated" else Kind.UNKNOWN,
                      serial=k.serial or None)
        rej.findings.add(error(Reason.GENERATED_COPY, f"这是本局生成的空白文书（{k.archival_code}）原件，不是企业交回的反馈卡。"
                                                      f"请放入企业填写后交回的文件。"))
        return _reject(ws, run, it, rej, None, actor)
    out = Outcome(it.name, it.sha256, Status.DUPLICATE, duplicate_of=k.archival_code or k.location, location=k.location)
    extra = k.extra or {}
    if extra:
        out.kind = Kind(extra.get("kind", Kind.UNKNOWN)) if extra.get("kind") in set(Kind) else Kind.UNKNOWN
        out.serial = extra.get("serial_read") or k.serial or None
        if isinstance(extra.get("answers"), dict):
            out.answers = {str(i): extra["answers"].get(str(i)) for i in range(1, QUESTION_COUNT + 1)}
        out.flags = list(k.flags)
    if it.claim.adopted and k.original_name == it.name:
        # A killed run filed it and died before deleting its claim: report what it did.
        out.status = Status(extra.get("status", Status.FILED)) if extra.get("status") in set(Status) else Status.FILED
        out.archival_code, out.item_id, out.recovered, out.duplicate_of = k.archival_code, k.item_id, True, ""
        _refresh_after_recovery(ws, k)
        run.release(it.claim)
        return out
    out.findings.add(error("DUPLICATE", f"相同内容的文件已经收过（{out.duplicate_of}），本次不重复归档。", "文件"))
    log_action(ws, "receive", it.name, actor=actor,
               details={"sha256": it.sha256, "status": "duplicate", "duplicate_of": out.duplicate_of, "run": run.id})
    run.release(it.claim)
    return out


def _refresh_after_recovery(ws: Workspace, k: Known) -> None:
    if k.form_type != "card_returned" or not k.serial:
        return
    with session(ws) as s:
        v = by_serial(s, k.serial)
        if v is not None:
            refresh_visit(s, v)


# ---------------------------------------------------------------- examining (process pool)


def _examine_all(ws: Workspace, items: list[Item], workers: int | None, run: Run) -> Iterator[tuple[Item, Examination]]:
    limits, key, root = ws.config.limits, ws.key, ws.root
    n = workers if workers is not None else min(os.cpu_count() or 1, 4)
    # Even a single file is read in a child process: a hostile file can then neither take the
    # engine's memory nor hang it.
    yield from _pooled(items, max(1, n), root, key, limits, run.lock_fd)


def _worker_init(lock_fd: int | None) -> None:
    # Forked children must not touch the parent's database connections or keep its claim lock.
    if lock_fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    from ..db import _ENGINES

    for eng in _ENGINES.values():
        eng.dispose(close=False)
    _limit_memory()


WORKER_MEMORY_BYTES = 3 << 30


def _limit_memory() -> None:
    # A decompression bomb inside a PDF stream would otherwise take all the machine's memory;
    # with a cap it becomes a MemoryError (→ UNREADABLE) in the worker only.
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = WORKER_MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(WORKER_MEMORY_BYTES, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _examine_call(path: str, name: str, root: str, key: bytes, limits: Any) -> Examination:
    return examine(Path(path), name, Path(root), key, limits)


def _pooled(items: list[Item], n: int, root: Path, key: bytes, limits: Any,
            lock_fd: int | None) -> Iterator[tuple[Item, Examination]]:
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    backstop = limits.max_seconds_per_file + BACKSTOP_EXTRA_S
    pending = list(items)
    while pending:
        pool = ctx.Pool(min(n, len(pending)), initializer=_worker_init, initargs=(lock_fd,))
        try:
            jobs = [(it, pool.apply_async(_examine_call, (str(it.claim.path), it.name, str(root), key, limits)))
                    for it in pending]
            pending = []
            for k, (it, job) in enumerate(jobs):
                try:
                    ex = job.get(timeout=backstop)
                except mp.TimeoutError:
                    yield it, _timed_out(limits)
                    pending = [j_it for j_it, _ in jobs[k + 1:]]  # the pool is wedged: start a new one
                    break
                except Exception as e:  # the worker died (killed by the OOM killer, segfault in a C library)
                    ex = Examination(findings=[error(Reason.UNREADABLE, f"读取文件时处理进程异常退出（{type(e).__name__}），"
                                                                          f"文件可能被恶意构造，已拒收。")])
                yield it, ex
        finally:
            pool.terminate()
            pool.join()


def _timed_out(limits: Any) -> Examination:
    return Examination(findings=[error(Reason.TIME_LIMIT, f"读取超过 {limits.max_seconds_per_file:g} 秒仍未完成，已拒收。")])


# ---------------------------------------------------------------- finishing one file (main process)


def _finish(ws: Workspace, run: Run, it: Item, ex: Examination, actor: str | None) -> Outcome:
    out = Outcome(it.name, it.sha256, Status.REJECTED, kind=ex.kind)
    out.findings.extend(ex.findings)
    if ex.reading is not None:
        out.serial = ex.reading.serial
        out.answers = ex.reading.answers_json()
    if ex.rejected:
        return _reject(ws, run, it, out, ex, actor)
    if ex.kind is Kind.FEEDBACK_CARD or (ex.reading is not None and ex.reading.method is ReadMethod.IMAGE):
        return _file_card(ws, run, it, out, ex, actor)
    if ex.kind.name.startswith("STATS_TABLE"):
        return _file_stats(ws, run, it, out, ex, actor)
    out.findings.add(error(Reason.NOT_A_CARD, "无法判断这是什么文件，已退回。"))
    return _reject(ws, run, it, out, ex, actor)


def _reject(ws: Workspace, run: Run, it: Item, out: Outcome, ex: Examination | None, actor: str | None) -> Outcome:
    from ..archive import log_action

    out.status = Status.REJECTED
    target, there = target_for(ws.rejected, it.name, it.sha256)
    record = _record(it, out, run, target)
    if ex is not None and ex.crash:
        record["crash"] = ex.crash
    if not there:
        write_reasons(target, record, "已退回，未归档（原文件保持原样）",
                      "按上述原因处理后，把改好的文件重新放入收件箱即可；本文件可删除。")
        run.move_out(it.claim, target)
    else:
        run.release(it.claim)
    out.location = str(target.relative_to(ws.root))
    log_action(ws, "reject", it.name, actor=actor,
               details={"sha256": it.sha256, "codes": out.findings.codes(), "stored_as": out.location, "run": run.id})
    return out


def _record(it: Item, out: Outcome, run: Run, target: Path) -> dict[str, Any]:
    return {
        "file": it.name, "stored_as": target.name, "sha256": it.sha256, "size": it.size,
        "received_at": it.received_at.isoformat(timespec="seconds"), "handled_at": now_iso(),
        "status": str(out.status), "kind": str(out.kind), "serial": out.serial, "flags": out.flags,
        "codes": out.findings.codes(), "errors": finding_dicts(list(out.findings)), "run": run.id,
    }


# ---- feedback cards


def _file_card(ws: Workspace, run: Run, it: Item, out: Outcome, ex: Examination, actor: str | None) -> Outcome:
    reading = ex.reading
    assert reading is not None
    with session(ws) as s:
        visit = by_serial(s, reading.serial) if reading.serial else None
        check = check_card(reading, visit, it.received_at, ws.config.late_days)
        out.findings.extend(check.findings)
        out.flags = list(check.flags)
        out.status = Status.NEEDS_REVIEW if check.needs_review else Status.FILED
        if ex.content not in ARCHIVABLE_CONTENT or not _archive_accepts(ex.content):
            _hold_in_session(s, visit, it, check)
        else:
            row = _archive_card(ws, s, it, reading, check, visit, out, actor, ex.content)
            out.archival_code, out.item_id, out.location = row.archival_code, row.id, row.rel_path
            if visit is not None:
                refresh_visit(s, visit)
    if out.location:
        run.release(it.claim)
        return out
    return _hold(ws, run, it, out)


def _archive_accepts(content: str) -> bool:
    from ..archive.formats import ALLOWED

    return content in ALLOWED


def _archive_card(ws: Workspace, s: Session, it: Item, reading: CardReading, check: CardCheck, visit: Visit | None,
                  out: Outcome, actor: str | None, content: str) -> Any:
    from ..archive import ItemMeta, file_item

    enterprise = visit.enterprise if visit else (reading.enterprise or "未知单位")
    meta = ItemMeta(
        form_type="card_returned" if visit else "other",
        title=f"{enterprise}入企检查监督反馈卡（回收）",
        responsible=enterprise,
        date=it.received_at.date(),
        year=visit.year if visit else it.received_at.year,
        serial=visit.serial if visit else "",
        enterprise=visit.enterprise if visit else reading.enterprise,
        uscc=visit.uscc if visit else (reading.qr.uscc if reading.qr else ""),
        county=visit.county if visit else "",
        original_name=it.name,
        flags=list(check.flags),
        received_at=it.received_at,
        extra=card_extra(reading, check, out),
    )
    return file_item(ws, it.claim.path, meta, actor=actor, session=s)


def card_extra(reading: CardReading, check: CardCheck, out: Outcome) -> dict[str, Any]:
    """What the archive keeps about a returned card beyond its bytes (read by the 纪委 review)."""
    qr = reading.qr
    return {
        "kind": str(Kind.FEEDBACK_CARD), "status": str(out.status), "answers": reading.answers_json(),
        "violations": check.violations, "read_method": str(reading.method), "serial_read": reading.serial,
        "printed_serial": reading.printed_serial,
        "qr": {"serial": qr.serial, "uscc": qr.uscc, "valid": qr.valid} if qr else None,
        "enterprise_read": reading.enterprise, "head": reading.head, "position": reading.position,
        "phone": reading.phone, "stated_visit_total": reading.stated_visit_total,
        "stated_visit_kind": reading.stated_visit_kind,
        "codes": [f.code for f in out.findings], "errors": finding_dicts(list(out.findings)),
        "sha256": out.sha256,
    }


def _hold_in_session(s: Session, visit: Visit | None, it: Item, check: CardCheck) -> None:
    # A photo the archive cannot take still tells the register that the card came back.
    if visit is not None and visit.card_status == "none":
        visit.card_status = "needs_review"
        visit.card_received_at = it.received_at
        visit.card_flags = list(check.flags)


def _hold(ws: Workspace, run: Run, it: Item, out: Outcome) -> Outcome:
    directory = ws.inbox / NEEDS_REVIEW_DIR
    directory.mkdir(exist_ok=True)
    target, there = target_for(directory, it.name, it.sha256)
    if Flag.NEEDS_REVIEW not in out.flags:
        out.flags.append(str(Flag.NEEDS_REVIEW))
    out.status = Status.NEEDS_REVIEW
    if not there:
        write_reasons(target, _record(it, out, run, target), "待人工核对（归档系统暂不接收图片格式，原文件保存在此）",
                      "请打开图片核对十个问题的回答；核对后可让企业补交 PDF，或由纪委在审查中记录。")
        run.move_out(it.claim, target)
    else:
        run.release(it.claim)
    out.location = str(target.relative_to(ws.root))
    return out


def refresh_visit(s: Session, visit: Visit) -> None:
    """Recompute the register's card columns from every returned card filed for this serial.

    Idempotent (a rerun after a crash gives the same result).  The latest filed version counts;
    ``REVISED`` marks a serial with several versions and ``VIOLATION_WITHDRAWN`` one whose
    earlier version answered 是 where the latest does not, so the review still sees it.
    """
    from ..archive.models import ItemRecord

    rows = s.scalars(select(ItemRecord).where(ItemRecord.serial == visit.serial,
                                              ItemRecord.form_type == "card_returned").order_by(ItemRecord.id)).all()
    if not rows:
        return
    latest = rows[-1]
    extra = dict(latest.extra or {})
    flags = list(latest.flags or [])
    if len(rows) > 1:
        flags.append("REVISED")
        if Flag.VIOLATION not in flags and any(Flag.VIOLATION in (r.flags or []) for r in rows[:-1]):
            flags.append("VIOLATION_WITHDRAWN")
    visit.card_status = "needs_review" if extra.get("status") == Status.NEEDS_REVIEW else "received"
    visit.card_received_at = latest.received_at
    visit.card_version = len(rows)
    visit.card_answers = dict(extra.get("answers") or {})
    visit.card_flags = flags


# ---- statistics tables


def _file_stats(ws: Workspace, run: Run, it: Item, out: Outcome, ex: Examination, actor: str | None) -> Outcome:
    from . import stats_adapter

    sub = ex.stats
    if sub is not None:
        sub.path = it.claim.path  # read in a worker: same file, but make sure accept files this one
    try:
        res = stats_adapter.accept(ws, sub, it.received_at, actor)
    except Exception as e:  # the stats desk refused it: shelve with its reason, never lose it
        out.findings.add(error(Reason.STATS_REJECTED, f"统计表未能入库：{e}"))
        return _reject(ws, run, it, out, ex, actor)
    out.status = Status.FILED
    out.flags = sorted({f.code for f in out.findings if not f.is_error})
    out.archival_code = getattr(res, "archival_code", "") or ""
    out.location = getattr(res, "rel_path", "") or ""
    run.release(it.claim)
    return out


def findings_of(outcomes: list[Outcome]) -> list[Finding]:
    return [f for o in outcomes for f in o.findings]
