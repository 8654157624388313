"""``ruqi register import FILE.xlsx``: visits made outside ruqi (recorded in 互联网+执法, or on paper),
so the caps and the visit numbers are right from the first day.

Each row is checked like a plan row (``engine.cells`` reads the cells, ``engine.identifiers``
checks the 统一社会信用代码); a bad row is reported with its row, column and what to correct, and
the good rows are imported all the same.  A row already in the register (the same enterprise,
kind, dates and unit) is counted once, so importing a file twice changes nothing.

Without ``[register]`` the visits go into this workspace's ``outside_visits`` (any unit's: a
county's paper list counts too).  With the shared register each bureau imports its own outside
visits, booked under its division code (the row-level security refuses anything else).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select

from .actor import current_actor
from .archive import Action, log_action
from .caps import INDUSTRIES, grades_for
from .cells import cell_text, is_blank, parse_date
from .db import session
from .findings import Finding, Findings, RuqiError, error, exception_detail, warning
from .forms import INSPECTION_KINDS, normalize_kind
from .identifiers import check_uscc, normalize_uscc
from .register import Book, LocalBook, OutsideVisit, Visit, live
from .shared_register import shared_book
from .workspace import LEVELS, Workspace


class ImportCode(StrEnum):
    UNREADABLE = "IMPORT_UNREADABLE"
    NOT_A_LIST = "IMPORT_NOT_A_VISIT_LIST"
    REQUIRED = "IMPORT_FIELD_REQUIRED"
    USCC = "IMPORT_USCC_INVALID"
    KIND = "IMPORT_KIND_UNKNOWN"
    DATE = "IMPORT_DATE_INVALID"
    LEVEL = "IMPORT_LEVEL_UNKNOWN"
    INDUSTRY = "IMPORT_INDUSTRY_UNKNOWN"
    OTHER_UNIT = "IMPORT_OTHER_UNIT"
    DUPLICATE = "IMPORT_DUPLICATE_ROW"
    SHIFTS_CARDS = "IMPORT_PRINTED_CARDS_SHIFTED"  # an imported visit dated before cards already printed


# key → (header, aliases, required)
COLUMNS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "enterprise": ("企业名称", ("被检查单位", "单位名称", "企业"), True),
    "uscc": ("统一社会信用代码", ("信用代码", "社会信用代码"), True),
    "kind": ("检查类别", ("检查类型", "检查方式"), True),
    "start": ("开始日期", ("检查开始日期", "检查日期", "开始时间"), True),
    "end": ("结束日期", ("检查结束日期", "结束时间"), False),
    "unit": ("检查单位", ("实施单位", "检查机关"), False),
    "level": ("单位级别", ("级别", "层级"), False),
    "industry": ("行业类别", ("行业",), False),
    "grade": ("等级", ("分级", "标准化等级"), False),
}
HEADER_SCAN_ROWS = 10
IMPORT_KEY = "IMP-"  # how an imported visit's key starts (a ruqi serial starts with its division code)


@dataclass(slots=True)
class ImportResult:
    rows: int = 0
    imported: list[int] = field(default_factory=list)  # worksheet rows imported
    duplicates: int = 0  # rows already in the register
    rejected: int = 0
    findings: Findings = field(default_factory=Findings)

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "imported": self.imported, "duplicates": self.duplicates, "rejected": self.rejected,
                "errors": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True, slots=True)
class OutsideRow:
    row: int
    enterprise: str
    uscc: str
    kind: str
    start: date
    end: date
    unit: str
    level: str
    industry: str
    grade: str

    @property
    def key(self) -> str:
        """The same visit gives the same key, whoever imports it and however often."""
        basis = "|".join((self.uscc, self.kind, self.start.isoformat(), self.end.isoformat(), self.unit))
        return IMPORT_KEY + hashlib.sha256(basis.encode()).hexdigest()[:24]


def _norm(v: Any) -> str:
    return re.sub(r"[\s\u3000*＊]|（必填）|\(必填\)|（选填）", "", str(v or ""))


def _header(rows: list[list[Any]]) -> tuple[int | None, dict[str, int]]:
    names = {_norm(n): k for k, (h, aliases, _) in COLUMNS.items() for n in (h, *aliases)}
    best: tuple[int | None, dict[str, int]] = (None, {})
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        mapping: dict[str, int] = {}
        for j, v in enumerate(row):
            k = names.get(_norm(v))
            if k and k not in mapping:
                mapping[k] = j
        if len(mapping) > len(best[1]):
            best = (i, mapping)
    return best


def read_rows(path: Path, ws: Workspace) -> tuple[list[OutsideRow], ImportResult]:
    """The file's rows, checked: good rows, and a result holding one finding per bad cell."""
    from python_calamine import CalamineWorkbook

    res = ImportResult()
    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as e:  # any parser failure means "not a workbook we can read"
        res.findings.add(error(ImportCode.UNREADABLE, f"无法打开“{path.name}”：请确认它是 Excel 工作簿（.xlsx）。", path.name,
                               exception_detail(e)))
        return [], res
    at, mapping = _header(rows)
    missing = [COLUMNS[k][0] for k, (_, _, req) in COLUMNS.items() if req and k not in mapping]
    if at is None or missing:
        res.findings.add(error(ImportCode.NOT_A_LIST, f"“{path.name}”缺少必填列：{'、'.join(missing) or '全部'}。"
                               "导入表须有“企业名称”“统一社会信用代码”“检查类别”“开始日期”列（可另有“结束日期”“检查单位”"
                               "“单位级别”“行业类别”“等级”）。", path.name))
        return [], res
    good: list[OutsideRow] = []
    seen: dict[str, int] = {}
    for i in range(at + 1, len(rows)):
        raw = {k: rows[i][j] if j < len(rows[i]) else None for k, j in mapping.items()}
        if all(is_blank(v) for v in raw.values()):
            continue
        res.rows += 1
        row, problems = _check(i + 1, raw, mapping, ws)
        if row is not None and row.key in seen:
            problems.append(warning(ImportCode.DUPLICATE, f"与第{seen[row.key]}行是同一次检查，只导入一次。", f"第{i + 1}行"))
            res.duplicates += 1
            res.findings.extend(problems)
            continue
        res.findings.extend(problems)
        if row is None:
            res.rejected += 1
            continue
        seen[row.key] = i + 1
        good.append(row)
    return good, res


def _check(n: int, raw: dict[str, Any], mapping: dict[str, int], ws: Workspace) -> tuple[OutsideRow | None, list[Finding]]:
    from openpyxl.utils import get_column_letter

    def w(key: str) -> str:
        return f"第{n}行 {COLUMNS[key][0]}（{get_column_letter(mapping[key] + 1)}列）" if key in mapping \
            else f"第{n}行 {COLUMNS[key][0]}"

    f: list[Finding] = []
    text = {k: cell_text(raw.get(k)) for k in COLUMNS}
    for k, (header, _, req) in COLUMNS.items():
        if req and not text[k]:
            f.append(error(ImportCode.REQUIRED, f"“{header}”未填写。", w(k)))
    uscc = normalize_uscc(text["uscc"])
    bad_uscc = check_uscc(uscc, w("uscc")) if uscc else None
    if bad_uscc is not None:
        f.append(error(ImportCode.USCC, bad_uscc.message, w("uscc")))
    kind = normalize_kind(text["kind"])
    if kind and kind not in INSPECTION_KINDS:
        f.append(error(ImportCode.KIND, f"检查类别“{kind}”无法识别，应为：{'、'.join(INSPECTION_KINDS)}。", w("kind")))
    start = parse_date(raw.get("start"))
    end = parse_date(raw.get("end")) if not is_blank(raw.get("end")) else start
    for k, d in (("start", start), ("end", end)):
        if d is None and text[k]:
            f.append(error(ImportCode.DATE, f"无法识别的日期“{text[k]}”，请填写如 2025-3-10。", w(k)))
    if start and end and end < start:
        f.append(error(ImportCode.DATE, f"结束日期（{end:%Y-%m-%d}）早于开始日期（{start:%Y-%m-%d}）。", w("end")))
    level = text["level"].removesuffix("级") or ws.config.level
    if level not in LEVELS:
        f.append(error(ImportCode.LEVEL, f"单位级别“{text['level']}”无法识别，应为：{'、'.join(LEVELS)}。", w("level")))
    industry, grade = text["industry"], text["grade"].upper().replace("类", "")
    if industry and (industry not in INDUSTRIES or (grade and grade not in grades_for(industry))):
        f.append(error(ImportCode.INDUSTRY, f"行业类别、等级“{industry} {grade}”无法识别：行业应为 {'、'.join(INDUSTRIES)}，"
                                            "等级按行业填写（煤矿、非煤矿山填 A–D，其他填 一级/二级/三级/未定级）。", w("industry")))
    unit = text["unit"] or ws.config.name
    if ws.config.register is not None and unit != ws.config.name:
        f.append(error(ImportCode.OTHER_UNIT, f"检查单位“{unit}”不是本局（{ws.config.name}）：共享台账中每个单位只导入本单位的检查，"
                                              "其他单位的检查请由该单位导入。", w("unit")))
    if any(x.is_error for x in f) or start is None or end is None:
        return None, f
    return OutsideRow(n, text["enterprise"], uscc, kind, start, end, unit, level, industry, grade), f


def import_visits(ws: Workspace, path: Path, *, actor: str | None = None) -> ImportResult:
    """Import a file of outside visits: every good row, every bad one explained."""
    rows, res = read_rows(Path(path), ws)
    if not rows:
        return res
    try:
        if ws.config.register is not None:
            with shared_book(ws) as book:
                for r in rows:
                    if book.book_outside(r.key, r.uscc, r.enterprise, r.start.year, r.kind, r.start, r.end,
                                         r.industry, r.grade):
                        res.imported.append(r.row)
                    else:
                        res.duplicates += 1
                res.findings.extend(shifted_cards(book, [r for r in rows if r.row in res.imported]))
        else:
            _import_local(ws, rows, res, current_actor(actor), Path(path).name)
    except RuqiError as e:
        res.imported.clear()
        res.findings.extend(e.findings)
        return res
    if res.imported:
        log_action(ws, Action.REGISTER_IMPORT, Path(path).name, actor=actor, details={
            "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(), "rows": res.rows,
            "imported": res.imported, "duplicates": res.duplicates, "rejected": res.rejected,
            "shared": ws.config.register is not None})
    return res


def _import_local(ws: Workspace, rows: list[OutsideRow], res: ImportResult, actor: str, source: str) -> None:
    with session(ws) as s:
        for r in rows:
            known = s.scalar(select(OutsideVisit.id).where(OutsideVisit.key == r.key)) is not None or \
                (r.unit == ws.config.name and s.scalar(select(Visit.id).where(
                    Visit.uscc == r.uscc, Visit.kind == r.kind, Visit.start == r.start, Visit.end == r.end, live()))
                 is not None)
            if known:
                res.duplicates += 1
                continue
            s.add(OutsideVisit(key=r.key, uscc=r.uscc, enterprise=r.enterprise, year=r.start.year, kind=r.kind,
                               start=r.start, end=r.end, unit=r.unit, level=r.level, source=source, actor=actor))
            s.flush()
            res.imported.append(r.row)
        res.findings.extend(shifted_cards(LocalBook(s), [r for r in rows if r.row in res.imported]))


def shifted_cards(book: Book, imported: list[OutsideRow]) -> list[Finding]:
    """A warning per imported visit dated before visits whose cards are already printed (any bureau's,
    not other imported ones, which print nothing): their 第N次 is now one short."""
    book.hold({(r.uscc, r.start.year) for r in imported})
    out = []
    for r in imported:
        later = sorted((e.start, e.key) for e in book.entries(r.uscc, r.start.year)
                       if not e.key.startswith(IMPORT_KEY) and (e.start, e.end) > (r.start, r.end))
        if later:
            out.append(warning(ImportCode.SHIFTS_CARDS,
                               f"导入的检查（{r.start:%Y-%m-%d}，{r.kind}）早于已登记的检查 "
                               + "、".join(f"{k}（{d:%Y-%m-%d}）" for d, k in later)
                               + "，这些检查的反馈卡上所印的“第N次”已不正确（按检查日期各应加一），请告知相关单位。",
                               f"第{r.row}行"))
    return out
