"""Spreadsheet cell values as people type them: shared by the plan reader and the statistics reader."""

from __future__ import annotations

from typing import Any


def is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def cell_text(v: Any) -> str:
    """A cell as text, as the clerk sees it: ``12.0`` → ``12``, surrounding space removed."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()
