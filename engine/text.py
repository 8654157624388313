"""Text from outside made safe for every writer: the one sanitiser.

Values typed by people (plan cells, county workbooks, returned cards) or read back from the
database (a register row written by an older version) may hold characters that no file format
we write can carry: Excel stores a Shift+Enter pasted from Word as ``_x000B_`` (a vertical tab),
and C0 control characters, lone surrogates, U+FFFE/U+FFFF are illegal in XML 1.0, so a .docx,
an .xlsx or an XHTML page holding one cannot be opened or written.  ``printable`` is applied by
every writer (docx and HTML templates through their Jinja ``finalize``, spreadsheet cells through
``engine.xlsx_safe``); ``one_line`` is what intake (``engine.cells``) keeps of a typed cell; ``halfwidth`` is the one way
typed full-width digits (and named signs) are read as ASCII.

Leaf module: it imports nothing from the engine, so any writer can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Characters that break a line as people meant it: Word's manual line and page breaks (VT, FF),
# CR/LF, NEL and the Unicode line/paragraph separators.
_BREAKS = "\n\r\x0b\x0c\x85\u2028\u2029"
# Nothing a person can see or mean: C0 controls (tab and breaks aside), DEL, C1 controls, lone
# surrogates (cannot even be encoded as UTF-8), the XML non-characters, zero-width and BOM marks.
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff\u200b\u2060\ufeff]")
_BREAK = re.compile(f"[{_BREAKS}]")
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\U00020000-\U0003ffff"
# A break between two Chinese characters is dropped (Chinese has no spaces), elsewhere a space.
_BREAK_RUN = re.compile(rf"(?<=[{_CJK}])[ \t{_BREAKS}]*[{_BREAKS}][ \t{_BREAKS}]*(?=[{_CJK}])")
_SPACES = re.compile(rf"[ \t{_BREAKS}]+")

EXCEL_CELL_MAX = 32767  # Excel refuses a workbook with a longer cell; openpyxl would write it anyway


def printable(text: str) -> str:
    """``text`` with what no writer can hold removed; VT/FF/NEL/LS/PS become ``\\n`` (still a line break)."""
    if text.isprintable():  # the common case costs one C-level scan
        return text
    return _BREAK.sub("\n", _INVISIBLE.sub("", text).replace("\r\n", "\n"))


def one_line(text: str) -> str:
    """A single-line field as the clerk meant it: no control characters, line breaks joined."""
    if text.isprintable() and "  " not in text:  # the common case: one C-level scan
        return text.strip()
    t = _INVISIBLE.sub("", text)
    t = _BREAK_RUN.sub("", t)
    return _SPACES.sub(" ", t).strip()


def has_hidden(text: str) -> bool:
    """True when ``one_line`` changes more than surrounding spaces: the clerk should be told."""
    return one_line(text) != re.sub(r"[ \t]+", " ", text).strip()


def finalize(value: Any) -> Any:
    """Jinja ``finalize`` hook: every ``{{ … }}`` of a docx or HTML template goes through ``printable``."""
    if isinstance(value, str):
        # Markup (already escaped HTML) stays Markup: re-create it from its cleaned text.
        return type(value)(printable(value)) if type(value) is not str else printable(value)
    return value


_SENTENCE_ENDS = ("。", "！", "？", "…")


def sentences(parts: Iterable[str], *, limit: int | None = None, end: str = "。") -> str:
    """Chinese sentences said as one: joined with "；", never "。；".

    Each part but the last loses its closing "。" (a message is a whole sentence, and "。；" between
    two of them reads as a typo); the last keeps its own ending, or gets ``end`` when it has none
    (``end=""`` for a table cell that quotes a clerk's words as typed).  Beyond ``limit`` parts the
    text ends in "…".
    """
    kept = [p.strip() for p in parts if p and p.strip()]
    shown = kept if limit is None else kept[:limit]
    if not shown:
        return ""
    body = "；".join([*(p.rstrip("。；") for p in shown[:-1]), shown[-1]])
    if len(shown) < len(kept):
        return body.rstrip("。；") + "…"
    return body if body.endswith(_SENTENCE_ENDS) else body + end


@lru_cache(maxsize=8)
def _halfwidth_table(also: str) -> dict[int, int]:
    # The full-width form of an ASCII character is 0xFEE0 above it (U+FF01 ！ … U+FF5E ～).
    return {ord(c) + 0xFEE0: ord(c) for c in "0123456789" + also}


def halfwidth(text: str, also: str = "") -> str:
    """``text`` with full-width digits ``０``–``９`` (a Chinese input method's) as ASCII digits, and the
    full-width forms of the ASCII characters in ``also`` as those characters: ``halfwidth("１２－３", "-")``
    → ``"12-3"``.  Only what the caller names is folded (not NFKC): a reader that matches the card's
    full-width punctuation ``：（）`` must still see it."""
    return text.translate(_halfwidth_table(also))
