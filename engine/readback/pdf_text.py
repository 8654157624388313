"""A text PDF of the card, exported from the filled docx by Word, WPS or LibreOffice.

There are no form fields, only positioned characters.  The reader rebuilds lines from the
characters (pdfplumber), finds where each of the ten questions starts (``一、是否…``), and
takes as its answer every character in that question's row band that is not part of the
question text itself, i.e. the 反馈意见 cell to the right.  Each step keeps its result on
``PdfLayout`` so a test or a clerk's bug report can show why a card read as it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

import pdfplumber

from .common import (
    QUESTION_COUNT,
    Answer,
    CardReading,
    ReadMethod,
    find_question,
    identify_form,
    looks_like_card,
    normalize,
    parse_answer,
    split_labelled,
)

# Two characters closer than this many em belong to one cell; the space in "□是 □否" is ~0.3 em,
# the padding between two table cells at least ~0.8 em.
SEGMENT_GAP_EM = 0.8
MIN_LINE_OVERLAP = 0.5
BAND_MARGIN_EM = 0.4
QUESTION_INDENT_EM = 3.0
END_OF_TABLE_LABELS = ("被检查单位", "负责人", "备注")


@dataclass(slots=True)
class Glyph:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(slots=True)
class Line:
    page: int
    glyphs: list[Glyph] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(g.top for g in self.glyphs)

    @property
    def bottom(self) -> float:
        return max(g.bottom for g in self.glyphs)

    @property
    def text(self) -> str:
        return "".join(g.text for g in self.glyphs)

    @property
    def em(self) -> float:
        return median(g.height for g in self.glyphs)

    def segments(self) -> list[list[Glyph]]:
        """Runs of glyphs separated by a gap wider than a cell's padding."""
        segs: list[list[Glyph]] = []
        gap = SEGMENT_GAP_EM * self.em
        for g in self.glyphs:
            if segs and g.x0 - segs[-1][-1].x1 <= gap:
                segs[-1].append(g)
            else:
                segs.append([g])
        return segs


@dataclass(slots=True)
class QuestionRow:
    number: int
    line: int  # index into PdfLayout.lines
    x0: float  # where the question text starts
    top: float
    band_bottom: float = 0.0
    answer_glyphs: list[Glyph] = field(default_factory=list)


@dataclass(slots=True)
class PdfLayout:
    pages: int
    lines: list[Line]
    rows: dict[int, QuestionRow] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)

    def segment_texts(self, start: int = 0) -> list[str]:
        return ["".join(g.text for g in seg) for ln in self.lines[start:] for seg in ln.segments()]


def extract_lines(pdf: pdfplumber.PDF) -> list[Line]:
    lines: list[Line] = []
    for pno, page in enumerate(pdf.pages):
        glyphs = [
            Glyph(t, c["x0"], c["x1"], c["top"], c["bottom"])
            for c in page.chars
            if (t := normalize(c["text"]))
        ]
        lines.extend(_cluster(pno, glyphs))
    return lines


def _cluster(page: int, glyphs: list[Glyph]) -> list[Line]:
    """Group glyphs into lines by vertical overlap (a tick in a fallback font sits a little higher)."""
    lines: list[Line] = []
    for g in sorted(glyphs, key=lambda g: (g.top, g.x0)):
        for ln in reversed(lines[-3:]):
            overlap = min(ln.bottom, g.bottom) - max(ln.top, g.top)
            if overlap >= MIN_LINE_OVERLAP * min(g.height or 1, ln.bottom - ln.top or 1):
                ln.glyphs.append(g)
                break
        else:
            lines.append(Line(page, [g]))
    for ln in lines:
        ln.glyphs.sort(key=lambda g: g.x0)
    lines.sort(key=lambda ln: ln.top)
    return lines


def locate_questions(lines: list[Line]) -> dict[int, QuestionRow]:
    rows: dict[int, QuestionRow] = {}
    for i in range(1, QUESTION_COUNT + 1):
        for li, ln in enumerate(lines):
            span = find_question(ln.text, i)
            if span is None:
                continue
            g = _glyph_at(ln, span[0])
            rows[i] = QuestionRow(i, li, g.x0, g.top)
            break
    return rows


def _glyph_at(ln: Line, char_index: int) -> Glyph:
    n = 0
    for g in ln.glyphs:
        n += len(g.text)
        if n > char_index:
            return g
    return ln.glyphs[-1]


def assign_answers(lines: list[Line], rows: dict[int, QuestionRow]) -> None:
    """Collect, per question, the glyphs of its row band that lie right of the question text."""
    ordered = sorted(rows.values(), key=lambda r: r.line)
    for k, row in enumerate(ordered):
        page = lines[row.line].page
        em = lines[row.line].em
        top = row.top - BAND_MARGIN_EM * em
        nxt = ordered[k + 1] if k + 1 < len(ordered) else None
        if nxt is not None and lines[nxt.line].page == page:
            bottom = nxt.top - BAND_MARGIN_EM * em
        else:
            bottom = _end_of_table(lines, row.line, page)
        row.band_bottom = bottom
        for ln in lines:
            if ln.page != page or ln.bottom <= top or ln.top >= bottom:
                continue
            for seg in ln.segments():
                if abs(seg[0].x0 - row.x0) <= QUESTION_INDENT_EM * em or seg[0].x0 < row.x0:
                    continue  # the question text (or a wrapped line of it)
                row.answer_glyphs.extend(seg)


def _end_of_table(lines: list[Line], start: int, page: int) -> float:
    for ln in lines[start + 1:]:
        if ln.page != page:
            break
        if any(ln.text.startswith(lab) for lab in END_OF_TABLE_LABELS):
            return ln.top - 0.1
    return float("inf")


def layout(path: Path) -> PdfLayout:
    with pdfplumber.open(str(path)) as pdf:
        lines = extract_lines(pdf)
        pages = len(pdf.pages)
    lay = PdfLayout(pages, lines, locate_questions(lines))
    assign_answers(lines, lay.rows)
    return lay


def read_pdf_text(path: Path, key: bytes, qr_payloads: list[str] | None = None, lay: PdfLayout | None = None) -> CardReading:
    lay = lay or layout(path)
    full = lay.text
    form = identify_form(full)
    answers: dict[int, Answer] = {
        i: parse_answer("".join(g.text for g in row.answer_glyphs)) for i, row in lay.rows.items()
    }
    r = CardReading(ReadMethod.PDF_TEXT, is_card=looks_like_card(full, len(answers)) and form in ("card", ""), form=form)
    r.pages = lay.pages
    if not r.is_card:
        return r
    r.form = "card"
    r.set_answers(answers)
    r.set_header(split_labelled(lay.segment_texts()))
    r.qr_payloads = list(qr_payloads or [])
    r.resolve_serial(full, key)
    return r
