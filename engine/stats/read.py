"""Recognising and reading a returned statistics workbook (.xlsx or .xls).

Two ways in.  Our own blank comes back with hidden metadata (table, period, unit, signature),
so it is recognised for sure.  A unit's own file is recognised by its title and headers: the
header block is found by its texts (merged or not, two or three levels), each column by its leaf
header and, for generic leaves like ``应注册``, by the group above it, so the columns may come
in any order.  Rows are then read as people type them: blank and extra rows, a 合计 row, a
numbering row under the header, notes at the bottom.  Problems are findings, never exceptions.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ..cells import cell_text, parse_date
from ..findings import error, exception_detail, exception_reason, warning
from ..workspace import Workspace
from .codes import StatsCode
from .grid import SUFFIXES, XLSX_SUFFIXES, Book, Grid, is_blank, load, norm, text
from .model import Row, Submission
from .period import Period, quarter_in, year_in
from .tables import TABLES, ColType, Column, StatsKind, TableDef
from .units import Unit, resolve, units_for
from .validate import check

HEADER_SCAN_ROWS = 25  # the header may sit under a title, a 附件 label and a 填报 line
MAX_HEADER_DEPTH = 4
_GROUP_HINTS = ("注册数", "冶金工贸企业", "隐患排查上报", "实名认证", "季度")
_TOTAL = re.compile(r"^(合计|总计|全市合计|全市|全省合计|全省|汇总|总数)$")
_SUBTOTAL = re.compile(r"^小计")
_FOOTER = re.compile(r"^(注|说明|填报说明|填表说明|备注|填表人|填报人|审核人|审核|负责人|单位负责人|主要负责人|联系人|联系电话|"
                     r"制表人?|附注)\d*[:：]|^(填报说明|填表说明)$")
_ORDINALS = ("甲", "乙", "丙", "丁", "戊", "己", "庚")


@dataclass(slots=True)
class Match:
    table: TableDef
    top: int  # first header row (0-based)
    bottom: int  # last header row
    columns: dict[str, int]  # column key → sheet column
    missing: list[Column] = field(default_factory=list)  # required columns not found ("unit" excluded)
    title_hit: bool = False
    header_text: str = ""  # all header texts, for the quarter

    @property
    def complete(self) -> bool:
        return not self.missing

    def score(self) -> tuple[int, int, int]:
        return (int(self.complete), int(self.title_hit), len(self.columns))


# ---- header names ---------------------------------------------------------------------------


def _names(col: Column) -> set[str]:
    return {norm(n) for n in (col.leaf, *col.aliases)}


_NAMES = {t.no: {c.key: _names(c) for c in t.columns} for t in TABLES.values()}
_GENERIC = {t.no: {c.key: {norm(n) for n in c.generic} for c in t.columns} for t in TABLES.values()}
_KNOWN = set().union(*(n for tn in _NAMES.values() for n in tn.values()),
                     *(n for tn in _GENERIC.values() for n in tn.values()))


_UNIT_HEADERS = set().union(*(_NAMES[t.no]["unit"] for t in TABLES.values()))


def _is_header_text(t: str) -> bool:
    return bool(t) and (t in _KNOWN or any(h in t for h in _GROUP_HINTS))


# ---- recognising a sheet --------------------------------------------------------------------


def match_sheet(grid: Grid, only: TableDef | None = None) -> Match | None:
    """The table this sheet holds, where its header is and which column is which; None if no header."""
    block = _header_block(grid)
    if block is None:
        return None
    top, bottom = block
    contexts = _column_contexts(grid, top, bottom)
    above = norm("".join(text(v) for r in range(top) for v in grid.rows[r] if not is_blank(v)))
    header_text = "".join(ctx for _, ctx in contexts.values())
    best: Match | None = None
    for t in ([only] if only else TABLES.values()):
        m = _map_columns(t, contexts)
        m.top, m.bottom, m.header_text = top, bottom, header_text
        m.title_hit = any(norm(k) in above for k in t.keywords)
        if best is None or m.score() > best.score():
            best = m
    if best is None or (not best.complete and not best.title_hit and only is None):
        return None
    if not best.complete and len(best.columns) < 2 and not best.title_hit:
        return None
    return best


def _header_block(grid: Grid) -> tuple[int, int] | None:
    n = min(grid.height, HEADER_SCAN_ROWS)
    hits = [sum(_is_header_text(norm(grid.value(r, c))) for c in range(len(grid.rows[r]))) for r in range(n)]
    top = next((r for r in range(n) if hits[r] >= 2), None)
    if top is None:
        return None
    bottom = top
    for r0, _c0, r1, _c1 in grid.merges:
        if r0 == top and r1 - r0 < MAX_HEADER_DEPTH:
            bottom = max(bottom, r1)
    while bottom + 1 < n and bottom - top + 1 < MAX_HEADER_DEPTH and hits[bottom + 1] >= 1 \
            and not _has_numbers(grid.rows[bottom + 1]):
        bottom += 1
    return top, bottom


def _has_numbers(row: list[Any]) -> bool:
    return any(isinstance(v, int | float) and not isinstance(v, bool) for v in row)


def _column_contexts(grid: Grid, top: int, bottom: int) -> dict[int, tuple[str, str]]:
    """Column → (leaf header, all header texts of the column top to bottom).

    Merged group headers are seen through; an unmerged group typed once above its first column
    is carried right over the columns that have a header below it (how people draw it by hand).
    """
    width = max(len(grid.rows[r]) for r in range(top, bottom + 1))
    width = max([width, *(c1 + 1 for r0, _c0, _r1, c1 in grid.merges if top <= r0 <= bottom)])
    levels: list[list[str]] = []
    for r in range(top, bottom + 1):
        row = [norm(grid.value_at(r, c)) for c in range(width)]
        levels.append(row)
    for i in range(len(levels) - 1):
        for c in range(1, width):
            below = any(levels[k][c] for k in range(i + 1, len(levels)))
            left_below = any(levels[k][c - 1] for k in range(i + 1, len(levels)))
            if not levels[i][c] and grid.merge_at(top + i, c) is None and below and left_below and levels[i][c - 1]:
                levels[i][c] = levels[i][c - 1]
    out = {}
    for c in range(width):
        texts = [lv[c] for lv in levels if lv[c]]
        if texts:
            out[c] = (texts[-1], "".join(dict.fromkeys(texts)))
    return out


def _map_columns(t: TableDef, contexts: dict[int, tuple[str, str]]) -> Match:
    used: set[int] = set()
    columns: dict[str, int] = {}
    for col in t.columns:
        names, generic = _NAMES[t.no][col.key], _GENERIC[t.no][col.key]
        for c, (leaf, ctx) in contexts.items():
            if c in used:
                continue
            if leaf in names or (leaf in generic and all(k in ctx for k in col.context)):
                columns[col.key] = c
                used.add(c)
                break
    missing = [c for c in t.columns if c.required and c.key != "unit" and c.key not in columns]
    return Match(t, 0, 0, columns, missing)


# ---- public API -----------------------------------------------------------------------------


def recognise(path: str | Path) -> StatsKind | None:
    """Which statistics table a workbook is, cheaply (metadata, else the first rows); None if none.

    Never raises.  A workbook whose title names a table but whose columns are wrong is still
    recognised, so that ``read_submission`` can say what is missing.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        return None
    try:
        book = load(path, nrows=HEADER_SCAN_ROWS + 5)
    except Exception:
        return None
    if book.meta is not None and book.meta.table in TABLES:
        return StatsKind.of(book.meta.table)
    for grid in book.sheets:
        m = match_sheet(grid)
        if m is not None:
            return m.table.kind
    return None


def read_submission(path: str | Path, ws: Workspace, *, period: Period | None = None,
                    rounds: Mapping[int, Period] | None = None) -> Submission:
    """Read and check a returned workbook.  Never raises for bad input: problems are findings.

    ``period`` overrides the period found in the workbook (metadata, header, or the latest round).
    ``rounds``: the latest period issued per table (``submissions.issued_periods``), looked up by
    the caller: reading never opens the database, so it can run in the inbox's worker processes.
    """
    path = Path(path)
    sub = Submission(path)
    try:
        book = _open(path, ws, sub)
        if book is not None:
            _read(book, ws, sub, period, rounds or {})
    except Exception as e:  # a defect must not stop the inbox; the file goes to rejected/ with this reason
        sub.findings.add(error(StatsCode.UNREADABLE, f"读取“{path.name}”时出错（{exception_reason(e)}）。"
                               "请另存为 .xlsx 后重新报送；如仍不行请联系管理员。", path.name, exception_detail(e)))
    return sub


def _open(path: Path, ws: Workspace, sub: Submission) -> Book | None:
    lim = ws.config.limits
    if path.suffix.lower() not in SUFFIXES:
        sub.findings.add(error(StatsCode.UNREADABLE, f"“{path.name}”不是 Excel 工作簿（.xlsx 或 .xls）。", path.name))
        return None
    data = path.read_bytes()
    if len(data) > lim.max_file_mb * 1024 * 1024:
        sub.findings.add(error(StatsCode.TOO_LARGE, f"文件超过 {lim.max_file_mb:g} MB，不予读取。请删除多余的工作表或图片后重新报送。",
                               path.name))
        return None
    sub.sha256 = hashlib.sha256(data).hexdigest()
    if path.suffix.lower() in XLSX_SUFFIXES:
        try:
            with zipfile.ZipFile(path) as z:
                unzipped = sum(i.file_size for i in z.infolist())
        except zipfile.BadZipFile:
            sub.findings.add(error(StatsCode.UNREADABLE, f"“{path.name}”已损坏或不是 .xlsx 文件。请重新保存后报送。", path.name))
            return None
        if unzipped > lim.max_unzipped_mb * 1024 * 1024:
            sub.findings.add(error(StatsCode.TOO_LARGE, f"文件解压后超过 {lim.max_unzipped_mb:g} MB，不予读取。", path.name))
            return None
    try:
        return load(path)
    except Exception as e:
        sub.findings.add(error(StatsCode.UNREADABLE, f"无法打开“{path.name}”（{exception_reason(e)}）。请确认它是 Excel 工作簿，"
                               "另存为 .xlsx 后重新报送。", path.name, exception_detail(e)))
        return None


def _read(book: Book, ws: Workspace, sub: Submission, period: Period | None, rounds: Mapping[int, Period]) -> None:
    units = units_for(ws.config)
    meta = book.meta if book.meta is not None and book.meta.table in TABLES else None
    only = TABLES[meta.table] if meta else None
    found = [(g, m) for g in book.sheets if (m := match_sheet(g, only)) is not None]
    if not found:
        sub.findings.add(error(StatsCode.NOT_STATS, f"“{sub.path.name}”不是统计表：找不到附件1–4的表头（如“单位”“应注册人数”）。"
                               "请使用下发的空白表填写。", sub.path.name))
        return
    # Among equally good matches the first sheet in the workbook is the one people mean.
    best = max(m.score() for _, m in found)
    grid, m = next((g, mm) for g, mm in found if mm.score() == best)
    sub.kind, sub.sheet, sub.columns = m.table.kind, grid.name, m.columns
    sub.via = "metadata" if meta else "headers"
    if meta:
        _apply_meta(sub, meta, ws, units)
    _fill_line(grid, m.top, sub)
    if sub.submitter is None and sub.submitter_text:
        sub.submitter = resolve(sub.submitter_text, units, ws.config)
    if m.missing or ("unit" not in m.columns and sub.submitter is None):
        miss = [c.leaf for c in m.missing] + ([] if "unit" in m.columns or sub.submitter else [m.table.column("unit").leaf])
        sub.findings.add(error(StatsCode.MISSING_COLUMN, f"表中缺少列：{'、'.join(miss)}。请按{m.table.label}的表头补齐后重新报送。",
                               grid.ref(m.bottom, 0)))
        return
    sub.period = period or sub.period or _period(sub, m, rounds)
    if meta and m.table.quarterly and (q := quarter_in(m.header_text)) and sub.period and q != sub.period.quarter:
        sub.findings.add(warning(StatsCode.PERIOD_MISMATCH, f"表头写的是第{q}季度，但这份表是为{sub.period.label_zh}下发的，"
                                 f"按{sub.period.label_zh}计。如不对请联系市局。", grid.ref(m.top, 0)))
    _rows(grid, m, sub)
    if not sub.rows:
        sub.findings.add(error(StatsCode.NO_ROWS, "表中没有填写任何数据。请填写后重新报送。", grid.ref(m.bottom + 1, 0)))
        return
    sub.findings.extend(check(sub, units, ws.config))
    if not meta:
        for g, other in found:
            if g is not grid and other.complete and other.table is not m.table:
                sub.findings.add(warning(StatsCode.EXTRA_SHEET,
                                         f"工作表“{g.name}”像是{other.table.label}，本次只读取了“{grid.name}”（{m.table.label}）。"
                                         f"请把{other.table.label}单独保存为一个文件报送。", g.name))


def _apply_meta(sub: Submission, meta: Any, ws: Workspace, units: list[Unit]) -> None:
    sub.meta = meta
    try:
        sub.period = Period.parse(meta.period)
    except ValueError:
        sub.period = None
    sub.meta_trusted = meta.verify(ws.key)
    if sub.meta_trusted:
        sub.submitter = next((u for u in units if u.code == meta.unit_code), None)
        if sub.submitter is not None:
            sub.submitter_text = sub.submitter.full_name
    else:
        sub.findings.add(warning(StatsCode.META_FOREIGN, "这份表不是本单位下发的空白表（或其隐藏信息被改动过），"
                                 "已按表中填写的单位读取。请核对单位是否正确。", sub.path.name))


# ---- the 填报单位 / 填报时间 line -----------------------------------------------------------------


_LABEL = re.compile(r"(填报单位|填报时间|填报日期)[:：]?")


def _fill_line(grid: Grid, top: int, sub: Submission) -> None:
    for r in range(min(top, grid.height)):
        row = grid.rows[r]
        for c, v in enumerate(row):
            t = text(v)
            for mm in _LABEL.finditer(t):
                rest = t[mm.end():]
                rest = _LABEL.split(rest, maxsplit=1)[0].strip()
                value: Any = rest or _next_value(row, c)
                if mm.group(1) == "填报单位":
                    if not sub.submitter_text and not is_blank(value):
                        sub.submitter_text = text(value)
                elif not sub.filled_at and not is_blank(value):
                    sub.filled_at = text(value)
                    sub.filled_date = parse_date(text(value), within_text=True)


def _next_value(row: list[Any], c: int) -> Any:
    for v in row[c + 1:]:
        if not is_blank(v):
            return None if _LABEL.match(text(v)) else v
    return None


# ---- the period -----------------------------------------------------------------------------


def _period(sub: Submission, m: Match, rounds: Mapping[int, Period]) -> Period:
    """Quarter named in the header or title; else the latest round sent out; else the 填报时间's
    quarter; else today's (with a warning)."""
    q = quarter_in(m.header_text)
    round_period = rounds.get(m.table.no)
    year = (year_in(m.header_text) or (sub.filled_date.year if sub.filled_date else None)
            or (round_period.year if round_period else None) or date.today().year)
    if q:
        return Period(year, q)
    if round_period:
        return round_period
    if sub.filled_date:
        return Period.of(sub.filled_date)
    guess = Period.of(date.today())
    sub.findings.add(warning(StatsCode.PERIOD_UNKNOWN, f"表中没有写明报送期次和填报时间，且本单位没有下发过这张表，按{guess.label_zh}计。"
                             "如不对请用 --period 指定后重新读取。", sub.path.name))
    return guess


# ---- rows -----------------------------------------------------------------------------------


def _rows(grid: Grid, m: Match, sub: Submission) -> None:
    ucol = m.columns.get("unit")
    inputs = {k: j for k, j in m.columns.items() if k not in ("unit", "seq")}
    counts = {c.key for c in m.table.columns if c.type is ColType.COUNT}
    start = m.bottom + 1
    if start < grid.height and _is_numbering_row(grid.rows[start]):
        start += 1
    for r in range(start, grid.height):
        first = next((text(v) for v in grid.rows[r] if not is_blank(v)), "")
        if _FOOTER.match(first.replace(" ", "")):
            sub.note = _note_below(grid, r)
            break
        if _spans_table(grid, r, m):
            continue  # a note or section line merged across the table
        unit_text = text(grid.value_at(r, ucol)) if ucol is not None else ""
        key = norm(unit_text)
        # Counts are never taken through a merge: a merged number would be counted twice.
        raw = {k: grid.value(r, j) if k in counts else grid.value_at(r, j) for k, j in inputs.items()}
        refs = {k: grid.ref(r, j) for k, j in m.columns.items()}
        if _SUBTOTAL.match(key) or key in _UNIT_HEADERS:
            continue  # a 小计 line, or the header repeated after a page break
        if _TOTAL.match(key):
            sub.total = Row(r + 1, unit_text, None, raw, refs, is_total=True)
            continue
        if all(is_blank(v) for v in raw.values()):
            continue  # blank row, a pre-filled unit nobody filled, the seed's 市辖区（县） placeholder
        sub.rows.append(Row(r + 1, unit_text, None, raw, refs))


_NOTE = re.compile(r"^\s*(备注|说明)\s*[:：]\s*")


def _note_below(grid: Grid, start: int) -> str:
    """The text of a ``备注：…`` line at or below ``start`` (the value may sit in the next cell)."""
    for r in range(start, grid.height):
        row = grid.rows[r]
        for c, v in enumerate(row):
            m = _NOTE.match(cell_text(v))  # as typed: the clerk's own words are quoted back
            if m:
                rest = cell_text(v)[m.end():].strip()
                return rest or cell_text(_next_value(row, c) or "")
    return ""


def _spans_table(grid: Grid, r: int, m: Match) -> bool:
    cols = list(m.columns.values())
    merge = grid.merge_at(r, min(cols))
    return merge is not None and merge[1] <= min(cols) and merge[3] >= max(cols)


def _is_numbering_row(row: list[Any]) -> bool:
    """The ``1 2 3 4`` (or 甲 乙 1 2) row some official tables put under the header."""
    vals = [text(v) for v in row if not is_blank(v)]
    if len(vals) < 2:
        return False
    nums = [v for v in vals if v not in _ORDINALS]
    return all(v.isdigit() for v in nums) and [int(v) for v in nums] == list(range(int(nums[0]), int(nums[0]) + len(nums))) \
        if nums else True
