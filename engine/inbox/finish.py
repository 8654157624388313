"""Finishing files: filing, shelving, recognising duplicates, in batched transactions.

``Batch`` holds one database transaction for up to ``BATCH_SIZE`` files.  Everything that
touches the database (archive item, register columns, audit entries) happens inside it, each
file in its own SAVEPOINT so one refused file does not undo the others; everything that moves a
claimed file out of the run directory (delete after filing, move to ``rejected/``) is *deferred
until after the commit*.  So a crash at any moment leaves each file either still claimed (the next
run redoes it; its uncommitted rows never existed) or done.  Reason files are written before the
commit: a redo rewrites them under the same name.

``Batch.handle`` is the per-file guard: any exception while one file is finished rolls back that
file's SAVEPOINT and rejects the file (``INTERNAL_ERROR``, traceback in its reason.json); only a
storage problem (``engine.inbox.storage``: full disk, read-only archive) leaves the batch, as
``Stop``, because no file is to blame for it.  A file whose size or time changed since it was
claimed is still being written: it goes back to ``inbox/`` untouched (``STILL_WRITING``).
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum, auto
from pathlib import Path
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from .. import readings
from ..actor import current_actor
from ..archive import Action, file_item, log_action
from ..archive.models import ItemRecord
from ..db import get_engine
from ..findings import Finding, Findings, RuqiError, Severity, error, exception_detail, exception_reason
from ..forms import GENERATED_FORMS, QUESTION_NUMBERS, FormType
from ..readback import CardReading, ReadMethod
from ..register import by_serial
from ..stats import Submission
from ..text import sentences
from ..workspace import Workspace
from . import stack, stats_adapter
from .cards import card_meta, refresh_visit
from .claim import Item, Run
from .codes import Kind, Reason, Status
from .examine import Examination
from .handlers import Handler
from .outcome import Outcome, no_answers
from .preflight import not_utf8, raw_name
from .shelve import finding_dicts, now_iso, reason_files, target_for, write_reasons
from .storage import trouble
from .survey import left_outcome, still_writing
from .validate import check_card

BATCH_SIZE = 25
BATCH_SECONDS = 2.0  # commit at least this often, so `ruqi watch` files promptly


class Seen(Enum):
    """Where bytes seen before are (internal: never stored, never shown)."""

    ARCHIVE = auto()  # an archive item
    HELD = auto()  # a photo an earlier release left in inbox/needs_review/


@dataclass(frozen=True, slots=True)
class Known:
    """Bytes seen before: an archive item, or a photo an earlier release left in inbox/needs_review/."""

    kind: Seen
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
        self._written: list[Path] = []  # reason files of this transaction (deleted if it rolls back)
        self._committed = False
        self._stopped_in_file = False
        self.rolled_back: list[Outcome] = []  # outcomes a failed commit took back (never reported)

    # ---- transaction

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
            return
        if self._stopped_in_file and self._s is not None:
            # The files finished before the one that hit a full disk are complete (the failed one's
            # SAVEPOINT is gone): keep them if the database can still commit.
            with contextlib.suppress(Exception):  # else nothing of this transaction happened, as below
                self.commit()
        if self._s is not None:
            self._s.rollback()
            self._s.close()
            self._s = None
        # The claims stay where they are (the caller puts them back or the next run adopts them).
        _remove_files(self._written)
        self._after, self._reserved, self._written = [], {}, []
        self.rolled_back, self._done = self._done, []

    @property
    def s(self) -> Session:
        if self._s is None:
            self._s = self._maker()
            # First in line, before the archive's own after-commit work (which may fail on a full
            # disk): tells a failed commit from a committed one whose follow-up failed.
            event.listen(self._s, "after_commit", self._mark_committed, insert=True)
            self._s.begin()
            self._started = time.monotonic()
            self._committed = False
        return self._s

    def _mark_committed(self, s: Session) -> None:
        if s.get_nested_transaction() is None:  # the outermost commit, not a SAVEPOINT's release
            self._committed = True

    def commit(self) -> None:
        failed: Exception | None = None
        if self._s is not None:
            try:
                self._s.commit()
            except Exception as e:
                if not self._committed:
                    raise  # nothing was written: __exit__ rolls back
                # Committed; the archive's after-commit renames did not all happen: its repair
                # finishes them on the next run.  Our own moves must happen regardless.
                failed = e
            finally:
                self._s.close()
                self._s = None
        after, self._after, self._reserved, self._files, self._written = self._after, [], {}, 0, []
        for action in after:
            try:
                action()
            except Exception as e:  # the rest must still move; a claim left behind is redone
                failed = failed or e
        done, self._done = self._done, []
        if self._on_outcome is not None:
            for out in done:
                self._on_outcome(out)
        if failed is not None:
            raise failed

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

    # ---- the per-file guard

    def handle(self, it: Item, step: Callable[[], Outcome], *, savepoint: bool = True) -> Outcome:
        """``step()``'s outcome for this file; any failure in it is this file's rejection."""
        marks = len(self._after), len(self._written), dict(self._reserved)
        sp = self.s.begin_nested() if savepoint else None
        try:
            out = step()
        except Exception as e:
            self._undo(sp, marks)
            if trouble(e, self.ws) is not None:
                self._stopped_in_file = sp is not None
                raise
            return self._crashed(it, e, traceback.format_exc(limit=12))
        if sp is not None and sp.is_active:
            sp.commit()
        return out

    def _undo(self, sp: Any, marks: tuple[int, int, dict[Path, str]]) -> None:
        if sp is not None and sp.is_active:
            sp.rollback()
        after, written, reserved = marks
        del self._after[after:]
        _remove_files(self._written[written:])
        del self._written[written:]
        self._reserved = reserved

    def _crashed(self, it: Item, e: Exception, crash: str) -> Outcome:
        out = Outcome(it.name, it.sha256, Status.REJECTED, findings=Findings([
            error(Reason.INTERNAL_ERROR, "处理此文件时程序出错，文件已原样退回，其他文件照常处理。"
                                         "请把本文件连同 reason.json（内有出错记录）交给管理员。", detail=exception_detail(e))]))
        marks = len(self._after), len(self._written), dict(self._reserved)
        sp = self.s.begin_nested()
        try:
            out = self.reject(it, out, crash)
        except Exception as e2:
            self._undo(sp, marks)
            if trouble(e2, self.ws) is not None:
                raise
            # Not even its rejection could be written: it goes back where the clerk sees it.
            self.run.put_back(it.claim)
            return left_outcome(it.claim.name, Reason.INTERNAL_ERROR,
                                "处理此文件时程序出错，文件留在收件箱未动。请交给管理员。",
                                f"{exception_detail(e)}；{exception_detail(e2)}")
        if sp.is_active:
            sp.commit()
        return out

    def leave(self, it: Item, code: Reason, message: str) -> Outcome:
        """Back to ``inbox/`` untouched, at once (no database work), with the reason."""
        self.run.put_back(it.claim)
        return left_outcome(it.claim.name, code, message)

    # ---- outcomes

    def finish(self, it: Item, ex: Examination, handler: Handler | None) -> Outcome:
        """The file as examined, to the handler chosen for it (``handlers.handler_for``), or rejected."""
        if it.changed():
            return self.leave(it, Reason.STILL_WRITING, still_writing("读取期间大小或修改时间发生了变化"))
        if handler is not None:
            return handler.handle(self, it, ex)
        findings = list(ex.findings)
        if not ex.rejected:
            findings.append(error(Reason.NOT_A_CARD, "无法判断这是什么文件，已退回。"))
        reading = ex.reading
        return self.reject(it, Outcome(it.name, it.sha256, Status.REJECTED, kind=ex.kind,
                                       serial=reading.serial if reading else None,
                                       answers=reading.answers_json() if reading else no_answers(),
                                       findings=Findings(findings)), ex.crash, stats=ex.stats)

    def reject(self, it: Item, out: Outcome, crash: str = "", stats: Submission | None = None) -> Outcome:
        """``out`` (status REJECTED) shelved in ``rejected/``; ``stats``: what the stats desk read, for a statistics
        workbook (its unit then shows 已退回)."""
        out = replace(out, location=self._shelve(it, out, self.ws.rejected, "已退回，未归档（原文件保持原样）",
                                                 "按上述原因处理后，把改好的文件重新放入收件箱即可；本文件可删除。", crash))
        if stats is not None:
            stats_adapter.note_rejected(self.ws, stats, out.findings, it.received_at, it.name, out.location,
                                        self.actor, self.s)
        log_action(self.ws, Action.REJECT, it.name, actor=self.actor, session=self.s,
                   details={"sha256": it.sha256, "codes": out.findings.codes(), "stored_as": out.location,
                            "run": self.run.id})
        return out

    def _shelve(self, it: Item, out: Outcome, directory: Path, heading: str, advice: str, crash: str = "") -> str:
        """Where ``out``'s file will be (workspace-relative) once the batch commits."""
        target, there = target_for(directory, it.name, it.sha256, self._reserved)
        self._reserved[target] = it.sha256
        location = str(target.relative_to(self.ws.root))
        if there:
            self._release(it)  # identical bytes already shelved under this name
            return location
        record = {
            "file": it.name, "stored_as": target.name, "sha256": it.sha256, "size": it.size,
            "received_at": it.received_at.isoformat(timespec="seconds"), "handled_at": now_iso(),
            "status": str(out.status), "kind": str(out.kind), "serial": out.serial, "flags": out.flags,
            "codes": out.findings.codes(), "errors": finding_dicts(list(out.findings)), "run": self.run.id,
        }
        if not_utf8(it.claim.name):
            record["file_bytes_hex"] = raw_name(it.claim.name).hex()  # the name as it really was
        if crash:
            record["crash"] = crash
        if it.source:
            record["mail"] = it.source
        self._written.extend(reason_files(target))
        write_reasons(target, record, heading, advice)
        self._after.append(lambda c=it.claim, t=target: self.run.move_out(c, t))
        return location

    def known(self, it: Item, k: Known) -> Outcome:
        """Bytes seen before: a duplicate, a blank we generated, or the leftover of a killed run."""
        if k.kind is Seen.ARCHIVE and k.form_type in GENERATED_FORMS:
            return self.reject(it, Outcome(
                it.name, it.sha256, Status.REJECTED, serial=k.serial or None,
                kind=Kind.FEEDBACK_CARD if k.form_type == FormType.CARD_GENERATED else Kind.UNKNOWN,
                findings=Findings([error(Reason.GENERATED_COPY, f"这是本局生成的空白文书（{k.archival_code}）原件，不是企业交回的。"
                                                                f"请放入企业填写后交回的文件。")])))
        if k.kind is Seen.ARCHIVE and k.form_type == stack.STACK:
            return self._known_stack(it, k)
        if it.claim.adopted and k.original_name == it.name:
            # A killed run filed it and died before deleting its claim: report what it did.
            out = _known_outcome(it, k, recovered=_filed_status(k.extra))
            if k.serial:
                v = by_serial(self.s, k.serial)
                if v is not None:
                    refresh_visit(self.s, v)
        else:
            seen = k.archival_code or k.location
            out = _known_outcome(it, k, note=error(
                Reason.DUPLICATE, f"相同内容的文件已经收过（{seen}），本次不重复归档。", "文件"))
            log_action(self.ws, Action.RECEIVE, it.name, actor=self.actor, session=self.s,
                       details={"sha256": it.sha256, "status": str(Status.DUPLICATE), "duplicate_of": seen,
                                "run": self.run.id})
        self._release(it)
        return out

    def _twin(self, it: Item, ex: Examination, reading: CardReading, kept: CardReading, filed: Outcome,
              shown: dict[str, Any]) -> Outcome:
        """A card scanned twice in one stack: reported, not filed again."""
        return Outcome(it.name, it.sha256, Status.DUPLICATE, kind=ex.kind, serial=reading.serial,
                       answers=reading.answers_json(), flags=list(filed.flags),
                       findings=Findings([*ex.findings, stack.twin_note(reading.page, kept.page, reading.serial or "")]),
                       location=filed.location, duplicate_of=filed.archival_code, page=reading.page + 1,
                       original=shown)

    def _known_stack(self, it: Item, k: Known) -> Outcome:
        """A multi-card scan already filed: per card, a duplicate (or, after a killed run, what it filed)."""
        rows = stack.card_items(self.s, k.item_id, k.original_name)
        extra = k.extra or {}
        shown = stack.original_json(k.archival_code, k.location, len(rows), int(extra.get("pages") or 0),
                                    [{**n, "page": int(n.get("page", 0)) + 1} for n in extra.get("skipped_pages") or []])
        recovered = it.claim.adopted and k.original_name == it.name
        outs: list[Outcome] = []
        for r in rows:
            card, page = known_from_row(r), int((r.extra or {}).get("page") or 0) + 1
            if recovered:
                outs.append(_known_outcome(it, card, recovered=_filed_status(r.extra), page=page, original=shown))
                v = by_serial(self.s, r.serial) if r.serial else None
                if v is not None:
                    refresh_visit(self.s, v)
            else:
                note = error(Reason.DUPLICATE, f"相同内容的文件已经收过（原件 {k.archival_code}，这张卡 "
                                               f"{card.archival_code or card.location}），本次不重复归档。", "文件")
                outs.append(_known_outcome(it, card, note=note, page=page, original=shown))
        if not recovered:
            log_action(self.ws, Action.RECEIVE, it.name, actor=self.actor, session=self.s,
                       details={"sha256": it.sha256, "status": str(Status.DUPLICATE), "duplicate_of": k.archival_code,
                                "run": self.run.id})
        self._release(it)
        return Outcome(it.name, it.sha256, Status.DUPLICATE, location=k.location, archival_code=k.archival_code,
                       duplicate_of=k.archival_code, cards=tuple(outs) or (_known_outcome(it, k),))

    # ---- cards

    def file_card(self, it: Item, kind: Kind, reading: CardReading, read: list[Finding]) -> Outcome:
        """A returned card (typed, ticked or scanned) into the archive, checked against the register."""
        # Checked again inside the write transaction: another run may have filed these bytes
        # since this one started (two identical files dropped under different names).
        k = _archived(self.s, it.sha256)
        if k is not None:
            return self.known(it, k)
        out = self._card(it, kind, reading, read, it.claim.path, it.name)
        if out.status is Status.REJECTED:  # the archive refused it (format, metadata): keep it, say why
            return self.reject(it, out)
        self._release(it)
        return out

    def _card(self, it: Item, kind: Kind, reading: CardReading, read: list[Finding], data: Path | bytes, name: str,
              source: dict[str, Any] | None = None, original: dict[str, Any] | None = None) -> Outcome:
        """One card filed (the whole file, or one page of a multi-card scan with its ``source``), its
        answers recorded and its visit's card columns refreshed; status REJECTED (nothing written, not yet
        shelved) when the archive refuses it."""
        s = self.s
        visit = by_serial(s, reading.serial) if reading.serial else None
        check = check_card(reading, visit, it.received_at, self.ws.config.late_days)
        findings = Findings([*read, *check.findings])
        status = Status.NEEDS_REVIEW if check.needs_review else Status.FILED
        meta = card_meta(reading, check, visit, name, it.received_at, status, it.sha256)
        if it.source:
            meta.extra["mail"] = it.source
        if source is not None:
            meta.extra["source"] = source
        page = reading.page + 1 if reading.method is ReadMethod.IMAGE else None
        try:
            # Inside this file's SAVEPOINT (``handle``): the archive ties the file's move to the
            # outermost commit, and a rolled-back savepoint deletes its temporary copy.  A refusal
            # (RuqiError) is raised before anything is written.
            row = file_item(self.ws, data, meta, actor=self.actor, session=s)
        except RuqiError as e:
            findings.add(error(Reason.UNREADABLE, f"档案不予归档：{e.finding.message}"))
            return Outcome(it.name, it.sha256, Status.REJECTED, kind=kind, serial=reading.serial,
                           answers=reading.answers_json(), flags=list(check.flags), findings=findings, page=page)
        readings.record_filed(s, row.id, reading, actor=current_actor(self.actor), at=datetime.now())
        if visit is not None:
            refresh_visit(s, visit)
        return Outcome(it.name, it.sha256, status, kind=kind, serial=reading.serial, answers=reading.answers_json(),
                       flags=list(check.flags), findings=findings, location=row.rel_path,
                       archival_code=row.archival_code, item_id=row.id, marks=reading.marks_json(), page=page,
                       original=original)

    def file_stack(self, it: Item, ex: Examination) -> Outcome:
        """A scan holding several cards: the original once, then each card cut from it filed on its
        own (``engine.inbox.stack``); one outcome per card.  All in this file's SAVEPOINT."""
        s = self.s
        k = _archived(s, it.sha256)
        if k is not None:
            return self.known(it, k)
        cards, pages = ex.cards, len(ex.scans)
        visits = {r.serial: v for r in cards if r.serial and (v := by_serial(s, r.serial)) is not None}
        meta = stack.original_meta(self.ws, it.name, it.received_at, cards, pages, visits, ex.page_notes, it.sha256)
        if it.source:
            meta.extra["mail"] = it.source
        try:
            original = file_item(self.ws, it.claim.path, meta, actor=self.actor, session=s)
        except RuqiError as e:  # nothing is written yet: the file is kept, with the archive's reason
            return self.reject(it, Outcome(it.name, it.sha256, Status.REJECTED, kind=ex.kind, findings=Findings(
                [*ex.findings, error(Reason.UNREADABLE, f"档案不予归档：{e.finding.message}")])))
        source = stack.source_extra(original, it.name, pages)
        shown = stack.original_json(original.archival_code, original.rel_path, len(cards), pages,
                                    stack.skipped_json(ex.page_notes))
        files = stack.page_files(it.claim.path, ex.content, [r.page for r in cards], it.name)
        keep = stack.twins(cards)
        filed: dict[int, Outcome] = {}
        for n in sorted(set(keep)):
            # The notes on skipped pages go with the first card filed, so they are said once.
            read = [*ex.findings, *(ex.page_notes if not filed else [])]
            filed[n] = self._card(it, ex.kind, cards[n], read, files[n].data, files[n].name, source, shown)
            if filed[n].status is Status.REJECTED:
                # A page cut by pdfium that the archive will not take is an engine bug: ``handle`` rolls
                # this file's SAVEPOINT back (the original too) and rejects the file with the reason.
                raise RuntimeError(sentences(x.message for x in filed[n].findings))
        outs = [filed[n] if keep[n] == n else self._twin(it, ex, cards[n], cards[keep[n]], filed[keep[n]], shown)
                for n in range(len(cards))]
        self._release(it)
        return Outcome(it.name, it.sha256, Status.FILED, kind=ex.kind, location=original.rel_path,
                       archival_code=original.archival_code, item_id=original.id, cards=tuple(outs))

    # ---- statistics tables

    def file_stats(self, it: Item, kind: Kind, sub: Submission, read: list[Finding]) -> Outcome:
        """A county workbook to the stats desk, which files it and records its rows."""
        sub.path = it.claim.path  # read in a worker: accept files this very file
        k = _archived(self.s, it.sha256)
        if k is not None:
            return self.known(it, k)
        # The stats desk files and records in a transaction of its own (all or nothing): close ours first.
        self.commit()
        try:
            res = stats_adapter.accept(self.ws, sub, it.received_at, self.actor,
                                       {"mail": it.source} if it.source else None)
        except Exception as e:  # the stats desk refused it: shelve with its reason, never lose it
            if trouble(e, self.ws) is not None:
                raise  # a full disk is not the table's fault
            why = sentences(f.message for f in e.findings) if isinstance(e, RuqiError) else exception_reason(e)
            refused = error(Reason.STATS_REJECTED, f"统计表未能入库：{why}", detail=exception_detail(e))
            return self.reject(it, Outcome(it.name, it.sha256, Status.REJECTED, kind=kind,
                                           findings=Findings([*read, refused])), stats=sub)
        self._release(it)
        return Outcome(it.name, it.sha256, Status.FILED, kind=kind, findings=Findings(list(read)),
                       flags=sorted({f.code for f in read if f.severity is Severity.WARNING}),
                       archival_code=res.archival_code, location=res.rel_path)


def _remove_files(paths: list[Path]) -> None:
    """Reason files of a transaction that did not happen (only files: a folder squatting on a
    reason file's name may be what failed)."""
    for p in paths:
        if p.is_file() or p.is_symlink():
            p.unlink(missing_ok=True)


def _archived(s: Session, sha256: str) -> Known | None:
    r = s.scalars(select(ItemRecord).where(ItemRecord.sha256 == sha256).order_by(ItemRecord.id).limit(1)).first()
    return known_from_row(r) if r is not None else None


def known_from_row(r: Any) -> Known:
    return Known(Seen.ARCHIVE, r.form_type, r.archival_code, r.id, r.original_name, r.rel_path, r.serial,
                 tuple(r.flags or ()), dict(r.extra or {}))


def _filed_status(extra: dict[str, Any] | None) -> Status:
    """What a killed run had decided for a file it filed (kept in the item's ``extra``)."""
    st = (extra or {}).get("status")
    return Status(st) if st in set(Status) else Status.FILED


def _known_outcome(it: Item, k: Known, *, recovered: Status | None = None, note: Finding | None = None,
                   page: int | None = None, original: dict[str, Any] | None = None) -> Outcome:
    """The outcome of bytes seen before, built once: a duplicate of ``k`` (with ``note``), or, ``recovered``,
    what the killed run that filed them had decided."""
    where: dict[str, Any] = (
        {"status": recovered, "archival_code": k.archival_code, "item_id": k.item_id, "recovered": True}
        if recovered is not None else {"status": Status.DUPLICATE, "duplicate_of": k.archival_code or k.location})
    extra = k.extra or {}
    answers = extra.get("answers")
    read: dict[str, Any] = {} if not extra else {
        "kind": Kind(extra["kind"]) if extra.get("kind") in set(Kind) else Kind.UNKNOWN,
        "serial": extra.get("serial_read") or k.serial or None,
        "answers": {str(i): answers.get(str(i)) for i in QUESTION_NUMBERS} if isinstance(answers, dict) else no_answers(),
        "flags": list(k.flags)}
    return Outcome(it.name, it.sha256, location=k.location, findings=Findings([note] if note else []), page=page,
                   original=original, **where, **read)
