"""Inspection plans: the blank workbook a clerk fills, and reading it back row by row.

Columns are matched by header text in any order; extra columns are ignored.  Each row becomes
a ``PlanRow`` holding either an ``Inspection`` or the findings that explain, by row and
column, what the clerk must correct.  A bad row never stops the good ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .caps import ALL_GRADES, INDUSTRIES, grades_for
from .cells import cell_text as _text
from .cells import is_blank as _blank
from .cells import parse_date, text_findings
from .divisions import Division, find_county
from .findings import Finding, Findings, error, exception_detail, warning
from .forms import INSPECTION_KINDS, NO, YES, InspectionKind, normalize_kind
from .identifiers import check_uscc, normalize_uscc
from .inspection import Inspection
from .jurisdiction import CROSS_REASONS, cross_reason_finding
from .text import printable

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    pass


class PlanCode(StrEnum):
    UNREADABLE = "PLAN_UNREADABLE"
    NOT_FOUND = "PLAN_NOT_FOUND"  # --plan names nothing that is there
    IS_FOLDER = "PLAN_IS_FOLDER"  # --plan names a folder, not the plan file in it
    TEMPLATE_EXISTS = "PLAN_TEMPLATE_EXISTS"  # plan-template would overwrite a file (a filled plan?)
    NOT_A_PLAN = "PLAN_NOT_A_PLAN"
    MISSING_COLUMN = "PLAN_MISSING_COLUMN"
    REQUIRED = "FIELD_REQUIRED"
    COUNTY_UNKNOWN = "COUNTY_UNKNOWN"
    INDUSTRY_UNKNOWN = "INDUSTRY_UNKNOWN"
    GRADE_INVALID = "GRADE_INVALID"
    KIND_UNKNOWN = "KIND_UNKNOWN"
    DATE_INVALID = "DATE_INVALID"
    DATE_ORDER = "DATE_ORDER"
    YESNO_INVALID = "YESNO_INVALID"
    DUPLICATE_ROW = "PLAN_DUPLICATE_ROW"
    EXAMPLE_ROW = "PLAN_EXAMPLE_ROW"
    ISSUE_AFTER_START = "ISSUE_DATE_AFTER_START"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    header: str
    required: bool
    aliases: tuple[str, ...] = ()
    width: int = 14
    example: Any = ""


COLUMNS: tuple[Column, ...] = (
    Column("enterprise", "企业名称", True, ("被检查单位", "单位名称", "企业"), 30, "大同市示例煤业有限公司"),
    Column("uscc", "统一社会信用代码", True, ("信用代码", "社会信用代码"), 22, "91140200MA0K123454"),
    Column("county", "所属县区", True, ("县区", "所属县（区）", "所属区县", "县（市、区）"), 12, "平城区"),
    Column("industry", "行业类别", True, ("行业",), 12, "煤矿"),
    Column("grade", "等级", True, ("分级", "等级/分类", "标准化等级"), 10, "B"),
    Column("kind", "检查类别", True, ("检查类型", "检查方式"), 12, InspectionKind.ENFORCEMENT),
    Column("basis", "检查依据", True, ("依据",), 30, "《大同市应急管理局2025年度安全生产监督检查计划》"),
    Column("joint_units", "联合单位", False, (), 20, ""),
    Column("start", "开始日期", True, ("检查开始日期", "开始时间"), 12, date(2025, 3, 10)),
    Column("end", "结束日期", True, ("检查结束日期", "结束时间"), 12, date(2025, 3, 11)),
    Column("leader", "组长", True, ("检查组长",), 10, "张建国"),
    Column("members", "成员", False, ("检查组成员", "组员"), 20, "李明、王芳"),
    Column("experts", "专家", False, ("随行专家",), 14, "赵强"),
    Column("content", "检查内容", False, ("内容", "重点检查内容"), 30, "通风、瓦斯防治、机电运输"),
    Column("benchmark", "标杆企业", False, (), 10, NO),
    Column("key_supervision", "重点监管", False, ("重点监管名单",), 10, NO),
    # The date printed on the 通知书 and 公示 (落款日期); blank: the --issue-date of the run, else today.
    Column("issue_date", "发文日期", False, ("落款日期", "签发日期", "通知书日期", "印发日期"), 12, date(2025, 3, 7)),
    # A 县 bureau's visit to an enterprise of another county: the approved reason (engine.jurisdiction).
    Column("cross_reason", "跨县区事由", False, ("跨区检查事由", "异地检查事由"), 14, ""),
)
BY_KEY = {c.key: c for c in COLUMNS}
# Longest text each field may hold (characters): the longest real values with room to spare, and
# short enough that a row at every limit still gives a card of at most 2 pages (tests render one).
MAX_CHARS: dict[str, int] = {
    "enterprise": 100, "uscc": 30, "county": 30, "industry": 20, "grade": 10, "kind": 10, "basis": 120,
    "joint_units": 100, "start": 30, "end": 30, "leader": 20, "members": 120, "experts": 60, "content": 150,
    "benchmark": 10, "key_supervision": 10, "issue_date": 30, "cross_reason": 20,
}
HEADER_SCAN_ROWS = 10  # the header row may sit under a title or a note
EXAMPLE_SHEET = "填写示例"


@dataclass(slots=True)
class PlanRow:
    row: int  # 1-based worksheet row, as Excel shows it
    inspection: Inspection | None
    findings: Findings = field(default_factory=Findings)

    @property
    def ok(self) -> bool:
        return self.inspection is not None and self.findings.ok


@dataclass(slots=True)
class Plan:
    path: Path
    rows: list[PlanRow]
    findings: Findings = field(default_factory=Findings)  # about the file as a whole

    @property
    def ok(self) -> bool:
        return self.findings.ok


# ---- the blank plan workbook ----------------------------------------------------------------


def write_template(out: Path) -> Path:
    """The blank plan a clerk fills in Excel/WPS: Chinese headers, drop-downs, date cells.

    The example row lives on its own sheet (``填写示例``), never among the data rows: an example
    left in place would be registered as a real inspection.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wb = Workbook()
    ws = wb.active
    ws.title = "检查计划"
    ws.append([c.header for c in COLUMNS])
    thin = Side(style="thin", color="999999")
    for i, c in enumerate(COLUMNS, start=1):
        cell = ws.cell(1, i)
        cell.font = Font(bold=True, color="FFFFFF" if c.required else "000000")
        cell.fill = PatternFill("solid", fgColor="C00000" if c.required else "D9D9D9")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
        ws.column_dimensions[get_column_letter(i)].width = c.width
    ws.freeze_panes = "A2"
    last = 1000
    lists = {
        "industry": INDUSTRIES, "grade": ALL_GRADES, "kind": INSPECTION_KINDS,
        "benchmark": (YES, NO), "key_supervision": (YES, NO), "cross_reason": CROSS_REASONS,
    }
    for key, options in lists.items():
        col = get_column_letter(_index(key))
        dv = DataValidation(type="list", formula1=f'"{",".join(options)}"', allow_blank=True)
        dv.error, dv.errorTitle = f"请从下拉列表中选择：{'、'.join(options)}", "输入有误"
        dv.add(f"{col}2:{col}{last}")
        ws.add_data_validation(dv)
    for key in ("start", "end", "issue_date"):
        col = get_column_letter(_index(key))
        dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True)
        dv.error, dv.errorTitle = "请输入日期，例如 2025-3-10", "日期有误"
        dv.add(f"{col}2:{col}{last}")
        ws.add_data_validation(dv)
        for r in range(2, last + 1):
            ws[f"{col}{r}"].number_format = "yyyy-mm-dd"
    ws[f"{get_column_letter(_index('uscc'))}2"].number_format = "@"
    notes = wb.create_sheet("填写说明")
    for line in _instructions():
        notes.append([line])
    notes.column_dimensions["A"].width = 100
    example = wb.create_sheet(EXAMPLE_SHEET)
    example.append([c.header for c in COLUMNS])
    example.append([c.example for c in COLUMNS])
    for i, c in enumerate(COLUMNS, start=1):
        example.column_dimensions[get_column_letter(i)].width = c.width
        if isinstance(c.example, date):
            example.cell(2, i).number_format = "yyyy-mm-dd"
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def _index(key: str) -> int:
    return [c.key for c in COLUMNS].index(key) + 1


def _instructions() -> Iterable[str]:
    yield "入企检查计划填写说明"
    yield f"1. 红色表头为必填项；灰色为选填项。填写示例见“{EXAMPLE_SHEET}”工作表；“检查计划”表从第2行起每行一次检查。"
    yield "2. 行业类别：" + "、".join(INDUSTRIES) + "。"
    yield "3. 等级：煤矿、非煤矿山填 A/B/C/D；危险化学品、金属冶炼、非高危行业填 一级/二级/三级/未定级。"
    yield "4. 检查类别：" + "、".join(INSPECTION_KINDS) + "。"
    yield "5. 成员、专家多人时用顿号（、）或逗号分隔。"
    yield "6. 日期填 2025-3-10 或 2025年3月10日 均可。"
    yield "7. 标杆企业、重点监管填 是 或 否；标杆企业非重点监管的，不安排执法检查。"
    yield "8. 列的顺序可以调整，多余的列会被忽略。"
    yield ("9. 发文日期：通知书、公示落款的日期，应不晚于开始日期；不填时用生成命令的 --issue-date，"
           "再不填用生成当天（当天已晚于开始日期时用开始日期）。")


# ---- reading a filled plan ------------------------------------------------------------------


def read_plan(path: str | Path, city_code: str | None = None) -> Plan:
    """Read and check a filled plan. Never raises for bad content: problems are findings."""
    path = Path(path)
    plan = Plan(path, [])
    try:
        rows = _load_rows(path)
    except Exception as e:  # any parser failure means "not a workbook we can read"
        plan.findings.add(
            error(PlanCode.UNREADABLE, f"无法打开计划文件“{path.name}”：请确认它是 Excel 工作簿（.xlsx）。",
                  path.name, exception_detail(e))
        )
        return plan
    header_at, mapping = _find_header(rows)
    missing = [c for c in COLUMNS if c.required and c.key not in mapping]
    if header_at is None or len(missing) > len([c for c in COLUMNS if c.required]) // 2:
        plan.findings.add(
            error(PlanCode.NOT_A_PLAN, f"“{path.name}”不是入企检查计划：找不到“企业名称”“统一社会信用代码”等表头。"
                  "请用 ruqi plan-template 生成的模板填写。", path.name)
        )
        return plan
    if missing:
        plan.findings.add(
            error(PlanCode.MISSING_COLUMN, f"计划缺少必填列：{'、'.join(c.header for c in missing)}。请补上这些列后重试。",
                  f"第{header_at + 1}行")
        )
        return plan
    seen: dict[tuple[str, str, str, str], int] = {}
    for i in range(header_at + 1, len(rows)):
        raw = {k: rows[i][j] if j < len(rows[i]) else None for k, j in mapping.items()}
        if all(_blank(v) for v in raw.values()):
            continue
        if is_example(raw):
            plan.findings.add(warning(PlanCode.EXAMPLE_ROW, f"第{i + 1}行是计划模板自带的示例（{BY_KEY['enterprise'].example}），"
                                      "不是真实检查，已跳过。", f"第{i + 1}行"))
            continue
        pr = parse_row(i + 1, raw, mapping, city_code)
        if pr.inspection is not None:
            key = pr.inspection.natural_key
            if key in seen:
                pr.findings.add(warning(PlanCode.DUPLICATE_ROW, f"与第{seen[key]}行是同一次检查（同一企业、类别和日期），只生成一次。",
                                        f"第{i + 1}行"))
            seen.setdefault(key, i + 1)
        plan.rows.append(pr)
    return plan


def is_example(raw: dict[str, Any]) -> bool:
    """The template's example row (older templates put it on the plan sheet itself)."""
    return all(_text(raw.get(k)) == BY_KEY[k].example for k in ("enterprise", "uscc"))


def _load_rows(path: Path) -> list[list[Any]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    sheet = wb.get_sheet_by_index(0)
    return sheet.to_python(skip_empty_area=False)


def _norm_header(v: Any) -> str:
    return re.sub(r"[\s\u3000*＊]|（必填）|\(必填\)|（选填）", "", str(v or ""))


def _find_header(rows: list[list[Any]]) -> tuple[int | None, dict[str, int]]:
    names = {}
    for c in COLUMNS:
        for n in (c.header, *c.aliases):
            names[_norm_header(n)] = c.key
    best: tuple[int | None, dict[str, int]] = (None, {})
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping: dict[str, int] = {}
        for j, v in enumerate(row):
            key = names.get(_norm_header(v))
            if key and key not in mapping:
                mapping[key] = j
        if len(mapping) > len(best[1]):
            best = (i, mapping)
    return best


NAME_LISTS = ("members", "experts")  # read with ``split_names``: a line break separates two names


def split_names(v: Any) -> list[str]:
    # A line break between two names separates them (cell_text would join them into one name).
    return [_text(p) for p in re.split(r"[、，,;；\s]+", printable("" if v is None else str(v))) if _text(p)]


def column_letter(n: int) -> str:
    """Excel's column name of the 1-based column ``n`` (1 → A, 27 → AA), as openpyxl's
    ``get_column_letter``: importing openpyxl for it (numpy with it) cost every ``ruqi generate``
    ~0.35 s of start-up, before the second core has any work."""
    letters = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _where(row: int, key: str, mapping: dict[str, int]) -> str:
    col = column_letter(mapping[key] + 1) if key in mapping else "?"
    return f"第{row}行 {BY_KEY[key].header}（{col}列）"


def parse_row(row: int, raw: dict[str, Any], mapping: dict[str, int], city_code: str | None) -> PlanRow:
    """One plan row → an Inspection, or findings naming each bad cell."""
    f = Findings()

    def w(key: str) -> str:
        return _where(row, key, mapping)

    for c in COLUMNS:
        if c.required and _blank(raw.get(c.key)):
            f.add(error(PlanCode.REQUIRED, f"“{c.header}”未填写。", w(c.key)))
        read_as = "、".join(split_names(raw.get(c.key))) if c.key in NAME_LISTS else None
        f.extend(text_findings(raw.get(c.key), w(c.key), c.header, MAX_CHARS.get(c.key), read_as=read_as))

    uscc = normalize_uscc(_text(raw.get("uscc")))
    if uscc:
        f.add(check_uscc(uscc, w("uscc")))

    county: Division | None = None
    if not _blank(raw.get("county")):
        county = find_county(_text(raw.get("county")), city_code)
        if county is None:
            f.add(error(PlanCode.COUNTY_UNKNOWN, f"县区“{_text(raw.get('county'))}”不在本市辖区名单中，请填写如“平城区”“云州区”。",
                        w("county")))

    industry, grade = _text(raw.get("industry")), _text(raw.get("grade")).upper().replace("类", "")
    if industry and industry not in INDUSTRIES:
        f.add(error(PlanCode.INDUSTRY_UNKNOWN, f"行业类别“{industry}”无法识别，应为：{'、'.join(INDUSTRIES)}。", w("industry")))
    elif industry and grade and grade not in grades_for(industry):
        f.add(error(PlanCode.GRADE_INVALID, f"{industry}的等级应为 {'/'.join(grades_for(industry))}，现为“{grade}”。", w("grade")))

    kind = normalize_kind(_text(raw.get("kind")))
    if kind and kind not in INSPECTION_KINDS:
        f.add(error(PlanCode.KIND_UNKNOWN, f"检查类别“{kind}”无法识别，应为：{'、'.join(INSPECTION_KINDS)}。"
                    "（帮扶指导、调查研究、考核巡查不属于入企检查。）", w("kind")))

    start, end = (parse_date(raw.get(k)) for k in ("start", "end"))
    for key, d in (("start", start), ("end", end)):
        if d is None and not _blank(raw.get(key)):
            f.add(error(PlanCode.DATE_INVALID, f"无法识别的日期“{_text(raw.get(key))}”，请填写如 2025-3-10。", w(key)))
    if start and end and end < start:
        f.add(error(PlanCode.DATE_ORDER, f"结束日期（{end:%Y-%m-%d}）早于开始日期（{start:%Y-%m-%d}）。", w("end")))
    issue = parse_date(raw.get("issue_date"))
    if issue is None and not _blank(raw.get("issue_date")):
        f.add(error(PlanCode.DATE_INVALID, f"无法识别的日期“{_text(raw.get('issue_date'))}”，请填写如 2025-3-10。", w("issue_date")))
    if issue and start and issue > start:
        f.add(issue_after_start(issue, start, w("issue_date")))

    flags = {}
    for key in ("benchmark", "key_supervision"):
        t = _text(raw.get(key))
        if t and t not in (YES, NO):
            f.add(error(PlanCode.YESNO_INVALID, f"“{BY_KEY[key].header}”只能填“是”或“否”，现为“{t}”。", w(key)))
        flags[key] = t == YES

    cross = _text(raw.get("cross_reason"))
    f.add(cross_reason_finding(cross, w("cross_reason")))

    if not f.ok or county is None or start is None or end is None:
        return PlanRow(row, None, f)
    insp = Inspection(
        enterprise=_text(raw["enterprise"]), uscc=uscc, county=county.name, county_code=county.code,
        industry=industry, grade=grade, kind=kind, basis=_text(raw["basis"]), start=start, end=end,
        leader=_text(raw["leader"]), members=split_names(raw.get("members")), experts=split_names(raw.get("experts")),
        joint_units=_text(raw.get("joint_units")), content=_text(raw.get("content")),
        benchmark=flags["benchmark"], key_supervision=flags["key_supervision"], issue_date=issue, cross_reason=cross,
    )
    return PlanRow(row, insp, f)


def issue_after_start(issue: date, start: date, where: str) -> Finding:
    return error(PlanCode.ISSUE_AFTER_START,
                 f"发文日期（{issue:%Y-%m-%d}）晚于检查开始日期（{start:%Y-%m-%d}）：通知书应在入企前交给企业，"
                 "请把发文日期改为开始日期当天或之前。", where)
