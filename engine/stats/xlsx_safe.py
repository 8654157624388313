"""Writing text that came from outside (names, remarks, problem descriptions) into a spreadsheet safely.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab/carriage return before
one) is taken as a formula by Excel, WPS and openpyxl itself: ``=HYPERLINK(...)`` typed into a
remark by a unit would run on the desk that opens the aggregate.  ``set_text`` stores such a
value as a plain string cell (data type ``s``) without changing a character, so the clerk sees
exactly what the unit typed, and marks it ``quotePrefix`` (Excel's leading ``'``); ``csv_text`` is the CSV counterpart (prefixes a ``'``, the
OWASP recommendation, because CSV has no cell types).

Shared by the statistics aggregate and the review exports; keep it dependency-free.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell.cell import Cell

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def is_risky(value: object) -> bool:
    """True when a spreadsheet program could read ``value`` as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def set_text(cell: Cell, value: Any) -> Cell:
    """Put outside text into ``cell`` so it can never become a formula; None stays empty."""
    if value is None:
        cell.value = None
        return cell
    text = value if isinstance(value, str) else str(value)
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


def csv_text(value: object) -> str:
    """A CSV field that opens as text: ``=1+1`` → ``'=1+1``."""
    text = "" if value is None else str(value)
    return "'" + text if is_risky(text) else text
