"""Generate the three forms for every valid row of a plan.

Steps, each with a typed result: read the plan (per-cell findings) → check the annual cap and
record the visit in the register (one transaction) → render docx/PDF for the whole batch →
file the generated forms in the archive → write the batch manifest.  A bad row never stops
the good ones; the outcome of every row is reported.

``check=True`` runs the same plan and register steps in a transaction that is rolled back, and
renders, files and writes nothing: every row gets the outcome it would get (``READY`` instead
of ``GENERATED``).

Issue date (落款日期 of the 通知书 and 公示) of a new visit: the plan's 发文日期 cell, else the run's
``issue_date``, else today — but never after the start: a run made after the visit began dates
the notice on its start day and warns.  A visit already registered keeps its recorded date.

A visit exists only together with its documents: a row whose forms could not be rendered or
filed (a broken template, a full disk, a read-only archive) has the visit this run recorded for
it withdrawn again, and its partial output removed, so the register, the caps and ``status``
never count an inspection whose documents do not exist.  (The serial is taken before rendering
because it is printed on the forms; holding the register's write lock through rendering would
block every ingest meanwhile.)  Only a process killed between the two steps leaves a visit
without documents; running the same plan again completes it.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import json
import re
import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import DatabaseError

from . import register, shared_register
from .archive import Action, ItemMeta, audit, log_action
from .archive.files import RESERVE_BYTES, reserve_space
from .archive.models import ItemRecord
from .archive.repair import repair_once
from .archive.store import Prepared, file_prepared_many, prepare, sync_folders
from .caps import Cap, approved_over_cap, cap_exceeded, check_cap
from .db import database_finding, database_where, session, sqlite_path
from .findings import Finding, Findings, RuqiError, error, warning
from .forms import FORMS, FormKey, FormType
from .forms.context import build_context
from .inspection import Inspection
from .jurisdiction import outside_county
from .omr import record_layout
from .omr.layout import layout_dir
from .plan import BY_KEY, Plan, PlanRow, issue_after_start, read_plan
from .render.batch import MAX_CHUNK, RenderedSet, WarmUp
from .render.codes import RenderCode
from .render.files import write_atomic
from .render.fonts import uncovered
from .render.lint import check_templates, templates_digest
from .render.pdf import ARCHIVE_PDF_VARIANT
from .workspace import Workspace, os_reason
from .xlsx_safe import append_row

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    pass

Progress = Callable[[int, int], None]


class RowStatus(StrEnum):
    GENERATED = "generated"
    READY = "ready"  # check-only run: would be generated
    REFUSED = "refused"  # valid, but over its annual cap
    INVALID = "invalid"


class GenCode(StrEnum):
    REASON_REQUIRED = "OVERRIDE_REASON_REQUIRED"
    RENDER_FAILED = "RENDER_FAILED"
    APPROVAL_ROWS_INVALID = "OVERRIDE_ROWS_INVALID"
    APPROVAL_NOT_OVER_CAP = "OVERRIDE_ROW_NOT_OVER_CAP"
    VISIT_STARTED = "VISIT_ALREADY_STARTED"
    ISSUE_DATE_KEPT = "ISSUE_DATE_KEPT"
    RENUMBERED = "PRINTED_NUMBERS_CHANGED"
    FILE_FAILED = "GENERATE_FILE_FAILED"  # the archive could not take the forms
    OUTPUT_FAILED = "GENERATE_OUTPUT_FAILED"  # outbox (batch folder, manifest) not writable
    WITHDRAWN = "GENERATE_VISIT_WITHDRAWN"  # the visit recorded for a failed row was taken back
    WITHDRAW_FAILED = "GENERATE_WITHDRAW_FAILED"
    TEMPLATES_BROKEN = "TEMPLATES_BROKEN"
    DISK_FULL = "GENERATE_DISK_FULL"  # no room left on the database's disk to start a run safely
    VOIDED_AGAIN = "VOIDED_VISIT_AGAIN"  # the row is a visit voided before: registered anew, said so


@dataclass(frozen=True, slots=True)
class OverCapApproval:
    """Which over-cap rows the clerk approved: named plan rows (as Excel numbers them), or all."""

    rows: frozenset[int] = frozenset()
    all_rows: bool = False

    @property
    def given(self) -> bool:
        return self.all_rows or bool(self.rows)

    def approves(self, row: int) -> bool:
        return self.all_rows or row in self.rows

    @classmethod
    def of(cls, value: bool | Collection[int] | OverCapApproval | None) -> OverCapApproval:
        if isinstance(value, OverCapApproval):
            return value
        if value is True:
            return cls(all_rows=True)
        if not value:
            return cls()
        return cls(rows=frozenset(int(r) for r in value))


ALL_ROWS_WORDS = ("", "all", "全部", "所有")


def parse_rows(text: str) -> OverCapApproval | None:
    """``"6,9"``, ``"6，9"``, ``"6-9"`` or ``"全部"`` → an approval; None when it cannot be read."""
    t = text.strip().lower()
    if t in ALL_ROWS_WORDS:
        return OverCapApproval(all_rows=True)
    rows: set[int] = set()
    for part in re.split(r"[,，、;；\s]+", t):
        m = re.fullmatch(r"(\d+)(?:[-~～至](\d+))?", part)
        if not part:
            continue
        if m is None:
            return None
        a, b = int(m[1]), int(m[2] or m[1])
        if a < 2 or b < a or b - a > 10000:
            return None
        rows.update(range(a, b + 1))
    return OverCapApproval(rows=frozenset(rows)) if rows else None


# Generated PDFs are PDF/A-3b: the same file goes to the enterprise and, byte-identical, into the
# archive (DA/T 70 long-term format). WeasyPrint keeps the card's AcroForm checkboxes under PDF/A.
PDF_VARIANT = ARCHIVE_PDF_VARIANT



@dataclass(slots=True)
class RowOutcome:
    row: int
    status: RowStatus
    inspection: Inspection | None = None
    forms: dict[tuple[str, str], Path] = field(default_factory=dict)  # (form key, format) → file
    findings: Findings = field(default_factory=Findings)
    existing: bool = False  # the visit was already in the register (plan generated before)
    over_cap: bool = False  # over its cap and approved
    cap_rule: str = ""
    stale: list[register.Stale] = field(default_factory=list)  # printed cards this visit's date made wrong

    @property
    def serial(self) -> str:
        return self.inspection.serial if self.inspection else ""

    @property
    def files(self) -> list[Path]:
        return sorted(self.forms.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "status": str(self.status),
            "serial": self.serial or None,
            "enterprise": self.inspection.enterprise if self.inspection else None,
            "existing": self.existing,
            "over_cap": self.over_cap,
            "issue_date": self.inspection.issue_date.isoformat()
            if self.inspection and self.inspection.issue_date else None,
            "visit_total": self.inspection.visit_total if self.inspection and self.status in _NUMBERED else None,
            "visit_kind": self.inspection.visit_kind if self.inspection and self.status in _NUMBERED else None,
            "renumbered": [st.to_json() for st in self.stale],
            "files": [str(p) for p in self.files],
            "errors": [{"code": f.code, "message": f.message, "where": f.where, "severity": str(f.severity)}
                       for f in self.findings],
        }


_NUMBERED = (RowStatus.GENERATED, RowStatus.READY)


@dataclass(slots=True)
class BatchResult:
    batch: str
    out_dir: Path
    outcomes: list[RowOutcome]
    plan_findings: Findings
    manifest: list[Path] = field(default_factory=list)
    check: bool = False  # a check-only run: nothing registered or written

    @property
    def ok(self) -> bool:
        return self.plan_findings.ok and all(o.status in _NUMBERED for o in self.outcomes)

    def count(self, status: RowStatus) -> int:
        return sum(o.status is status for o in self.outcomes)


def plan_city_code(ws: Workspace) -> str | None:
    """Counties accepted in a plan: the bureau's own city (a county bureau: its city); a province: all."""
    code = ws.config.division_code
    return None if ws.config.level == "省" else code[:4] + "00"


def generate(
    ws: Workspace,
    plan_path: str | Path,
    *,
    formats: Sequence[str] = ("docx", "pdf"),
    allow_over_cap: bool | Collection[int] | OverCapApproval = False,
    reason: str = "",
    actor: str | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    issue_date: date | None = None,
    check: bool = False,
    today: date | None = None,
    templates_dir: Path | None = None,
    offline: bool = False,
) -> BatchResult:
    """Generate a plan; ``allow_over_cap`` approves over-cap rows: True (all) or plan row numbers.

    With ``[register]`` in ruqi.toml the caps and visit numbers count every bureau's visits in the
    shared register, and a register that cannot be reached refuses the run; ``offline`` records
    the visits in this workspace only, unconfirmed, for ``ruqi register sync``."""
    warm = None if check else WarmUp(templates_dir, formats)  # loads the renderers meanwhile
    try:
        return _generate(ws, plan_path, formats, allow_over_cap, reason, actor, progress, workers, issue_date,
                         check, today, templates_dir, offline)
    finally:
        if warm is not None:
            warm.join()


def _generate(ws: Workspace, plan_path: str | Path, formats: Sequence[str],  # noqa: PLR0913
              allow_over_cap: bool | Collection[int] | OverCapApproval, reason: str, actor: str | None,
              progress: Progress | None, workers: int | None, issue_date: date | None, check: bool,
              today: date | None, templates_dir: Path | None, offline: bool) -> BatchResult:
    plan = read_plan(plan_path, plan_city_code(ws))
    approval = OverCapApproval.of(allow_over_cap)
    # The batch folder is claimed only once the run will register rows: a run refused as a whole
    # (a bad plan, a missing reason, broken templates, a full disk) leaves nothing in outbox/.
    result = BatchResult("", ws.outbox, [], plan.findings, check=check)
    if not plan.ok:
        return result
    if approval.given and not reason.strip():
        result.plan_findings.add(error(GenCode.REASON_REQUIRED, "使用 --allow-over-cap 时必须用 --reason 写明超次数检查的理由。"))
        return result
    if not templates_ready(result.plan_findings, templates_dir, ws):
        return result
    if not check and not offline and ws.config.register is not None and shared_register.pending(ws):
        # Visits recorded offline count before anything new is booked.
        result.plan_findings.extend(shared_register.sync(ws).findings)
    reserve: Path | None = None
    if not check:
        try:
            reserve = hold_reserve(ws)
        except OSError as e:  # the database's disk is already full: nothing registered
            result.plan_findings.add(_no_reserve_finding(e))
            return result
    try:
        if not check:
            try:
                result.batch = _new_batch_name(ws, Path(plan_path).stem)
            except OSError as e:
                result.plan_findings.add(error(GenCode.OUTPUT_FAILED, f"无法在“{ws.outbox}”建立本批文书的文件夹：{os_reason(e)}。"
                                                                      "未登记任何检查。", str(ws.outbox)))
                return result
            result.out_dir = ws.outbox / result.batch
        run = Run(result.batch, approval, reason.strip(), actor, issue_date, today or date.today(), offline)
        _issue(ws, plan, run, result, formats, progress, workers, templates_dir, reserve, check=check)
    finally:
        release_reserve(reserve)
    return result


def hold_reserve(ws: Workspace) -> Path | None:
    """Ballast on the SQLite database's volume, held from before the first visit is registered
    until the failed rows' visits are withdrawn: a run that fills the disk the database shares
    (the usual layout, ``archive/ruqi.sqlite``) can always take its own visits back.  None when
    the database is not a local SQLite file, or its folder cannot be written at all (read-only:
    registering fails first, and says so).  Raises OSError when the space is not there."""
    db = sqlite_path(ws)
    if db is None:
        return None
    folder = db.resolve().parent
    try:
        return reserve_space(folder)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OSError(e.errno, e.strerror, str(folder)) from e  # fallocate names no file
        return None


def release_reserve(reserve: Path | None) -> None:
    if reserve is not None:
        reserve.unlink(missing_ok=True)


def _no_reserve_finding(e: OSError) -> Finding:
    folder = Path(e.filename or ".")
    try:
        free = f"剩余 {shutil.disk_usage(folder).free / 2**20:.1f} MB，"
    except OSError:
        free = ""
    return error(GenCode.DISK_FULL, f"数据库所在的文件夹“{folder}”空间不足（{os_reason(e)}）：{free}生成前须留出至少 "
                 f"{RESERVE_BYTES // 2**20} MB，供出错时撤回登记。本次未登记任何检查，腾出空间后重新运行即可。", str(folder))


def _issue(ws: Workspace, plan: Plan, run: Run, result: BatchResult, formats: Sequence[str],  # noqa: PLR0913
           progress: Progress | None, workers: int | None, templates_dir: Path | None,
           reserve: Path | None, *, check: bool) -> None:
    """Register, render, file; withdraw the failed rows' visits (with the reserve's space freed)."""
    out_dir = result.out_dir
    try:
        result.outcomes = record_rows(ws, plan, run, check=check)
    except DatabaseError as e:  # nothing was recorded: the transaction rolled back
        result.plan_findings.add(database_finding(e, database_where(ws)))
        _drop_empty(result)
        return
    except RuqiError as e:  # the database is behind the archive: no number may be taken
        result.plan_findings.extend(e.findings)
        _drop_empty(result)
        return
    result.plan_findings.extend(_unused_approvals(run.approval, result.outcomes))
    if "pdf" in formats:  # a check-only run says it too
        for o in result.outcomes:
            if o.status in _NUMBERED:
                o.findings.extend(glyph_findings(o))
    if check:
        return
    todo = [o for o in result.outcomes if o.status is RowStatus.GENERATED]
    # Rendered chunks are prepared and filed while later chunks render; file_rows files the rest.
    with Preparer(ws, todo, file_early=(run.actor, run.reason)) as preparer:
        render_rows(ws, todo, out_dir, formats, progress, workers, templates_dir,
                    on_rendered=_preloading_manifest_writer(preparer.rendered))
        file_rows(ws, [o for o in todo if o.status is RowStatus.GENERATED], run.actor, run.reason, preparer)
    release_reserve(reserve)  # nothing of this run writes any more but the withdrawal and its log
    withdraw_failed(ws, todo, out_dir)
    try:
        result.manifest = write_manifest(result)
    except OSError as e:
        result.plan_findings.add(error(GenCode.OUTPUT_FAILED, f"生成清单无法写入“{out_dir}”：{os_reason(e)}。"
                                                              "已生成的文书已归档，可用 ruqi archive search 查到。", str(out_dir)))
    try:
        _log_batch(ws, result, run.actor)
    except (OSError, DatabaseError, RuqiError) as e:
        result.plan_findings.add(database_finding(e) if isinstance(e, DatabaseError) else e.finding
                                 if isinstance(e, RuqiError) else
                                 error(GenCode.OUTPUT_FAILED, f"审计日志无法写入：{os_reason(e)}。", str(ws.archive)))

def _preloading_manifest_writer(on_rendered: Callable[[list[RenderedSet]], None]) -> Callable[[list[RenderedSet]], None]:
    """``on_rendered``, which also starts importing openpyxl (~0.15 s of CPU; the manifest needs it)
    when the first chunk is in: the manifest is written at the very end, when one core is idle,
    while this import costs the same CPU during rendering, when both cores are busy.  Started only
    after the first chunk, when the worker processes have been forked (a fork must not copy a
    thread in the middle of an import)."""
    started = False

    def rendered(sets: list[RenderedSet]) -> None:
        nonlocal started
        if not started:
            started = True
            threading.Thread(target=importlib.import_module, args=("openpyxl",), name="ruqi-preload",
                             daemon=True).start()
        on_rendered(sets)

    return rendered


def _drop_empty(result: BatchResult) -> None:
    """The batch folder of a run that registered nothing goes again (nothing was written into it)."""
    if result.batch:
        with contextlib.suppress(OSError):
            result.out_dir.rmdir()


# The workspace's note of the last clean templates check: the digest it was made for.
TEMPLATES_CHECKED = ".ruqi-templates-checked"


def templates_ready(findings: Findings, templates_dir: Path | None = None, ws: Workspace | None = None) -> bool:
    """`ruqi templates check` before anything is registered: a broken template, or a Word and a PDF
    version that print different words, stops the whole run with the template, place and fix.

    With ``ws``, a clean verdict is kept in the workspace (:data:`TEMPLATES_CHECKED`) with the
    digest of the templates and the code that checked them; the next run whose digest is the
    same skips the check (~0.4 s of every run's start, before anything else can run)."""
    stamp = ws.root / TEMPLATES_CHECKED if ws is not None else None
    digest = templates_digest(templates_dir) if stamp is not None else ""
    if stamp is not None:
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if stamp.read_text(encoding="ascii").strip() == digest:
                return True
    errors = [f for f in check_templates(templates_dir) if f.is_error]
    if not errors:
        if stamp is not None:
            with contextlib.suppress(OSError):  # a read-only workspace only checks every time
                write_atomic(stamp, digest.encode("ascii"))
        return True
    findings.add(error(GenCode.TEMPLATES_BROKEN, "文书模板有错误，本次未生成任何文书、未登记任何检查。请按下列说明改正模板，"
                       "运行 ruqi templates check 确认无误后重新生成。"))
    findings.extend(errors)
    return False


def _log_batch(ws: Workspace, result: BatchResult, actor: str | None) -> None:
    log_action(ws, Action.GENERATE, result.batch, actor=actor, details={
        "rows": len(result.outcomes),
        "generated": [o.serial for o in result.outcomes if o.status is RowStatus.GENERATED],
        "refused": result.count(RowStatus.REFUSED), "invalid": result.count(RowStatus.INVALID),
    })


def _new_batch_name(ws: Workspace, stem: str) -> str:
    base = f"{datetime.now():%Y%m%d-%H%M%S}_{stem}"
    name, n = base, 1
    while (ws.outbox / name).exists():
        n += 1
        name = f"{base}-{n}"
    (ws.outbox / name).mkdir(parents=True)  # claim it before a second run in the same second can
    return name


@dataclass(frozen=True, slots=True)
class Run:
    """What one `generate` run applies to every row."""

    batch: str
    approval: OverCapApproval
    reason: str
    actor: str | None
    issue_date: date | None  # --issue-date
    today: date
    offline: bool = False  # --offline: the shared register is not asked


class _DryRun(Exception):
    """Raised inside the register transaction of a check-only run so that it rolls back."""


def record_rows(ws: Workspace, plan: Plan, run: Run, *, check: bool = False) -> list[RowOutcome]:
    """Cap check + register, in one transaction so two clerks cannot both take the last visit."""
    outcomes: list[RowOutcome] = []
    try:
        with session(ws) as s:
            problem = audit.index_problem(ws, audit.last_seq(s))
            if problem is not None:
                raise RuqiError(problem)
            with shared_register.open_book(ws, s, offline=run.offline) as book:
                book.hold((pr.inspection.uscc, pr.inspection.year) for pr in plan.rows if pr.inspection is not None)
                for pr in plan.rows:
                    outcomes.append(_record_row(s, ws, pr, run, book))
                _number_new_visits(s, outcomes, book)
                if check:
                    raise _DryRun
    except _DryRun:
        for o in outcomes:
            if o.status is RowStatus.GENERATED:
                o.status = RowStatus.READY
                if not o.existing and o.inspection is not None:
                    o.inspection.serial = ""  # the serial it would get is not reserved
    return outcomes


def _record_row(s, ws: Workspace, pr: PlanRow, run: Run, book: register.Book) -> RowOutcome:  # type: ignore[no-untyped-def]
    out = RowOutcome(pr.row, RowStatus.INVALID, pr.inspection, findings=pr.findings)
    insp = pr.inspection
    if insp is None or not pr.findings.ok:
        return out
    where = f"第{pr.row}行"
    out.findings.add(outside_county(ws.config, insp, where))
    if not out.findings.ok:
        return out
    existing, voided = register.same_visits(s, insp)
    if existing is not None:
        out.findings.add(_kept_issue_date(insp, existing.issue_date, run, where))
    else:
        issue, problems = issue_date_for(insp, run.issue_date, run.today, where)
        out.findings.extend(problems)
        if not out.findings.ok:
            return out
        insp.issue_date = issue
        out.findings.add(_voided_before(voided, where))
        done = register.counts(s, insp.uscc, insp.year, book=book)[insp.kind]
        cap = cap_exceeded(insp.industry, insp.grade, insp.kind, done, benchmark=insp.benchmark,
                           key_supervision=insp.key_supervision)
        if cap is not None and not _approve(out, cap, insp.kind, done, run, where):
            return out
    rec = register.record(s, insp, ws.config.division_code, batch=run.batch, actor=run.actor, over_cap=out.over_cap,
                          override_reason=run.reason if out.over_cap else "", issue_date=insp.issue_date, book=book,
                          existing=existing)
    if rec.created and book.state == register.RegisterState.UNCONFIRMED:
        out.findings.add(shared_register.offline_finding(where))
    elif rec.created:
        out.findings.add(shared_register.shifted_elsewhere(book, insp, where))
    out.existing = not rec.created
    out.stale = rec.stale
    out.status = RowStatus.GENERATED
    return out


# Plan fields printed on the forms, in the order a clerk reads the plan.
PRINTED_FIELDS = ("enterprise", "basis", "joint_units", "leader", "members", "experts", "content")


def glyph_findings(o: RowOutcome) -> list[Finding]:
    """A warning per printed field holding characters no installed font has (empty boxes in the PDF)."""
    out: list[Finding] = []
    if o.inspection is None:
        return out
    for key in PRINTED_FIELDS:
        value = getattr(o.inspection, key)
        missing = uncovered("".join(value) if isinstance(value, list) else value)
        if missing:
            out.append(warning(RenderCode.GLYPH_MISSING,
                               f"“{BY_KEY[key].header}”中的“{missing}”本机没有字体能显示，PDF 文书中会印成空框"
                               "（Word 文书在装有相应字体的电脑上可正常显示）。请管理员运行 scripts/setup.sh 安装生僻字字体"
                               "（fonts-hanazono）后重新生成；企业交回的反馈卡不会因此被判为可疑。", f"第{o.row}行 {BY_KEY[key].header}"))
    return out


def _number_new_visits(s, outcomes: list[RowOutcome], book: register.Book) -> None:  # type: ignore[no-untyped-def]
    """Visits new in this run are numbered by date among themselves too (none is printed yet); the
    cards printed by earlier runs that they shift are reported on the row that shifted them."""
    new = {o.serial: o for o in outcomes if o.status is RowStatus.GENERATED and not o.existing}
    visits = register.renumber_unprinted(s, list(new), book)
    for serial, o in new.items():
        v = visits.get(serial)
        insp = o.inspection
        assert v is not None and insp is not None
        insp.visit_total, insp.visit_kind = v.visit_total, v.visit_kind
        o.stale = [st for st in o.stale if st.serial not in new]
        for st in o.stale:
            o.findings.add(warning(GenCode.RENUMBERED, f"本次检查（{insp.start:%Y-%m-%d}）早于已登记的检查 {st.serial}，"
                                   f"其已打印的反馈卡次数已不正确：{st.explain()}该卡已列入纪委审查清单的“检查次数与台账不符”。",
                                   f"第{o.row}行"))


def _approve(out: RowOutcome, cap: Cap, kind: str, done: int, run: Run, where: str) -> bool:
    """Over the cap: approved (warning, the row goes on) or refused (error naming the flag to use)."""
    insp = out.inspection
    assert insp is not None
    if not run.approval.approves(out.row):
        out.findings.add(check_cap(insp.industry, insp.grade, kind, done, benchmark=insp.benchmark,
                                   key_supervision=insp.key_supervision, where=where, row=out.row))
        out.status = RowStatus.REFUSED
        return False
    out.findings.add(approved_over_cap(cap, kind, done, run.reason, where))
    out.over_cap, out.cap_rule = True, cap.rule
    return True


def issue_date_for(insp: Inspection, given: date | None, today: date, where: str) -> tuple[date, list[Finding]]:
    """The 落款日期 of a new visit's notice, and what to tell the clerk about it."""
    problems: list[Finding] = []
    issue = insp.issue_date or given
    if issue is not None and issue > insp.start and insp.issue_date is None:
        problems.append(issue_after_start(issue, insp.start, f"{where} --issue-date"))
    if issue is None:
        issue = min(today, insp.start)
    if today > insp.start and not problems:
        problems.append(warning(GenCode.VISIT_STARTED,
                                f"检查已于 {insp.start:%Y-%m-%d} 开始（今天是 {today:%Y-%m-%d}）：通知书应在入企前交给企业。"
                                f"通知书和公示的落款日期为 {issue:%Y-%m-%d}；如实际另有发文日期，请填在“发文日期”列。", where))
    return issue, problems


def _voided_before(v: register.Visit | None, where: str) -> Finding | None:
    """Re-running the plan that held a voided row (``v``) would quietly bring the mistake back."""
    if v is None or v.voided_at is None:
        return None
    return warning(GenCode.VOIDED_AGAIN,
                   f"本行与已作废的检查 {v.serial}（{v.voided_at:%Y-%m-%d} 由 {v.voided_by} 作废，理由：{v.voided_reason}）"
                   "是同一企业、同一类别、同一日期，本次作为一次新的检查登记（新的检查编号）。如这一行就是当初误登记的那一次，"
                   "请从计划表中删去这一行，并用 ruqi void 作废新登记的检查；如是改正后的行，可忽略本提示。", where)


def _kept_issue_date(insp: Inspection, recorded: date, run: Run, where: str) -> Finding | None:
    wanted = insp.issue_date or run.issue_date
    if wanted is None or wanted == recorded:
        return None
    return warning(GenCode.ISSUE_DATE_KEPT, f"该检查已登记，通知书和公示沿用登记时的发文日期 {recorded:%Y-%m-%d}"
                   f"（不是 {wanted:%Y-%m-%d}）。如需更改，请先 ruqi void 作废该检查，再重新生成。", where)


def _unused_approvals(approval: OverCapApproval, outcomes: list[RowOutcome]) -> list[Finding]:
    """Rows named in --allow-over-cap that are not over their cap (a typo approves nothing silently)."""
    approved = {o.row for o in outcomes if o.over_cap}
    known = {o.row for o in outcomes}
    out = []
    for row in sorted(approval.rows - approved):
        what = "不是计划中的检查行" if row not in known else "未超过年度上限（或有错误未生成），无需批准"
        out.append(warning(GenCode.APPROVAL_NOT_OVER_CAP, f"--allow-over-cap 指定的第{row}行{what}。", f"第{row}行"))
    return out


def render_rows(ws: Workspace, rows: list[RowOutcome], out_dir: Path, formats: Sequence[str],
                progress: Progress | None, workers: int | None, templates_dir: Path | None = None,
                on_rendered: Callable[[list[RenderedSet]], None] | None = None) -> None:
    from .render import render_batch

    if not rows:
        return
    key = ws.key
    contexts = [build_context(o.inspection, ws.config, key) for o in rows if o.inspection]
    reasons: dict[str, str] = {}
    layout = CardLayout(ws.root, templates_digest(templates_dir))

    def rendered(sets: list[RenderedSet]) -> None:
        layout.seen(sets)
        if on_rendered is not None:
            on_rendered(sets)

    try:
        sets = render_batch(contexts, out_dir, formats=tuple(formats), workers=workers, progress=progress,
                            pdf_variant=PDF_VARIANT, templates_dir=templates_dir, on_failure=reasons.__setitem__,
                            on_rendered=rendered, when_idle=layout.record)
    except (RuqiError, OSError) as e:  # nothing rendered at all (templates folder, output folder)
        sets, why = [], e.finding.message if isinstance(e, RuqiError) else _os_failure(e, out_dir)
        reasons = {o.serial: why for o in rows}
    by_serial = {rs.serial: rs for rs in sets}
    for o in rows:
        rs = by_serial.get(o.serial)
        if rs is None:
            o.status = RowStatus.INVALID
            reason = reasons.get(o.serial, "")
            o.findings.add(error(GenCode.RENDER_FAILED, render_failure_message(reason, out_dir), f"第{o.row}行",
                                 reason if _EXCEPTION.match(reason) else ""))
            continue
        o.forms = dict(rs.files)
    layout.after(rows)


@dataclass(slots=True)
class CardLayout:
    """Measures the card layout (:func:`measure_card_layout`) from the first card rendered, once the
    batch has no chunk left to hand out, in whichever process is free first (``render_batch``'s
    ``when_idle``): its core would idle while the last chunks render, and the page image never
    meets a chunk's layout memory in the same process.  Picklable, for a worker process.  A run
    that gives it no such moment measures after rendering (:meth:`after`)."""

    root: Path  # the workspace's
    digest: str  # templates_digest, computed once (it reads every template and stats the code)
    card: Path | None = None

    def seen(self, sets: list[RenderedSet]) -> None:
        if self.card is None:
            self.card = next((p for rs in sets for (form, fmt), p in rs.files.items()
                              if form == FormKey.CARD and fmt == "pdf"), None)

    def record(self) -> None:
        if self.card is not None:
            measure_card_layout(self.root, self.card, self.digest)

    def after(self, rows: list[RowOutcome]) -> None:
        """Measure now unless that was done while rendering (the note names the layout then)."""
        card = self.card or _first_card(rows)
        if card is not None:
            measure_card_layout(self.root, card, self.digest)


def _first_card(rows: list[RowOutcome]) -> Path | None:
    return next((p for o in rows for (form, fmt), p in o.forms.items() if form == FormKey.CARD and fmt == "pdf"), None)


def measure_card_layout(root: Path, card: Path, digest: str) -> None:
    """Where this template version prints the answer boxes, for reading the paper cards back
    (``engine.omr.layout``): record the layout of ``card`` unless the layout recorded for the same
    templates and code (``digest``, :func:`templates_digest`) is still there: measuring it again
    would give the same file.

    Never beside a chunk's layout in the same process (OpenCV and a page image would raise the
    run's peak memory by ~100 MB): after rendering, or in a process that has no chunk left."""
    note = layout_dir(root) / f"{LAYOUT_NOTE}{digest[:16]}"
    with contextlib.suppress(OSError, UnicodeDecodeError):
        name = note.read_text(encoding="utf-8").strip()
        if name and (layout_dir(root) / name).is_file():
            return
    # Should it fail, the reader finds the boxes in each scan itself; generation goes on.
    with contextlib.suppress(OSError, ValueError, RuntimeError):
        saved = record_layout(root, card)
        if saved is not None:
            write_atomic(note, saved.name.encode("utf-8"))


# layouts/templates-<digest>: which layout file the templates of that digest print (measure_card_layout).
LAYOUT_NOTE = "templates-"


_ERRNO = re.compile(r"\[Errno (\d+)\]")
# The renderer's ``Type: message`` of an exception (from a worker process, so only its text).
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*)(?:: (.*))?$", re.S)


def render_failure_message(reason: str, out_dir: Path) -> str:
    """What went wrong with one inspection's forms, for the clerk (the renderer reports
    ``Type: message``, possibly from a worker process)."""
    m = _ERRNO.search(reason)
    if m:
        return _os_failure(OSError(int(m.group(1)), reason), out_dir)
    ex = _EXCEPTION.match(reason)
    if ex is None:  # already said for a clerk (an unusable templates or output folder)
        if "模板" in reason:
            return f"文书模板有误，文书未生成：{reason}。请运行 ruqi templates check 查看并修改 templates/ 中的模板。"
        return f"文书生成失败：{reason or '原因不明'}。"
    kind, text = ex.group(1), (ex.group(2) or "").strip()
    if "Template" in kind or "Undefined" in kind or "template" in text:
        # jinja's own words name the template line or the variable: what the editor of templates/ needs
        return f"文书模板有误，文书未生成（{text}）。请运行 ruqi templates check 查看并修改 templates/ 中的模板。"
    return "文书生成失败（程序内部错误）。请把本行和日志交给管理员。"


def _os_failure(e: OSError, folder: Path) -> str:
    return f"文书无法写入“{folder}”：{os_reason(e)}。"


# Rows filed per database transaction.  Filing one document costs little next to committing it
# (an fsync of the database, the audit head written after every commit); a chunk shares that cost.
FILE_CHUNK = MAX_CHUNK  # a rendered chunk is filed in one transaction
# Filed early (while later rows render) from this many ready rows on: a render chunk's rows are
# filed together as they arrive, so only the last render chunk's rows are filed after rendering.
EARLY_MIN = 8


def file_rows(ws: Workspace, rows: list[RowOutcome], actor: str | None, reason: str = "",
              preparer: Preparer | None = None) -> None:
    """File each inspection's generated forms in the archive: one transaction per chunk of rows,
    one SAVEPOINT per row, so a row that cannot be filed (disk full, read-only archive) is marked
    failed with the reason and the others of its chunk are filed all the same.

    A form already in the archive for that serial is not filed again, so a run interrupted
    between the register and the archive is completed by simply running the plan again.
    ``preparer``: the rows' documents already checked, hashed and written while they rendered.
    """
    if preparer is None:
        with Preparer(ws, rows) as preparer:
            file_rows(ws, rows, actor, reason, preparer)
        return
    filed = preparer.filed_early()
    rows = [o for o in rows if o.row not in filed]
    for i in range(0, len(rows), FILE_CHUNK):
        file_chunk(ws, rows[i:i + FILE_CHUNK], actor, reason, preparer)


def file_chunk(ws: Workspace, rows: list[RowOutcome], actor: str | None, reason: str, preparer: Preparer) -> None:
    """Index the chunk's prepared documents in one transaction (the write lock is held only for that)."""
    ready: dict[int, list[Prepared]] = {}
    for o in rows:
        try:
            ready[o.row] = preparer.result(o)
        except (RuqiError, OSError, DatabaseError) as e:
            _fail(ws, o, e)
    todo = [o for o in rows if o.row in ready]
    try:  # the chunk's files and their folders on disk before any row refers to them: all at once
        sync_folders(ws, [p for ps in ready.values() for p in ps], files=True)
    except OSError as e:  # (a file gone or unwritable meanwhile): nothing of the chunk is indexed
        for o in todo:
            _fail(ws, o, e)
            for p in ready[o.row]:
                p.discard()
        return
    filed: list[RowOutcome] = []
    try:
        with session(ws) as s:
            if _file_together(s, ws, todo, ready, actor):
                filed = list(todo)
            for o in todo if not filed else ():
                try:
                    with s.begin_nested():
                        _file_row(s, ws, o, ready[o.row], actor, reason)
                except (RuqiError, OSError, DatabaseError) as e:
                    _fail(ws, o, e)
                    for p in ready[o.row]:
                        p.discard()  # its SAVEPOINT rolled back: nothing refers to them
                else:
                    filed.append(o)
    except (RuqiError, OSError, DatabaseError) as e:  # the chunk's commit failed: none of it was filed
        for o in filed if filed else todo:
            if o.status is RowStatus.GENERATED:
                _fail(ws, o, e)


class Preparer:
    """Step 1–2 of filing (check, hash, temporary copy beside its archive place, fsync) for each
    inspection as soon as its chunk is rendered, in a thread: hashing and fsync release the GIL,
    so it runs while the worker processes render the next chunks.  Nothing here touches the
    database but one query up front.

    ``file_early=(actor, reason)``: the same thread also files (:func:`file_chunk`, one transaction)
    each run of ``EARLY_MIN`` to ``FILE_CHUNK`` rows, in plan order, once all of them are prepared,
    so filing overlaps rendering too; :func:`file_rows` files what is left (the last rows, and any
    after a row that failed to render) and skips what was filed here."""

    def __init__(self, ws: Workspace, rows: list[RowOutcome], file_early: tuple[str | None, str] | None = None):
        self.ws = ws
        self.rows = {o.serial: o for o in rows if o.serial}
        self.problem: Exception | None = None
        self.have: dict[str, set[tuple[str, str]]] = {}
        try:
            repair_once(ws)  # before this process writes temporary files of its own
            self.have = _filed_forms(ws, list(self.rows))
        except (RuqiError, OSError, DatabaseError) as e:
            self.problem = e
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ruqi-prepare")
        self.futures: dict[int, Future[list[Prepared]]] = {}
        self.order = [o for o in rows if o.serial]  # plan order: 件号 follow it
        self.early = file_early
        self.next = 0  # self.order[:self.next] are handed to early filing
        self.filing: list[tuple[list[RowOutcome], Future[None]]] = []

    def __enter__(self) -> Preparer:
        return self

    def rendered(self, sets: list[RenderedSet]) -> None:
        for rs in sets:
            o = self.rows.get(rs.serial)
            if o is not None and self.problem is None:
                self.futures[o.row] = self.pool.submit(_prepare_row, self.ws, o, dict(rs.files),
                                                       self.have.get(o.serial, set()))
        self._file_ready_chunks()

    def _file_ready_chunks(self) -> None:
        """Queue a filing transaction for the next rows, in plan order, whose documents are all queued
        for preparing (the pool runs in order: they are prepared before the transaction starts):
        ``FILE_CHUNK`` at a time, or fewer but at least ``EARLY_MIN`` — a rendered chunk's rows are
        filed as soon as they are prepared, and only the run's last rows wait for rendering to end
        (:func:`file_rows`; they are the last chunk's, rendered last)."""
        if self.early is None or self.problem is not None:
            return
        actor, reason = self.early
        while True:
            ready = 0
            while (self.next + ready < len(self.order) and ready < FILE_CHUNK
                   and self.order[self.next + ready].row in self.futures):
                ready += 1
            if ready < EARLY_MIN or self.next + ready == len(self.order):
                return  # too few to be worth a transaction yet; or the run's last rows: file_rows takes them
            chunk = self.order[self.next:self.next + ready]
            self.next += ready
            self.filing.append((chunk, self.pool.submit(file_chunk, self.ws, chunk, actor, reason, self)))

    def filed_early(self) -> set[int]:
        """Wait for the filing queued so far; the plan rows it took (filed or failed)."""
        taken: set[int] = set()
        for chunk, fut in self.filing:
            fut.result()  # file_chunk reports the filing's own errors per row; anything else is a bug
            taken.update(o.row for o in chunk)
        self.filing.clear()
        return taken

    def result(self, o: RowOutcome) -> list[Prepared]:
        if self.problem is not None:
            raise self.problem
        fut = self.futures.pop(o.row, None)
        if fut is None:  # rendered without the hook (file_rows called on its own)
            fut = self.pool.submit(_prepare_row, self.ws, o, dict(o.forms), self.have.get(o.serial, set()))
        return fut.result()

    def __exit__(self, *exc: object) -> None:
        """Whatever was prepared and not taken (a run stopped half-way) is deleted."""
        self.pool.shutdown(wait=True)
        for fut in self.futures.values():
            if fut.exception() is None:
                for p in fut.result():
                    p.discard()
        self.futures.clear()


def _fail(ws: Workspace, o: RowOutcome, e: Exception) -> None:
    o.status = RowStatus.INVALID
    o.findings.add(_filing_finding(ws, o, e))


def _filed_forms(ws: Workspace, serials: list[str]) -> dict[str, set[tuple[str, str]]]:
    """(form type, format) already in the archive, per serial."""
    out: dict[str, set[tuple[str, str]]] = {}
    with session(ws) as s:
        for serial, form_type, fmt in s.execute(select(ItemRecord.serial, ItemRecord.form_type, ItemRecord.format)
                                                .where(ItemRecord.serial.in_(serials))):
            out.setdefault(serial, set()).add((form_type, fmt))
    return out


def _filing_finding(ws: Workspace, o: RowOutcome, e: Exception) -> Finding:
    where = f"第{o.row}行"
    if isinstance(e, RuqiError):
        return error(GenCode.FILE_FAILED, f"文书未能归档：{e.finding.message}", where)
    if isinstance(e, DatabaseError):
        f = database_finding(e)
        return error(GenCode.FILE_FAILED, f"文书未能归档：{f.message}", where)
    assert isinstance(e, OSError)
    return error(GenCode.FILE_FAILED, f"文书未能归档到“{e.filename or ws.archive}”：{os_reason(e)}。", where)


# The PDF/A version the archive records for the generated PDFs: the renderer wrote them as such,
# so the filing does not parse every PDF again to read it back from the XMP packet.
PDF_FORMAT_VERSION = PDF_VARIANT.upper()  # "pdf/a-3b" → "PDF/A-3B", as formats.pdfa_version spells it


def _prepare_row(ws: Workspace, o: RowOutcome, forms: dict[tuple[str, str], Path],
                 have: set[tuple[str, str]]) -> list[Prepared]:
    insp = o.inspection
    if insp is None:
        return []
    out: list[Prepared] = []
    try:
        for (form_key, fmt), path in sorted(forms.items()):
            if (FormType.generated(form_key), fmt) in have:
                continue
            out.append(prepare(ws, path, ItemMeta(
                form_type=FormType.generated(form_key), title=f"{insp.enterprise}{FORMS[form_key].title}",
                responsible=ws.config.name, date=insp.issue_date or date.today(), year=insp.year,
                serial=insp.serial, enterprise=insp.enterprise, uscc=insp.uscc, county=insp.county,
                original_name=path.name, format_version=PDF_FORMAT_VERSION if fmt == "pdf" else None,
            ), sync_dir=False, sync=False))  # fsynced together before its chunk commits (file_chunk)
    except BaseException:
        for p in out:
            p.discard()
        raise
    return out


def _file_together(s, ws: Workspace, rows: list[RowOutcome], ready: dict[int, list[Prepared]],  # type: ignore[no-untyped-def]
                   actor: str | None) -> bool:
    """The chunk's rows in one SAVEPOINT and one :func:`file_prepared_many`: the same items and audit
    entries, in the same order, as row after row, for half the CPU (one query per kind of fact and
    one flush for the chunk).  False when that is not for this chunk (a row with an over-cap
    entry to log between its documents, a single row) or it failed: nothing is filed then and the
    prepared files are kept, for :func:`file_chunk` to file row by row, each failure its own."""
    if len(rows) < 2 or any(o.inspection is None or (o.over_cap and not o.existing) for o in rows):
        return False
    visits = {v.serial: v for v in s.scalars(select(register.Visit).where(
        register.Visit.serial.in_([o.serial for o in rows])))}
    docs = [p for o in rows for p in _with_visit(ready[o.row], visits.get(o.serial))]
    try:
        with s.begin_nested():
            file_prepared_many(s, ws, docs, actor=actor, discard=False)
    except (RuqiError, OSError, DatabaseError):
        return False
    return True


def _with_visit(ready: list[Prepared], visit: register.Visit | None) -> list[Prepared]:
    """The generated card carries its visit: what `ruqi archive repair` restores the register from."""
    card_extra = {"visit": register.visit_snapshot(visit)} if visit is not None else {}
    return [replace(p, meta=replace(p.meta, extra=card_extra)) if p.meta.form_type == FormType.CARD_GENERATED else p
            for p in ready]


def _file_row(s, ws: Workspace, o: RowOutcome, ready: list[Prepared], actor: str | None,  # type: ignore[no-untyped-def]
              reason: str) -> None:
    insp = o.inspection
    if insp is None:
        return
    file_prepared_many(s, ws, _with_visit(ready, register.by_serial(s, insp.serial)), actor=actor)
    if o.over_cap and not o.existing:
        log_action(ws, Action.OVERRIDE, insp.serial, actor=actor, session=s, details={
            "reason": reason, "rule": o.cap_rule, "row": o.row,
            "enterprise": insp.enterprise, "uscc": insp.uscc})


def withdraw_failed(ws: Workspace, rows: list[RowOutcome], out_dir: Path) -> None:
    """Take back the visits this run recorded for rows whose documents failed, and their partial
    output: an inspection is registered only together with its documents."""
    from .render import FORM_KEYS, output_name

    failed = [o for o in rows if o.status is not RowStatus.GENERATED and o.inspection is not None and o.serial]
    for o in failed:
        insp = o.inspection
        assert insp is not None
        for form_key in FORM_KEYS:
            for fmt in ("docx", "pdf"):
                (out_dir / output_name(insp.serial, insp.enterprise, form_key, fmt)).unlink(missing_ok=True)
    fresh = [o for o in failed if not o.existing]
    if not fresh:
        return
    try:
        with session(ws) as s:
            for o in fresh:
                v = register.by_serial(s, o.serial)
                if v is not None and v.register_state == register.RegisterState.SHARED:
                    o.findings.add(shared_register.void_shared(ws, o.serial, "文书未生成，撤回登记"))
                register.withdraw(s, o.serial)
    except (OSError, DatabaseError) as e:
        why = database_finding(e).message if isinstance(e, DatabaseError) else os_reason(e)
        for o in fresh:
            o.findings.add(error(GenCode.WITHDRAW_FAILED,
                                 f"检查编号 {o.serial} 已登记但文书未生成，登记未能撤回（{why}）。排除故障后用同一计划重新运行 "
                                 "ruqi generate，即可补生成这些文书（不会重复登记）。", f"第{o.row}行"))
        return
    for o in fresh:
        o.findings.add(error(GenCode.WITHDRAWN, f"文书未生成，已撤回本次登记（检查编号 {o.serial} 作废，不计入台账和次数）。"
                                                "排除故障后重新运行即可。", f"第{o.row}行"))
        assert o.inspection is not None
        o.inspection.serial = ""


MANIFEST_HEADERS = ("行号", "状态", "检查编号", "企业名称", "统一社会信用代码", "所属县区", "检查类别", "开始日期", "结束日期",
                    "发文日期", "本年度第N次", "第M次（本类别）", "超次数", "问题", "文件")
STATUS_ZH = {RowStatus.GENERATED: "已生成", RowStatus.READY: "可生成（仅检查）", RowStatus.REFUSED: "超次数未生成",
             RowStatus.INVALID: "有错误未生成"}


def write_manifest(result: BatchResult) -> list[Path]:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    result.out_dir.mkdir(parents=True, exist_ok=True)
    js = result.out_dir / "manifest.json"
    js.write_text(json.dumps({"batch": result.batch, "rows": [o.to_json() for o in result.outcomes]},
                             ensure_ascii=False, indent=1), encoding="utf-8")
    wb = Workbook()
    sh = wb.active
    sh.title = "生成清单"
    append_row(sh, MANIFEST_HEADERS)
    for c in sh[1]:
        c.font = Font(bold=True)
    for o in result.outcomes:
        i = o.inspection
        # enterprise names and basis come from outside: never a formula, never a control character
        append_row(sh, [
            o.row, STATUS_ZH[o.status], o.serial, i.enterprise if i else "", i.uscc if i else "",
            i.county if i else "", i.kind if i else "", i.start if i else None, i.end if i else None,
            i.issue_date if i and o.serial else None, i.visit_total if i and o.serial else None, i.visit_kind if i and o.serial else None,
            "是（已批准）" if o.over_cap else "", "；".join(str(f) for f in o.findings),
            "\n".join(p.name for p in o.files),
        ])
    xl = result.out_dir / "生成清单.xlsx"
    wb.save(xl)
    return [xl, js]
