"""Finishing files: filing, shelving, recognising duplicates, in batched transactions.

``Batch`` holds one database transaction for up to ``BATCH_SIZE`` files.  Everything that
touches the database (archive item, register columns, audit entries) happens inside it, each
file in its own SAVEPOINT so one refused file does not undo the others; everything that moves a
claimed file out of the run directory (delete after filing, move to ``rejected/`` or
``needs_review/``) is *deferred until after the commit*.  So a crash at any moment leaves each
file either still claimed (the next run redoes it; its uncommitted rows never existed) or done.
Reason files are written before the commit: a redo rewrites them under the same name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..db import get_engine
from ..findings import RuqiError, Severity, error
from ..readback import ReadMethod
from ..register import by_serial
from ..workspace import Workspace
from . import stats_adapter
from .cards import card_meta, note_held, refresh_visit
from .claim import Claimed, Run
from .codes import Flag, Kind, Reason, Status
from .examine import Examination
from .outcome import Outcome
from .shelve import NEEDS_REVIEW_DIR, finding_dicts, now_iso, target_for, write_reasons
from .validate import check_card

BATCH_SIZE = 25
BATCH_SECONDS = 2.0  # commit at least this often, so `ruqi watch` files promptly
GENERATED_TYPES = ("card_generated", "notice", "notice_board")
ARCHIVABLE_CONTENT = ("pdf", "docx", "xlsx", "xls")


@dataclass(slots=True)
class Item:
    claim: Claimed
    sha256: str
    size: int
    received_at: datetime
    source: dict[str, Any] | None = None  # provenance when it arrived by e-mail (engine.provenance)

    @property
    def name(self) -> str:
        return self.claim.name


@dataclass(frozen=True, slots=True)
class Known:
    """Bytes seen before: an archive item, or a photo waiting in needs_review/."""

    kind: str  # "archive" / "held"
    form_type: str = ""
    archival_code: str = ""
    item_id: int = 0
    original_name: str = ""
    location: str = ""
    serial: str = ""
    flags: tuple[str, ...] = ()
    extra: dict[str, Any] | None = None


class Batch:
    def __init__(self, ws: Workspace, run: Run, actor: str | None,
                 on_outcome: Callable[[Outcome], None] | None = None):
        self.ws, self.run, self.actor = ws, run, actor
        self._on_outcome = on_outcome
        self._done: list[Outcome] = []
        self._maker = sessionmaker(get_engine(ws), expire_on_commit=False)
        self._s: Session | None = None
        self._after: list[Callable[[], None]] = []
        self._reserved: dict[Path, str] = {}
        self._files = 0
        self._started = 0.0

    # ---- transaction

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        elif self._s is not None:
            self._s.rollback()
            self._s.close()
            self._s = None

    @property
    def s(self) -> Session:
        if self._s is None:
            self._s = self._maker()
            self._s.begin()
            self._started = time.monotonic()
        return self._s

    def commit(self) -> None:
        if self._s is not None:
            self._s.commit()
            self._s.close()
            self._s = None
        after, self._after, self._reserved, self._files = self._after, [], {}, 0
        for action in after:
            action()
        done, self._done = self._done, []
        if self._on_outcome is not None:
            for out in done:
                self._on_outcome(out)

    def done(self, out: Outcome) -> Outcome:
        """Note an outcome; it is reported to ``on_outcome`` once its transaction has committed."""
        self._done.append(out)
        return out

    def maybe_commit(self) -> None:
        self._files += 1
        if self._files >= BATCH_SIZE or (self._s is not None and time.monotonic() - self._started > BATCH_SECONDS):
            self.commit()

    def _release(self, it: Item) -> None:
        self._after.append(lambda c=it.claim: self.run.release(c))

    # ---- outcomes

    def finish(self, it: Item, ex: Examination) -> Outcome:
        out = Outcome(it.name, it.sha256, Status.REJECTED, kind=ex.kind)
        out.findings.extend(ex.findings)
        if ex.reading is not None:
            out.serial = ex.reading.serial
            out.answers = ex.reading.answers_json()
        if ex.rejected:
            return self.reject(it, out, ex.crash, stats=ex.stats)
        if ex.kind is Kind.FEEDBACK_CARD or (ex.reading is not None and ex.reading.method is ReadMethod.IMAGE):
            return self.file_card(it, out, ex)
        if ex.kind.name.startswith("STATS_TABLE"):
            return self.file_stats(it, out, ex)
        out.findings.add(error(Reason.NOT_A_CARD, "无法判断这是什么文件，已退回。"))
        return self.reject(it, out)

    def reject(self, it: Item, out: Outcome, crash: str = "", stats: Any = None) -> Outcome:
        """``stats``: what the stats desk read, for a statistics workbook (its unit then shows 已退回)."""
        from ..archive import log_action

        out.status = Status.REJECTED
        self._shelve(it, out, self.ws.rejected, "已退回，未归档（原文件保持原样）",
                     "按上述原因处理后，把改好的文件重新放入收件箱即可；本文件可删除。", crash)
        if stats is not None:
            stats_adapter.note_rejected(self.ws, stats, out.findings, it.received_at, it.name, out.location or "",
                                        self.actor, self.s)
        log_action(self.ws, "reject", it.name, actor=self.actor, session=self.s,
                   details={"sha256": it.sha256, "codes": out.findings.codes(), "stored_as": out.location,
                            "run": self.run.id})
        return out

    def hold(self, it: Item, out: Outcome) -> Outcome:
        if Flag.NEEDS_REVIEW not in out.flags:
            out.flags.append(str(Flag.NEEDS_REVIEW))
        out.status = Status.NEEDS_REVIEW
        directory = self.ws.inbox / NEEDS_REVIEW_DIR
        directory.mkdir(exist_ok=True)
        self._shelve(it, out, directory, "待人工核对（归档系统暂不接收图片格式，原文件保存在此）",
                     "请打开图片核对十个问题的回答；核对后可让企业补交 PDF，或由纪委在审查中记录。")
        return out

    def _shelve(self, it: Item, out: Outcome, directory: Path, heading: str, advice: str, crash: str = "") -> Path:
        target, there = target_for(directory, it.name, it.sha256, self._reserved)
        self._reserved[target] = it.sha256
        out.location = str(target.relative_to(self.ws.root))
        if there:
            self._release(it)  # identical bytes already shelved under this name
            return target
        record = {
            "file": it.name, "stored_as": target.name, "sha256": it.sha256, "size": it.size,
            "received_at": it.received_at.isoformat(timespec="seconds"), "handled_at": now_iso(),
            "status": str(out.status), "kind": str(out.kind), "serial": out.serial, "flags": out.flags,
            "codes": out.findings.codes(), "errors": finding_dicts(list(out.findings)), "run": self.run.id,
        }
        if crash:
            record["crash"] = crash
        if it.source:
            record["mail"] = it.source
        write_reasons(target, record, heading, advice)
        self._after.append(lambda c=it.claim, t=target: self.run.move_out(c, t))
        return target

    def known(self, it: Item, k: Known) -> Outcome:
        """Bytes seen before: a duplicate, a blank we generated, or the leftover of a killed run."""
        from ..archive import log_action

        if k.kind == "archive" and k.form_type in GENERATED_TYPES:
            out = Outcome(it.name, it.sha256, Status.REJECTED, serial=k.serial or None,
                          kind=Kind.FEEDBACK_CARD if k.form_type == "card_generated" else Kind.UNKNOWN)
            out.findings.add(error(Reason.GENERATED_COPY, f"这是本局生成的空白文书（{k.archival_code}）原件，不是企业交回的。"
                                                          f"请放入企业填写后交回的文件。"))
            return self.reject(it, out)
        out = _known_outcome(it, k)
        if it.claim.adopted and k.original_name == it.name:
            # A killed run filed it and died before deleting its claim: report what it did.
            out.status = Status(k.extra["status"]) if k.extra and k.extra.get("status") in set(Status) else Status.FILED
            out.archival_code, out.item_id, out.recovered, out.duplicate_of = k.archival_code, k.item_id, True, ""
            if k.serial:
                v = by_serial(self.s, k.serial)
                if v is not None:
                    refresh_visit(self.s, v)
        else:
            out.findings.add(error("DUPLICATE", f"相同内容的文件已经收过（{out.duplicate_of}），本次不重复归档。", "文件"))
            log_action(self.ws, "receive", it.name, actor=self.actor, session=self.s,
                       details={"sha256": it.sha256, "status": "duplicate", "duplicate_of": out.duplicate_of,
                                "run": self.run.id})
        self._release(it)
        return out

    # ---- cards

    def file_card(self, it: Item, out: Outcome, ex: Examination) -> Outcome:
        from ..archive import file_item

        reading = ex.reading
        assert reading is not None
        s = self.s
        # Checked again inside the write transaction: another run may have filed these bytes
        # since this one started (two identical files dropped under different names).
        k = _archived(s, it.sha256)
        if k is not None:
            return self.known(it, k)
        visit = by_serial(s, reading.serial) if reading.serial else None
        check = check_card(reading, visit, it.received_at, self.ws.config.late_days)
        out.findings.extend(check.findings)
        out.flags = list(check.flags)
        out.status = Status.NEEDS_REVIEW if check.needs_review else Status.FILED
        if ex.content not in ARCHIVABLE_CONTENT or not _archive_accepts(ex.content):
            note_held(visit, it.received_at, check)
            return self.hold(it, out)
        meta = card_meta(reading, check, visit, it.name, it.received_at, out.status, it.sha256)
        if it.source:
            meta.extra["mail"] = it.source
        try:
            # No SAVEPOINT: the archive ties the file's move to the outer commit (a savepoint's
            # release would move it early).  A refusal (RuqiError) is raised before anything is
            # written; any other error aborts the whole batch, whose claims the next run redoes.
            row = file_item(self.ws, it.claim.path, meta, actor=self.actor, session=s)
        except RuqiError as e:  # the archive refused it (format, metadata): keep it, say why
            out.findings.add(error(Reason.UNREADABLE, f"归档系统拒收：{e.finding.message}"))
            return self.reject(it, out)
        if visit is not None:
            refresh_visit(s, visit)
        out.archival_code, out.item_id, out.location = row.archival_code, row.id, row.rel_path
        self._release(it)
        return out

    # ---- statistics tables

    def file_stats(self, it: Item, out: Outcome, ex: Examination) -> Outcome:
        sub = ex.stats
        if sub is not None:
            sub.path = it.claim.path  # read in a worker: accept files this very file
        k = _archived(self.s, it.sha256)
        if k is not None:
            return self.known(it, k)
        # The stats desk files and records in a transaction of its own (all or nothing): close ours first.
        self.commit()
        try:
            res = stats_adapter.accept(self.ws, sub, it.received_at, self.actor)
        except Exception as e:  # the stats desk refused it: shelve with its reason, never lose it
            out.findings.add(error(Reason.STATS_REJECTED, f"统计表未能入库：{e}"))
            return self.reject(it, out, stats=sub)
        out.status = Status.FILED
        out.flags = sorted({f.code for f in out.findings if f.severity is Severity.WARNING})
        out.archival_code = getattr(res, "archival_code", "") or ""
        out.location = getattr(res, "rel_path", "") or ""
        self._release(it)
        return out


def _archive_accepts(content: str) -> bool:
    from ..archive.formats import ALLOWED

    return content in ALLOWED


def _archived(s: Session, sha256: str) -> Known | None:
    from ..archive.models import ItemRecord

    r = s.scalars(select(ItemRecord).where(ItemRecord.sha256 == sha256).order_by(ItemRecord.id).limit(1)).first()
    return known_from_row(r) if r is not None else None


def known_from_row(r: Any) -> Known:
    return Known("archive", r.form_type, r.archival_code, r.id, r.original_name, r.rel_path, r.serial,
                 tuple(r.flags or ()), dict(r.extra or {}))


def _known_outcome(it: Item, k: Known) -> Outcome:
    out = Outcome(it.name, it.sha256, Status.DUPLICATE, duplicate_of=k.archival_code or k.location, location=k.location)
    extra = k.extra or {}
    if extra:
        out.kind = Kind(extra["kind"]) if extra.get("kind") in set(Kind) else Kind.UNKNOWN
        out.serial = extra.get("serial_read") or k.serial or None
        if isinstance(extra.get("answers"), dict):
            out.answers = {str(i): extra["answers"].get(str(i)) for i in range(1, 11)}
        out.flags = list(k.flags)
    return out
