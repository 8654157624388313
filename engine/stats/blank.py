"""Blank statistics workbooks: one per reporting unit, in the official layout, ready to fill.

Title, 填报单位 (pre-filled, locked) and 填报时间, the merged header tree, the unit's row(s)
with the unit name locked and the input cells unlocked (pale yellow), whole-number ≥ 0 validation
on counts, drop-downs on choices, a note with the deadline, and hidden metadata (``meta.py``) so
the returned file is recognised for sure.  The sheet protection has no password: it stops
accidental edits of the layout, not a determined clerk, and the reader never relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .. import __version__
from ..findings import RuqiError, error
from ..workspace import Workspace
from ..xlsx_safe import set_text
from . import layout
from .codes import StatsCode
from .meta import Meta, write_meta
from .period import Period
from .submissions import record_round
from .tables import ColType, Column, NoSuchTable, TableDef, table
from .units import Unit, pick, units_for

if TYPE_CHECKING:  # openpyxl loads where a workbook is written (start-up time)
    from openpyxl.styles import Protection
    from openpyxl.worksheet.worksheet import Worksheet



@cache
def _unlocked() -> Protection:
    """The protection of the cells a county fills in (openpyxl loads only when a workbook is written)."""
    from openpyxl.styles import Protection


    return Protection(locked=False)
MAX_EXTRA_ROWS = 200  # validation reaches below the pre-filled rows of multi-row tables


def file_name(t: TableDef, period: Period, unit: Unit) -> str:
    return f"{t.label}-{t.short}-{unit.name}-{period}.xlsx"


def write_blank(t: TableDef, period: Period, unit: Unit, out: Path, *, issuer: Workspace,
                due: date | None = None) -> Path:
    """Write the blank workbook of table ``t`` for ``unit`` to ``out`` (an .xlsx path)."""
    from openpyxl import Workbook

    wb = Workbook()
    sh = wb.active
    sh.title = t.label
    cols = t.blank_columns
    n = len(cols)
    layout.write_title(sh, t.label, t.title_for(period), n)
    _, date_ref = layout.write_fill_line(sh, unit.full_name, "", n)
    sh[date_ref].protection = _unlocked()
    sh[date_ref].fill = layout.INPUT_FILL
    first = layout.write_headers(sh, cols, period)
    last = first + t.blank_rows - 1
    for r in range(first, last + 1):
        for j, col in enumerate(cols, start=1):
            _body_cell(sh, r, j, col, unit, seq=r - first + 1)
    layout.style_body(sh, first, last, n)
    for r in range(first, last + 1):
        for j, col in enumerate(cols, start=1):
            if col.is_input:
                sh.cell(r, j).fill = layout.INPUT_FILL
    _validations(sh, cols, first, last if t.per_unit else last + MAX_EXTRA_ROWS)
    if not t.per_unit:
        _unlock_below(sh, cols, last + 1, last + MAX_EXTRA_ROWS)
    layout.write_note(sh, last + 2, _note(t, period, due), n)
    layout.page_setup(sh, landscape=n > 4)
    sh.freeze_panes = sh.cell(first, 1)
    _protect(sh)
    meta = Meta(table=t.no, period=str(period), unit_code=unit.code, unit_name=unit.name,
                due=due.isoformat() if due else "", issued_by=issuer.config.division_code,
                issued_at=datetime.now().isoformat(timespec="seconds"), engine_version=__version__)
    write_meta(wb, meta.signed(issuer.key))
    wb.properties.title = t.title_for(period)
    wb.properties.creator = issuer.config.name
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(out)
    return out


def _body_cell(sh: Worksheet, r: int, j: int, col: Column, unit: Unit, seq: int) -> None:
    from openpyxl.styles import Alignment

    cell = sh.cell(r, j)
    if col.key == "unit":
        set_text(cell, unit.name)
    elif col.key == "seq":
        cell.value = seq
    else:
        cell.protection = _unlocked()
        if col.type is ColType.COUNT:
            cell.number_format = "0"
        elif col.type is ColType.PHONE:
            cell.number_format = "@"  # keeps the leading 0 of 0352-…
        else:
            cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)


def _validations(sh: Worksheet, cols: tuple[Column, ...], first: int, last: int) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    for j, col in enumerate(cols, start=1):
        letter = get_column_letter(j)
        if col.type is ColType.COUNT:
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
            dv.errorTitle, dv.error = "请填写整数", f"“{col.leaf}”请填写不小于 0 的整数，没有请填 0。"
            dv.promptTitle, dv.prompt = col.leaf, "填写整数，没有请填 0"
        elif col.type is ColType.CHOICE:
            dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True)
            dv.errorTitle, dv.error = "请从列表中选择", f"“{col.leaf}”请从下拉列表中选择。"
        else:
            continue
        dv.showErrorMessage = True
        dv.showInputMessage = col.type is ColType.COUNT
        dv.add(f"{letter}{first}:{letter}{last}")
        sh.add_data_validation(dv)


def _unlock_below(sh: Worksheet, cols: tuple[Column, ...], first: int, last: int) -> None:
    """Multi-row tables: people add rows under the pre-filled ones; leave those cells editable."""
    for r in range(first, last + 1):
        for j, _col in enumerate(cols, start=1):
            sh.cell(r, j).protection = _unlocked()


def _protect(sh: Worksheet) -> None:
    p = sh.protection
    p.sheet = True
    # False here means "allowed while protected" (OOXML's inverted flags).
    p.formatColumns = p.formatRows = p.formatCells = False
    p.insertRows = p.deleteRows = False
    p.selectLockedCells = p.selectUnlockedCells = False


def _note(t: TableDef, period: Period, due: date | None) -> str:
    lines = ["填报说明："]
    lines.append("1. 请在黄色单元格内填写，单位名称已预先填好；请勿修改表头，勿增删列。")
    if t.counts:
        lines.append("2. 数字请填整数，没有的请填 0；不要填“—”或留空。")
    if t.no == 2:
        lines.append("3. 实际注册数一般不大于应注册数；确实多于应注册数的，请在备注中说明原因。")
    if t.no == 3:
        lines.append(f"3. 上报企业数不能大于应注册企业数；有隐患条数的必须有上报企业。本表填报{period.label_zh}情况。")
    if t.no == 1:
        lines.append("2. 联络人可填多名，每人一行；电话请填手机号或带区号的座机号。")
    if t.no == 4:
        lines.append("2. 每个问题填一行；用户类型、手册部分请从下拉列表中选择；行数不够可在下方继续填写。")
    if due:
        lines.append(f"{len(lines)}. 请于{due.year}年{due.month}月{due.day}日前报送，报送时请保留本文件格式（.xlsx）。")
    return "\n".join(lines)


@dataclass(slots=True)
class BlankBatch:
    table: TableDef
    period: Period
    due: date | None
    files: list[Path]
    units: list[Unit]


def write_blanks(ws: Workspace, table_no: int | str, period: Period | str, *, due: date | None = None,
                 units: str | list[Unit] | None = None, out_dir: Path | None = None,
                 actor: str | None = None) -> BlankBatch:
    """One blank per unit (all units of the workspace, or ``units``) into ``outbox/stats/<period>/``.

    Records the round (table, period, due, units asked) so the aggregate knows who is missing.
    Raises ``RuqiError`` for an unknown table, period or unit name (command-line input).
    """
    try:
        t = table(table_no)
        p = period if isinstance(period, Period) else Period.parse(period)
    except (NoSuchTable, ValueError) as e:  # the period's ValueError says what is wrong in Chinese
        raise RuqiError(error(StatsCode.BAD_ARGUMENT, str(e))) from e
    everyone = units_for(ws.config)
    if isinstance(units, str):
        chosen, unknown = pick(units, everyone, ws.config)
        if unknown or not chosen:
            raise RuqiError(error(StatsCode.BAD_ARGUMENT, f"不认识的单位：{'、'.join(unknown) or units}。"
                                  f"可选：{'、'.join(u.name for u in everyone)}"))
    else:
        chosen = list(units) if units else everyone
    out_dir = out_dir or ws.outbox / "stats" / str(p)
    files = [write_blank(t, p, u, out_dir / file_name(t, p, u), issuer=ws, due=due) for u in chosen]
    record_round(ws, t.no, p, due, [u.code for u in chosen], actor=actor)
    return BlankBatch(t, p, due, files, chosen)
