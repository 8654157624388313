"""Generate the three forms for every valid row of a plan.

Steps, each with a typed result: read the plan (per-cell findings) → check the annual cap and
record the visit in the register (one transaction) → render docx/PDF for the whole batch →
file the generated forms in the archive → write the batch manifest.  A bad row never stops
the good ones; the outcome of every row is reported.

A visit exists only together with its documents: a row whose forms could not be rendered or
filed (a broken template, a full disk, a read-only archive) has the visit this run recorded for
it withdrawn again, and its partial output removed, so the register, the caps and ``status``
never count an inspection whose documents do not exist.  (The serial is taken before rendering
because it is printed on the forms; holding the register's write lock through rendering would
block every ingest meanwhile.)  Only a process killed between the two steps leaves a visit
without documents; running the same plan again completes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.exc import DatabaseError

from . import register
from .archive import ItemMeta, audit, file_item, items_for_serial, log_action
from .caps import check_cap
from .db import database_finding, session
from .findings import Finding, Findings, RuqiError, error
from .forms import FORMS
from .forms.context import build_context
from .inspection import Inspection
from .plan import Plan, PlanRow, read_plan
from .render.lint import check_templates
from .stats.xlsx_safe import set_value
from .workspace import Workspace, os_reason

Progress = Callable[[int, int], None]


class RowStatus(StrEnum):
    GENERATED = "generated"
    REFUSED = "refused"  # valid, but over its annual cap
    INVALID = "invalid"


class GenCode(StrEnum):
    REASON_REQUIRED = "OVERRIDE_REASON_REQUIRED"
    RENDER_FAILED = "RENDER_FAILED"
    FILE_FAILED = "GENERATE_FILE_FAILED"  # the archive could not take the forms
    OUTPUT_FAILED = "GENERATE_OUTPUT_FAILED"  # outbox (batch folder, manifest) not writable
    WITHDRAWN = "GENERATE_VISIT_WITHDRAWN"  # the visit recorded for a failed row was taken back
    WITHDRAW_FAILED = "GENERATE_WITHDRAW_FAILED"
    TEMPLATES_BROKEN = "TEMPLATES_BROKEN"


# Generated PDFs are PDF/A-3b: the same file goes to the enterprise and, byte-identical, into the
# archive (DA/T 70 long-term format). WeasyPrint keeps the card's AcroForm checkboxes under PDF/A.
PDF_VARIANT = "pdf/a-3b"

# Archive form types of the generated documents (see engine.archive).
FORM_TYPES = {"notice": "notice", "notice_board": "notice_board", "card": "card_generated"}


@dataclass(slots=True)
class RowOutcome:
    row: int
    status: RowStatus
    inspection: Inspection | None = None
    forms: dict[tuple[str, str], Path] = field(default_factory=dict)  # (form key, format) → file
    findings: Findings = field(default_factory=Findings)
    existing: bool = False  # the visit was already in the register (plan generated before)
    over_cap: bool = False

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
            "files": [str(p) for p in self.files],
            "errors": [{"code": f.code, "message": f.message, "where": f.where, "severity": str(f.severity)}
                       for f in self.findings],
        }


@dataclass(slots=True)
class BatchResult:
    batch: str
    out_dir: Path
    outcomes: list[RowOutcome]
    plan_findings: Findings
    manifest: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.plan_findings.ok and all(o.status is RowStatus.GENERATED for o in self.outcomes)

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
    allow_over_cap: bool = False,
    reason: str = "",
    actor: str | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    issue_date: date | None = None,
    templates_dir: Path | None = None,
) -> BatchResult:
    plan = read_plan(plan_path, plan_city_code(ws))
    try:
        batch = _new_batch_name(ws, Path(plan_path).stem)
    except OSError as e:
        plan.findings.add(error(GenCode.OUTPUT_FAILED, f"无法在“{ws.outbox}”建立本批文书的文件夹：{os_reason(e)}。"
                                                       "未登记任何检查。", str(ws.outbox)))
        return BatchResult("", ws.outbox, [], plan.findings)
    out_dir = ws.outbox / batch
    result = BatchResult(batch, out_dir, [], plan.findings)
    if not plan.ok:
        return result
    if allow_over_cap and not reason.strip():
        result.plan_findings.add(error(GenCode.REASON_REQUIRED, "使用 --allow-over-cap 时必须用 --reason 写明超次数检查的理由。"))
        return result
    if not templates_ready(result.plan_findings, templates_dir):
        return result
    try:
        result.outcomes = record_rows(ws, plan, batch, allow_over_cap, reason, actor, issue_date)
    except DatabaseError as e:  # nothing was recorded: the transaction rolled back
        result.plan_findings.add(database_finding(e, ws.database_url))
        return result
    except RuqiError as e:  # the database is behind the archive: no number may be taken
        result.plan_findings.extend(e.findings)
        return result
    todo = [o for o in result.outcomes if o.status is RowStatus.GENERATED]
    render_rows(ws, todo, out_dir, formats, progress, workers, templates_dir)
    file_rows(ws, [o for o in todo if o.status is RowStatus.GENERATED], actor, reason)
    withdraw_failed(ws, todo, out_dir)
    try:
        result.manifest = write_manifest(result)
    except OSError as e:
        result.plan_findings.add(error(GenCode.OUTPUT_FAILED, f"生成清单无法写入“{out_dir}”：{os_reason(e)}。"
                                                              "已生成的文书已归档，可用 ruqi archive search 查到。", str(out_dir)))
    try:
        _log_batch(ws, result, actor)
    except (OSError, DatabaseError, RuqiError) as e:
        result.plan_findings.add(database_finding(e) if isinstance(e, DatabaseError) else e.finding
                                 if isinstance(e, RuqiError) else
                                 error(GenCode.OUTPUT_FAILED, f"审计日志无法写入：{os_reason(e)}。", str(ws.archive)))
    return result


def templates_ready(findings: Findings, templates_dir: Path | None = None) -> bool:
    """`ruqi templates check` before anything is registered: a broken template, or a Word and a PDF
    version that print different words, stops the whole run with the template, place and fix."""
    errors = [f for f in check_templates(templates_dir) if f.is_error]
    if not errors:
        return True
    findings.add(error(GenCode.TEMPLATES_BROKEN, "文书模板有错误，本次未生成任何文书、未登记任何检查。请按下列说明改正模板，"
                       "运行 ruqi templates check 确认无误后重新生成。"))
    findings.extend(errors)
    return False


def _log_batch(ws: Workspace, result: BatchResult, actor: str | None) -> None:
    log_action(ws, "generate", result.batch, actor=actor, details={
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


def record_rows(
    ws: Workspace, plan: Plan, batch: str, allow_over_cap: bool, reason: str, actor: str | None,
    issue_date: date | None,
) -> list[RowOutcome]:
    """Cap check + register, in one transaction so two clerks cannot both take the last visit."""
    outcomes: list[RowOutcome] = []
    with session(ws) as s:
        problem = audit.index_problem(ws, audit.last_seq(s))
        if problem is not None:
            raise RuqiError(problem)
        for pr in plan.rows:
            outcomes.append(_record_row(s, ws, pr, batch, allow_over_cap, reason, actor, issue_date))
    return outcomes


def _record_row(s, ws: Workspace, pr: PlanRow, batch: str, allow_over_cap: bool, reason: str,  # type: ignore[no-untyped-def]
                actor: str | None, issue_date: date | None) -> RowOutcome:
    out = RowOutcome(pr.row, RowStatus.INVALID, pr.inspection, findings=pr.findings)
    insp = pr.inspection
    if insp is None or not pr.findings.ok:
        return out
    if register.find_visit(s, insp) is None:
        done = register.counts(s, insp.uscc, insp.year)[insp.kind]
        over = check_cap(insp.industry, insp.grade, insp.kind, done, benchmark=insp.benchmark,
                         key_supervision=insp.key_supervision, where=f"第{pr.row}行")
        if over is not None:
            out.findings.add(over)
            if not allow_over_cap:
                out.status = RowStatus.REFUSED
                return out
            out.over_cap = True
    rec = register.record(s, insp, ws.config.division_code, batch=batch, actor=actor, over_cap=out.over_cap,
                          override_reason=reason if out.over_cap else "", issue_date=issue_date)
    out.existing = not rec.created
    out.status = RowStatus.GENERATED
    return out


def render_rows(ws: Workspace, rows: list[RowOutcome], out_dir: Path, formats: Sequence[str],
                progress: Progress | None, workers: int | None, templates_dir: Path | None = None) -> None:
    from .render import render_batch

    if not rows:
        return
    key = ws.key
    contexts = [build_context(o.inspection, ws.config, key) for o in rows if o.inspection]
    reasons: dict[str, str] = {}
    try:
        sets = render_batch(contexts, out_dir, formats=tuple(formats), workers=workers, progress=progress,
                            pdf_variant=PDF_VARIANT, templates_dir=templates_dir, on_failure=reasons.__setitem__)
    except (RuqiError, OSError) as e:  # nothing rendered at all (templates folder, output folder)
        sets, why = [], e.finding.message if isinstance(e, RuqiError) else _os_failure(e, out_dir)
        reasons = {o.serial: why for o in rows}
    by_serial = {rs.serial: rs for rs in sets}
    for o in rows:
        rs = by_serial.get(o.serial)
        if rs is None:
            o.status = RowStatus.INVALID
            o.findings.add(error(GenCode.RENDER_FAILED, render_failure_message(reasons.get(o.serial, ""), out_dir),
                                 f"第{o.row}行"))
            continue
        o.forms = dict(rs.files)


_ERRNO = re.compile(r"\[Errno (\d+)\]")


def render_failure_message(reason: str, out_dir: Path) -> str:
    """What went wrong with one inspection's forms, for the clerk (the renderer reports
    ``Type: message``, possibly from a worker process)."""
    m = _ERRNO.search(reason)
    if m:
        return _os_failure(OSError(int(m.group(1)), reason), out_dir)
    if "Template" in reason or "template" in reason or "模板" in reason:
        return f"文书模板有误，文书未生成：{reason}。请运行 ruqi templates check 查看并修改 templates/ 中的模板。"
    return f"文书生成失败：{reason or '原因不明'}。"


def _os_failure(e: OSError, folder: Path) -> str:
    return f"文书无法写入“{folder}”：{os_reason(e)}。"


def file_rows(ws: Workspace, rows: list[RowOutcome], actor: str | None, reason: str = "") -> None:
    """File each inspection's generated forms in the archive, one transaction per inspection.

    A form already in the archive for that serial is not filed again, so a run interrupted
    between the register and the archive is completed by simply running the plan again.
    A row that cannot be filed (disk full, read-only archive) is marked failed with the reason.
    """
    for o in rows:
        try:
            _file_row(ws, o, actor, reason)
        except (RuqiError, OSError, DatabaseError) as e:
            o.status = RowStatus.INVALID
            o.findings.add(_filing_finding(ws, o, e))


def _filing_finding(ws: Workspace, o: RowOutcome, e: Exception) -> Finding:
    where = f"第{o.row}行"
    if isinstance(e, RuqiError):
        return error(GenCode.FILE_FAILED, f"文书未能归档：{e.finding.message}", where)
    if isinstance(e, DatabaseError):
        f = database_finding(e)
        return error(GenCode.FILE_FAILED, f"文书未能归档：{f.message}", where)
    assert isinstance(e, OSError)
    return error(GenCode.FILE_FAILED, f"文书未能归档到“{e.filename or ws.archive}”：{os_reason(e)}。", where)


def _file_row(ws: Workspace, o: RowOutcome, actor: str | None, reason: str) -> None:
    insp = o.inspection
    if insp is None:
        return
    have = {(i.form_type, i.format) for i in items_for_serial(ws, insp.serial)}
    with session(ws) as s:
        visit = register.by_serial(s, insp.serial)
        # The generated card carries its visit: what `ruqi archive repair` restores the register from.
        card_extra = {"visit": register.visit_snapshot(visit)} if visit is not None else {}
        for (form_key, fmt), path in sorted(o.forms.items()):
            if (FORM_TYPES[form_key], fmt) in have:
                continue
            file_item(ws, path, ItemMeta(
                form_type=FORM_TYPES[form_key], title=f"{insp.enterprise}{FORMS[form_key].title}",
                responsible=ws.config.name, date=insp.issue_date or date.today(), year=insp.year,
                serial=insp.serial, enterprise=insp.enterprise, uscc=insp.uscc, county=insp.county,
                original_name=path.name, extra=card_extra if form_key == "card" else {},
            ), actor=actor, session=s)
        if o.over_cap and not o.existing:
            log_action(ws, "override", insp.serial, actor=actor, session=s, details={
                "reason": reason, "rule": next((f.message for f in o.findings if f.code == "OVER_CAP"), ""),
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
                    "本年度第N次", "第M次（本类别）", "超次数", "问题", "文件")
STATUS_ZH = {RowStatus.GENERATED: "已生成", RowStatus.REFUSED: "超次数未生成", RowStatus.INVALID: "有错误未生成"}


def write_manifest(result: BatchResult) -> list[Path]:
    result.out_dir.mkdir(parents=True, exist_ok=True)
    js = result.out_dir / "manifest.json"
    js.write_text(json.dumps({"batch": result.batch, "rows": [o.to_json() for o in result.outcomes]},
                             ensure_ascii=False, indent=1), encoding="utf-8")
    wb = Workbook()
    sh = wb.active
    sh.title = "生成清单"
    sh.append(MANIFEST_HEADERS)
    for c in sh[1]:
        c.font = Font(bold=True)
    for o in result.outcomes:
        i = o.inspection
        sh.append([
            o.row, STATUS_ZH[o.status], o.serial, i.enterprise if i else "", i.uscc if i else "",
            i.county if i else "", i.kind if i else "", i.start if i else None, i.end if i else None,
            i.visit_total if i and o.serial else None, i.visit_kind if i and o.serial else None,
            "是" if o.over_cap else "", "；".join(str(f) for f in o.findings),
            "\n".join(p.name for p in o.files),
        ])
    for row in sh.iter_rows(min_row=2):
        for c in row:
            set_value(c, c.value)  # enterprise names and basis come from outside: never a formula
    xl = result.out_dir / "生成清单.xlsx"
    wb.save(xl)
    return [xl, js]
