"""Generate the three forms for every valid row of a plan.

Steps, each with a typed result: read the plan (per-cell findings) → check the annual cap and
record the visit in the register (one transaction) → render docx/PDF for the whole batch →
file the generated forms in the archive → write the batch manifest.  A bad row never stops
the good ones; the outcome of every row is reported.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from . import register
from .caps import check_cap
from .db import session
from .findings import Finding, Findings, error, warning
from .forms import FORMS
from .forms.context import build_context
from .inspection import Inspection
from .plan import BY_KEY, Plan, PlanRow, read_plan
from .render.codes import RenderCode
from .render.fonts import uncovered
from .workspace import Workspace
from .xlsx_safe import append_row

Progress = Callable[[int, int], None]


class RowStatus(StrEnum):
    GENERATED = "generated"
    REFUSED = "refused"  # valid, but over its annual cap
    INVALID = "invalid"


class GenCode(StrEnum):
    REASON_REQUIRED = "OVERRIDE_REASON_REQUIRED"
    RENDER_FAILED = "RENDER_FAILED"


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
) -> BatchResult:
    plan = read_plan(plan_path, plan_city_code(ws))
    batch = _new_batch_name(ws, Path(plan_path).stem)
    out_dir = ws.outbox / batch
    result = BatchResult(batch, out_dir, [], plan.findings)
    if not plan.ok:
        return result
    if allow_over_cap and not reason.strip():
        result.plan_findings.add(error(GenCode.REASON_REQUIRED, "使用 --allow-over-cap 时必须用 --reason 写明超次数检查的理由。"))
        return result
    result.outcomes = record_rows(ws, plan, batch, allow_over_cap, reason, actor, issue_date)
    todo = [o for o in result.outcomes if o.status is RowStatus.GENERATED]
    if "pdf" in formats:
        for o in todo:
            o.findings.extend(glyph_findings(o))
    render_rows(ws, todo, out_dir, formats, progress, workers)
    file_rows(ws, todo, actor, reason)
    result.manifest = write_manifest(result)
    _log_batch(ws, result, actor)
    return result


def _log_batch(ws: Workspace, result: BatchResult, actor: str | None) -> None:
    from .archive import log_action

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


def render_rows(ws: Workspace, rows: list[RowOutcome], out_dir: Path, formats: Sequence[str],
                progress: Progress | None, workers: int | None) -> None:
    from .render import render_batch

    if not rows:
        return
    key = ws.key
    contexts = [build_context(o.inspection, ws.config, key) for o in rows if o.inspection]
    sets = render_batch(contexts, out_dir, formats=tuple(formats), workers=workers, progress=progress,
                        pdf_variant=PDF_VARIANT)
    by_serial = {rs.serial: rs for rs in sets}
    for o in rows:
        rs = by_serial.get(o.serial)
        if rs is None:
            o.status = RowStatus.INVALID
            o.findings.add(error(GenCode.RENDER_FAILED, "文书生成失败，请联系管理员查看日志。", f"第{o.row}行"))
            continue
        o.forms = dict(rs.files)


def file_rows(ws: Workspace, rows: list[RowOutcome], actor: str | None, reason: str = "") -> None:
    """File each inspection's generated forms in the archive, one transaction per inspection.

    A form already in the archive for that serial is not filed again, so a run interrupted
    between the register and the archive is completed by simply running the plan again.
    """
    from .archive import ItemMeta, file_item, items_for_serial, log_action

    for o in rows:
        insp = o.inspection
        if insp is None:
            continue
        have = {(i.form_type, i.format) for i in items_for_serial(ws, insp.serial)}
        with session(ws) as s:
            for (form_key, fmt), path in sorted(o.forms.items()):
                if (FORM_TYPES[form_key], fmt) in have:
                    continue
                file_item(ws, path, ItemMeta(
                    form_type=FORM_TYPES[form_key], title=f"{insp.enterprise}{FORMS[form_key].title}",
                    responsible=ws.config.name, date=insp.issue_date or date.today(), year=insp.year,
                    serial=insp.serial, enterprise=insp.enterprise, uscc=insp.uscc, county=insp.county,
                    original_name=path.name,
                ), actor=actor, session=s)
            if o.over_cap and not o.existing:
                log_action(ws, "override", insp.serial, actor=actor, session=s, details={
                    "reason": reason, "rule": next((f.message for f in o.findings if f.code == "OVER_CAP"), ""),
                    "enterprise": insp.enterprise, "uscc": insp.uscc})


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
    append_row(sh, MANIFEST_HEADERS)
    for c in sh[1]:
        c.font = Font(bold=True)
    for o in result.outcomes:
        i = o.inspection
        # enterprise names and basis come from outside: never a formula, never a control character
        append_row(sh, [
            o.row, STATUS_ZH[o.status], o.serial, i.enterprise if i else "", i.uscc if i else "",
            i.county if i else "", i.kind if i else "", i.start if i else None, i.end if i else None,
            i.visit_total if i and o.serial else None, i.visit_kind if i and o.serial else None,
            "是" if o.over_cap else "", "；".join(str(f) for f in o.findings),
            "\n".join(p.name for p in o.files),
        ])
    xl = result.out_dir / "生成清单.xlsx"
    wb.save(xl)
    return [xl, js]
