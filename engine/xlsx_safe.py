"""Writing text that came from outside (names, remarks, problem descriptions) into a spreadsheet safely.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab/carriage return before
one) is taken as a formula by Excel, WPS and openpyxl itself: ``=HYPERLINK(...)`` typed into a
remark by a unit would run on the desk that opens the aggregate.  ``set_text`` stores such a
value as a plain string cell (data type ``s``) without changing a character, so the clerk sees
exactly what the unit typed, and marks it ``quotePrefix`` (Excel's leading ``'``); ``csv_text`` is the CSV counterpart (prefixes a ``'``, the
OWASP recommendation, because CSV has no cell types).

It is also where a value can no longer crash a workbook: the text goes through the one sanitiser
(``engine.text.printable``: control characters that openpyxl refuses with ``IllegalCharacterError``
are dropped, Word's line breaks kept as line breaks) and is cut at Excel's 32,767-character cell
limit.  A register row written by an older version, before intake cleaned such values, is then
still written.

Every workbook the engine writes puts outside text through here: the generate manifest, ``register
--out``, the statistics blanks and aggregate, the review list and the review export's index.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .text import EXCEL_CELL_MAX, printable

if TYPE_CHECKING:  # annotations only: importing this module must not load openpyxl
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def is_risky(value: object) -> bool:
    """True when a spreadsheet program could read ``value`` as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def set_text(cell: Cell, value: Any) -> Cell:
    """Put outside text into ``cell`` so it can never become a formula; None stays empty."""
    if value is None:
        cell.value = None
        return cell
    text = printable(value if isinstance(value, str) else str(value))[:EXCEL_CELL_MAX]
    cell.value = text
    # openpyxl turns a string starting with "=" into a formula on assignment; force it back.
    cell.data_type = "s"
    if is_risky(text):
        # Excel's "'" prefix: the cell stays text even after someone edits it and presses Enter.
        cell.quotePrefix = True
    return cell


def set_value(cell: Cell, value: Any) -> Cell:
    """Numbers, dates and booleans as they are; any string through ``set_text``."""
    if isinstance(value, str):
        return set_text(cell, value)
    cell.value = value
    return cell


def append_row(sheet: Worksheet, values: Sequence[Any]) -> None:
    """``sheet.append`` for rows that hold outside text: every string cell through ``set_text``.

    ``Worksheet.append`` itself would raise on a control character and store ``=…`` as a formula.
    """
    sheet.append([None] * len(values))  # claims the next row exactly as append would
    row = sheet.max_row
    for j, v in enumerate(values, start=1):
        set_value(sheet.cell(row, j), v)


def csv_text(value: object) -> str:
    """A CSV field that opens as text: ``=1+1`` → ``'=1+1``."""
    text = "" if value is None else printable(str(value))
    return "'" + text if is_risky(text) else text
