"""The official layout shared by blank workbooks and aggregates: 附件 label, title, 填报 line, header tree.

Fonts name the official faces first (方正小标宋简体, 黑体, 仿宋_GB2312) so an office PC shows them;
LibreOffice and WPS substitute what is installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from ..xlsx_safe import set_text
from .period import Period
from .tables import Column

if TYPE_CHECKING:  # openpyxl loads where a workbook is written (start-up time)
    from openpyxl.styles import Alignment, Border, Font, PatternFill
    from openpyxl.worksheet.worksheet import Worksheet


@dataclass(frozen=True, slots=True)
class Styles:
    TITLE_FONT: Font
    LABEL_FONT: Font
    HEADER_FONT: Font
    BODY_FONT: Font
    NOTE_FONT: Font
    HEADER_FILL: PatternFill
    INPUT_FILL: PatternFill  # pale yellow: "type here"
    BOX: Border
    CENTER: Alignment
    LEFT: Alignment


@cache
def styles() -> Styles:
    """The cell styles, made on first use: openpyxl costs every command ~0.2 s to import, and only
    the commands that write a workbook need it.  Other modules may read them as ``layout.X``."""
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    thin = Side(style="thin", color="000000")
    return Styles(
        TITLE_FONT=Font(name="方正小标宋简体", size=18), LABEL_FONT=Font(name="黑体", size=14),
        HEADER_FONT=Font(name="黑体", size=11), BODY_FONT=Font(name="仿宋_GB2312", size=12),
        NOTE_FONT=Font(name="仿宋_GB2312", size=10), HEADER_FILL=PatternFill("solid", fgColor="F2F2F2"),
        INPUT_FILL=PatternFill("solid", fgColor="FFF9E5"), BOX=Border(left=thin, right=thin, top=thin, bottom=thin),
        CENTER=Alignment(horizontal="center", vertical="center", wrap_text=True),
        LEFT=Alignment(horizontal="left", vertical="center", wrap_text=True),
    )


def __getattr__(name: str) -> object:
    if name in Styles.__dataclass_fields__:
        return getattr(styles(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


LABEL_ROW, TITLE_ROW, FILL_ROW, HEADER_ROW = 1, 2, 3, 4


def write_title(sh: Worksheet, label: str, title: str, ncols: int) -> None:
    st = styles()
    sh.cell(LABEL_ROW, 1, label).font = st.LABEL_FONT
    cell = sh.cell(TITLE_ROW, 1, title)
    cell.font, cell.alignment = st.TITLE_FONT, st.CENTER
    sh.merge_cells(start_row=TITLE_ROW, start_column=1, end_row=TITLE_ROW, end_column=ncols)
    sh.row_dimensions[TITLE_ROW].height = 42


def write_fill_line(sh: Worksheet, unit_text: str, date_text: str, ncols: int) -> tuple[str, str]:
    """``填报单位：X`` (merged over the left columns) and ``填报时间：`` with its input cell at the right.

    Returns the A1 refs of the unit cell and the date input cell.
    """
    from openpyxl.styles import Alignment

    st = styles()
    name_end = max(1, ncols - 2)
    unit_cell = set_text(sh.cell(FILL_ROW, 1), f"填报单位：{unit_text}")
    unit_cell.font, unit_cell.alignment = st.BODY_FONT, Alignment(horizontal="left", vertical="center")
    if name_end > 1:
        sh.merge_cells(start_row=FILL_ROW, start_column=1, end_row=FILL_ROW, end_column=name_end)
    label = sh.cell(FILL_ROW, ncols - 1, "填报时间：")
    label.font, label.alignment = st.BODY_FONT, Alignment(horizontal="right", vertical="center")
    date_cell = set_text(sh.cell(FILL_ROW, ncols), date_text)
    date_cell.font, date_cell.alignment = st.BODY_FONT, st.LEFT
    sh.row_dimensions[FILL_ROW].height = 24
    return unit_cell.coordinate, date_cell.coordinate


def header_depth(columns: Sequence[Column]) -> int:
    return max(len(c.path) for c in columns)


def write_headers(sh: Worksheet, columns: Sequence[Column], period: Period | None, top: int = HEADER_ROW) -> int:
    """Draw the header tree with merged cells; returns the first data row."""
    from openpyxl.utils import get_column_letter

    st = styles()
    paths = [c.header_path(period) for c in columns]
    depth = max(len(p) for p in paths)
    for level in range(depth):
        row = top + level
        j = 0
        while j < len(paths):
            p = paths[j]
            if len(p) - 1 == level:  # the leaf: spans the remaining header rows
                _header_cell(sh, row, j + 1, p[-1])
                if level < depth - 1:
                    sh.merge_cells(start_row=row, start_column=j + 1, end_row=top + depth - 1, end_column=j + 1)
                j += 1
            elif len(p) - 1 > level:  # a group: spans the following columns with the same prefix
                end = j
                while end + 1 < len(paths) and len(paths[end + 1]) - 1 > level and paths[end + 1][: level + 1] == p[: level + 1]:
                    end += 1
                _header_cell(sh, row, j + 1, p[level])
                if end > j:
                    sh.merge_cells(start_row=row, start_column=j + 1, end_row=row, end_column=end + 1)
                j = end + 1
            else:
                j += 1
        sh.row_dimensions[row].height = 30
    for j in range(len(columns)):
        for level in range(depth):
            c = sh.cell(top + level, j + 1)
            c.border, c.fill = st.BOX, st.HEADER_FILL
    for j, col in enumerate(columns, start=1):
        sh.column_dimensions[get_column_letter(j)].width = col.width
    return top + depth


def _header_cell(sh: Worksheet, row: int, col: int, text: str) -> None:
    st = styles()
    c = sh.cell(row, col, text)
    c.font, c.alignment = st.HEADER_FONT, st.CENTER


def style_body(sh: Worksheet, first_row: int, last_row: int, ncols: int) -> None:
    st = styles()
    for r in range(first_row, last_row + 1):
        sh.row_dimensions[r].height = 22
        for j in range(1, ncols + 1):
            c = sh.cell(r, j)
            c.border, c.font = st.BOX, st.BODY_FONT
            if c.alignment is None or not c.alignment.wrap_text:
                c.alignment = st.CENTER


def write_note(sh: Worksheet, row: int, text: str, ncols: int) -> None:
    from openpyxl.styles import Alignment

    st = styles()
    c = set_text(sh.cell(row, 1), text)
    c.font, c.alignment = st.NOTE_FONT, Alignment(horizontal="left", vertical="top", wrap_text=True)
    sh.merge_cells(start_row=row, start_column=1, end_row=row, end_column=ncols)
    sh.row_dimensions[row].height = 16 * (text.count("\n") + 1) + 4


def page_setup(sh: Worksheet, landscape: bool) -> None:
    sh.page_setup.paperSize = sh.PAPERSIZE_A4
    sh.page_setup.orientation = "landscape" if landscape else "portrait"
    sh.page_setup.fitToWidth = 1
    sh.page_setup.fitToHeight = 0
    sh.sheet_properties.pageSetUpPr.fitToPage = True
    sh.print_options.horizontalCentered = True
