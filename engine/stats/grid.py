"""A worksheet as a plain grid of values plus its merged ranges, read with python-calamine.

calamine reads .xlsx and .xls alike, about twenty times faster than openpyxl, and reports merged
ranges; a merged range's value sits in its top-left cell only, so ``value_at`` looks through a
merge when a header or a unit cell needs it.  xlrd is the fallback for an .xls calamine refuses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..cells import cell_text, is_blank
from .meta import META_SHEET, Meta, meta_from_custom_props, meta_from_rows

if TYPE_CHECKING:  # openpyxl loads where a workbook is written (start-up time)
    pass

XLSX_SUFFIXES = (".xlsx", ".xlsm")
SUFFIXES = (*XLSX_SUFFIXES, ".xls")

Range = tuple[int, int, int, int]  # first row, first col, last row, last col (0-based, inclusive)


@dataclass(slots=True)
class Grid:
    name: str
    rows: list[list[Any]]
    merges: list[Range] = field(default_factory=list)
    _owner: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for r0, c0, r1, c1 in self.merges:
            if (r1 - r0 + 1) * (c1 - c0 + 1) > 5000:  # a whole-column merge: only its top-left matters
                continue
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        self._owner[(r, c)] = (r0, c0)

    @property
    def height(self) -> int:
        return len(self.rows)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def value(self, r: int, c: int) -> Any:
        if r < len(self.rows) and c < len(self.rows[r]):
            return self.rows[r][c]
        return None

    def value_at(self, r: int, c: int) -> Any:
        """The value shown at (r, c): a merged cell shows its range's top-left value."""
        v = self.value(r, c)
        if is_blank(v) and (r, c) in self._owner:
            return self.value(*self._owner[(r, c)])
        return v

    def merge_at(self, r: int, c: int) -> Range | None:
        for m in self.merges:
            if m[0] <= r <= m[2] and m[1] <= c <= m[3]:
                return m
        return None

    def ref(self, r: int, c: int) -> str:
        """``附件2!C7``: the A1 reference Excel shows, sheet name quoted when it needs to be."""
        from openpyxl.utils import get_column_letter

        return f"{sheet_ref(self.name)}!{get_column_letter(c + 1)}{r + 1}"


def sheet_ref(name: str) -> str:
    if re.fullmatch(r"[^\W\d][\w]*", name):
        return name
    return "'" + name.replace("'", "''") + "'"


@dataclass(slots=True)
class Book:
    sheets: list[Grid]
    meta: Meta | None


def load(path: Path, nrows: int | None = None) -> Book:
    """The visible worksheets of an .xlsx/.xls and our metadata, if present. Raises on unreadable files."""
    try:
        return _load_calamine(path, nrows)
    except Exception:
        if path.suffix.lower() == ".xls":
            return _load_xlrd(path, nrows)
        raise


def _load_calamine(path: Path, nrows: int | None) -> Book:
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    wb = CalamineWorkbook.from_path(str(path))
    try:
        meta = None
        sheets = []
        for sm in wb.sheets_metadata:
            sheet = wb.get_sheet_by_name(sm.name)
            if sm.name == META_SHEET:
                meta = meta_from_rows(sheet.to_python(skip_empty_area=False, nrows=40))
                continue
            if sm.visible != SheetVisibleEnum.Visible or "Chart" in str(sm.typ):
                continue
            rows = sheet.to_python(skip_empty_area=False, nrows=nrows) if nrows else sheet.to_python(skip_empty_area=False)
            merges = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])]
            sheets.append(Grid(sm.name, rows, merges))
    finally:
        wb.close()
    if meta is None and path.suffix.lower() in XLSX_SUFFIXES:
        meta = meta_from_custom_props(path)
    return Book(sheets, meta)


def _load_xlrd(path: Path, nrows: int | None) -> Book:
    import xlrd

    bk = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    meta = None
    sheets = []
    for i in range(bk.nsheets):
        sh = bk.sheet_by_index(i)
        n = min(sh.nrows, nrows) if nrows else sh.nrows
        rows = [sh.row_values(r) for r in range(n)]
        if sh.name == META_SHEET:
            meta = meta_from_rows(rows)
        elif sh.visibility == 0:
            sheets.append(Grid(sh.name, rows, [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in sh.merged_cells]))
    return Book(sheets, meta)


# ---- cell text -----------------------------------------------------------------------------

_QUOTES = str.maketrans("", "", "“”\"'‘’「」『』")


def text(v: Any) -> str:
    """A cell as text: ``12.0`` → ``12``, full-width folded, surrounding space removed."""
    return unicodedata.normalize("NFKC", cell_text(v)).strip()


def norm(v: Any) -> str:
    """Header text for matching: no spaces, quotes, colons, asterisks or trailing ``（人）``."""
    if isinstance(v, str):
        return _norm_str(v)
    return _norm(v)


@lru_cache(maxsize=8192)
def _norm_str(v: str) -> str:  # headers repeat across a batch of workbooks
    return _norm(v)


def _norm(v: Any) -> str:
    t = re.sub(r"\s+", "", text(v)).translate(_QUOTES)
    t = t.replace("*", "").replace(":", "")
    t = re.sub(r"\((人|个|家|条|户|项|名|%)\)$", "", t)
    return t
