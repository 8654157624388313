"""A text PDF of the card, exported from the filled docx by Word, WPS or LibreOffice.

There are no form fields, only positioned characters.  The reader rebuilds lines from the
characters, finds where each of the ten questions starts (``一、是否…``), and takes as its
answer every character in that question's row band that is not part of the question text
itself, i.e. the 反馈意见 cell to the right.  负责人/职务/联系电话 are read the same way: the
characters right of a label, up to the next label, within the label's row band.  Each step
keeps its result on ``PdfLayout`` so a test (or a bug report) can show why a card read as it did.

Characters come from pdfium (``PdfSource``, fast) or pdfplumber (``engine="pdfplumber"``, the
benchmark's baseline); both give the same boxes to within a fraction of a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from ..forms import CARD, QUESTION_NUMBERS, FormKey
from .common import (
    HEAD_LABELS,
    PHONE_WORDS,
    PUA_GLYPHS,
    TEXT_EXTRACTED,
    Answer,
    CardReading,
    ReadMethod,
    clean_value,
    find_question,
    identify_form,
    looks_like_card,
    normalize,
    parse_answer,
)
from .pdf_source import Glyph, PdfSource

# Two characters closer than this many em belong to one cell; the space in "□是 □否" is ~0.3 em,
# the padding between two table cells at least ~0.8 em.
SEGMENT_GAP_EM = 0.8
BASELINE_TOLERANCE_EM = 0.25
BAND_MARGIN_EM = 0.4
QUESTION_INDENT_EM = 3.0
ANSWER_COLUMN_SLACK_EM = 3.0  # an answer typed at the cell's left edge while others are centred
END_OF_TABLE_LABELS = (CARD.label("enterprise"), CARD.label("head"), CARD.label("remark"))
# Lines of one wrapped cell are at most this far apart (baseline to baseline, in glyph-box heights):
# WeasyPrint's cards ~0.85, LibreOffice exports ~1.3 (tight glyph boxes, single spacing).
MAX_PITCH_EM = 1.6
MAX_PAGES = 4  # the card is one page (two at most); a long PDF is not a card


@dataclass(slots=True)
class Line:
    page: int
    glyphs: list[Glyph] = field(default_factory=list)
    top: float = 0.0
    bottom: float = 0.0
    text: str = ""
    base: float = 0.0

    @property
    def mid(self) -> float:
        return (self.top + self.bottom) / 2

    def seal(self) -> None:
        self.glyphs.sort(key=lambda g: g.x0)
        self.top = min(g.top for g in self.glyphs)
        self.bottom = max(g.bottom for g in self.glyphs)
        self.text = "".join(g.text for g in self.glyphs)

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

    def glyph_span(self, start: int, length: int) -> list[Glyph]:
        """The glyphs holding characters ``start … start+length`` of ``text``."""
        out, n = [], 0
        for g in self.glyphs:
            if n + len(g.text) > start and n < start + length:
                out.append(g)
            n += len(g.text)
        return out


@dataclass(slots=True)
class QuestionRow:
    number: int
    line: int  # index into PdfLayout.lines
    x0: float  # where the question text starts
    top: float
    band_bottom: float = 0.0
    answer_glyphs: list[Glyph] = field(default_factory=list)


@dataclass(slots=True)
class LabelHit:
    field: str  # enterprise / head / position / phone
    line: int
    x0: float
    x1: float
    top: float
    bottom: float
    value_glyphs: list[Glyph] = field(default_factory=list)


@dataclass(slots=True)
class PdfLayout:
    pages: int
    lines: list[Line]
    rows: dict[int, QuestionRow] = field(default_factory=dict)
    labels: list[LabelHit] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(ln.text for ln in self.lines)

    def header(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for hit in self.labels:
            if hit.field not in out:
                out[hit.field] = clean_value(_glyph_text(hit.value_glyphs))
        return out


# ---------------------------------------------------------------- characters → lines


def glyphs_pdfium(src: PdfSource) -> list[list[Glyph]]:
    return [src.glyphs(i) for i in range(min(src.pages, MAX_PAGES))]


def glyphs_pdfplumber(path: Path) -> list[list[Glyph]]:
    import pdfplumber

    with pdfplumber.open(str(path)) as pdf:
        return [
            [Glyph(t, c["x0"], c["x1"], c["top"], c["bottom"], float(page.height) - c["matrix"][5])
             for c in page.chars if (t := normalize(c["text"]))]
            for page in pdf.pages[:MAX_PAGES]
        ]


def build_lines(pages: list[list[Glyph]]) -> list[Line]:
    lines: list[Line] = []
    for pno, glyphs in enumerate(pages):
        for g in glyphs:
            if len(g.text) == 1 and ord(g.text) in PUA_GLYPHS:
                g.text = PUA_GLYPHS[ord(g.text)]  # a tick from a symbol font, as Word exports it
        lines.extend(_cluster(pno, glyphs))
    return lines


def _cluster(page: int, glyphs: list[Glyph]) -> list[Line]:
    """Group glyphs into lines by their baseline: text on one line is baseline-aligned whatever
    its font, while the boxes of neighbouring lines in a tight table overlap."""
    lines: list[Line] = []
    for g in sorted(glyphs, key=lambda g: (g.base, g.x0)):
        ln = lines[-1] if lines else None
        if ln is not None and abs(g.base - ln.base) <= BASELINE_TOLERANCE_EM * max(g.height, 1.0):
            ln.glyphs.append(g)
        else:
            lines.append(Line(page, [g], base=g.base))
    for ln in lines:
        ln.seal()
    return lines


# ---------------------------------------------------------------- questions and answers


def locate_questions(lines: list[Line]) -> dict[int, QuestionRow]:
    rows: dict[int, QuestionRow] = {}
    for i in QUESTION_NUMBERS:
        for li, ln in enumerate(lines):
            span = find_question(ln.text, i)
            if span is None:
                continue
            g = ln.glyph_span(span[0], 1)[0]
            rows[i] = QuestionRow(i, li, g.x0, g.top)
            break
    return rows


def assign_answers(lines: list[Line], rows: dict[int, QuestionRow]) -> None:
    """Collect, per question, the glyphs of its row band that lie in the 反馈意见 column.

    A band runs from the question's first line to the next question's; the column is what is
    right of the question text, and left-aligned with what the other rows have there (so text
    that strays into a band, such as a wrapped name under the table, is not taken for an answer).
    """
    ordered = sorted(rows.values(), key=lambda r: r.line)
    candidates: dict[int, list[list[Glyph]]] = {}
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
        segs = candidates.setdefault(row.number, [])
        for ln in lines:
            if ln.page != page or not top <= ln.mid < bottom:
                continue
            for seg in ln.segments():
                if abs(seg[0].x0 - row.x0) <= QUESTION_INDENT_EM * em or seg[0].x0 < row.x0:
                    continue  # the question text (or a wrapped line of it)
                segs.append(seg)
    starts = sorted(min(s[0].x0 for s in segs) for segs in candidates.values() if segs)
    column = starts[len(starts) // 2] if starts else 0.0
    for row in ordered:
        em = lines[row.line].em
        for seg in candidates.get(row.number, []):
            if seg[0].x0 >= column - ANSWER_COLUMN_SLACK_EM * em:
                row.answer_glyphs.extend(seg)


def _end_of_table(lines: list[Line], start: int, page: int) -> float:
    for ln in lines[start + 1:]:
        if ln.page != page:
            break
        if any(ln.text.startswith(lab) for lab in END_OF_TABLE_LABELS):
            return ln.top - 0.1
    return float("inf")


# ---------------------------------------------------------------- 负责人 / 职务 / 联系电话


_LABELS: tuple[tuple[str, str], ...] = tuple(
    sorted(((lab, f) for f, labs in HEAD_LABELS.items() for lab in labs if lab not in PHONE_WORDS),
           key=lambda x: -len(x[0])))


def locate_labels(lines: list[Line]) -> list[LabelHit]:
    """Labels that start a cell (``被检查单位`` inside the 备注 sentence is not one)."""
    hits: list[LabelHit] = []
    for li, ln in enumerate(lines):
        starts = _segment_starts(ln)
        taken: set[int] = set()
        for lab, fld in _LABELS:
            pos = ln.text.find(lab)
            while pos >= 0:
                if pos in starts and pos not in taken:
                    gl = ln.glyph_span(pos, len(lab))
                    hits.append(LabelHit(fld, li, gl[0].x0, gl[-1].x1, ln.top, ln.bottom))
                    taken.update(range(pos, pos + len(lab)))
                pos = ln.text.find(lab, pos + 1)
    return sorted(hits, key=lambda h: (h.line, h.x0))


def _segment_starts(ln: Line) -> set[int]:
    starts, n = set(), 0
    for seg in ln.segments():
        starts.add(n)
        n += sum(len(g.text) for g in seg)
    return starts


def assign_label_values(lines: list[Line], hits: list[LabelHit]) -> None:
    """A label's value: glyphs right of it (up to the next label on its row) within its row band.

    Row bands reach halfway to the neighbouring label rows, so a value that wraps to two lines
    in a tall cell (vertically centred around the label) is read whole.  A value taller than the
    band (a long enterprise name wrapping to many lines) is followed further: the cell is
    vertically centred on its label, so its lines form an unbroken, evenly spaced run that
    extends equally above and below the label (``_centred_run``).
    """
    rows = _label_rows(hits)
    for r, row in enumerate(rows):
        mid = (row[0].top + row[0].bottom) / 2
        above = (rows[r - 1][0].top + rows[r - 1][0].bottom) / 2 if r > 0 else None
        below = (rows[r + 1][0].top + rows[r + 1][0].bottom) / 2 if r + 1 < len(rows) else None
        gaps = [d for d in ((mid - above) if above is not None else None,
                            (below - mid) if below is not None else None) if d]
        reach = min(gaps) / 2 if gaps else 1.5 * (row[0].bottom - row[0].top)
        top, bottom = mid - reach, mid + reach
        page = lines[row[0].line].page
        for k, hit in enumerate(row):
            right = row[k + 1].x0 if k + 1 < len(row) else float("inf")

            def in_column(ln: Line, hit: LabelHit = hit, right: float = right) -> list[Glyph]:
                return [g for g in ln.glyphs if g.x0 >= hit.x1 - 0.5 and g.x1 <= right + 0.5]

            banded = [li for li, ln in enumerate(lines) if ln.page == page and top <= ln.mid <= bottom]
            # The run is looked for only between the neighbouring label rows (another row's value is never
            # taken) and among lines that do not also run through the label's column (a question row above).
            candidates = [li for li, ln in enumerate(lines)
                          if ln.page == page and (above is None or ln.top > above) and (below is None or ln.bottom < below)
                          and (li == hit.line or all(g.x0 >= hit.x1 - 0.5 for g in ln.glyphs)) and in_column(ln)]
            run = [candidates[i] for i in _centred_run([lines[li] for li in candidates], mid)]
            for li in sorted(set(banded) | set(run)):
                hit.value_glyphs.extend(in_column(lines[li]))


def _centred_run(column: list[Line], mid: float) -> list[int]:
    """Indices of the evenly spaced run of lines centred on ``mid`` (one line, or a pair around it,
    grown a pair at a time while both new lines keep the run's spacing)."""
    if not column:
        return []
    mids = [ln.mid for ln in column]
    em = median(ln.bottom - ln.top for ln in column)
    nearest = min(range(len(mids)), key=lambda i: abs(mids[i] - mid))
    if abs(mids[nearest] - mid) <= 0.25 * em:
        lo = hi = nearest
    else:  # an even number of lines: the label sits between the middle two
        lo, hi = (nearest - 1, nearest) if mids[nearest] > mid else (nearest, nearest + 1)
        if lo < 0 or hi >= len(mids) or not (mids[lo] < mid < mids[hi]) or mids[hi] - mids[lo] > MAX_PITCH_EM * em:
            return []
    pitch = mids[hi] - mids[lo] if hi > lo else None
    while lo > 0 and hi + 1 < len(mids):
        up, down = mids[lo] - mids[lo - 1], mids[hi + 1] - mids[hi]
        step = pitch or up
        if not (abs(up - step) <= 0.15 * em and abs(down - step) <= 0.15 * em and step <= MAX_PITCH_EM * em):
            break
        pitch, lo, hi = step, lo - 1, hi + 1
    return list(range(lo, hi + 1))


def _label_rows(hits: list[LabelHit]) -> list[list[LabelHit]]:
    rows: list[list[LabelHit]] = []
    for h in sorted(hits, key=lambda h: (h.top, h.x0)):
        if rows and abs(rows[-1][0].top - h.top) < 0.5 * (h.bottom - h.top):
            rows[-1].append(h)
        else:
            rows.append([h])
    for row in rows:
        row.sort(key=lambda h: h.x0)
    return rows


def _glyph_text(glyphs: list[Glyph]) -> str:
    # Glyphs were collected line by line, left to right: already in reading order.
    return "".join(g.text for g in glyphs)


# ---------------------------------------------------------------- the reading


def layout_of(pages: list[list[Glyph]]) -> PdfLayout:
    lines = build_lines(pages)
    lay = PdfLayout(len(pages), lines, locate_questions(lines))
    assign_answers(lines, lay.rows)
    # Labels below the last question only: the card's sign-off table follows the ten questions.
    last = max((r.line for r in lay.rows.values()), default=-1)
    hits = [h for h in locate_labels(lines) if h.line > last]
    assign_label_values(lines, hits)
    lay.labels = hits
    return lay


def layout(path: Path, engine: str = "pdfium") -> PdfLayout:
    if engine == "pdfplumber":
        return layout_of(glyphs_pdfplumber(path))
    with PdfSource(path, forms=False) as src:
        return layout_of(glyphs_pdfium(src))


def read_pdf_text(lay: PdfLayout, key: bytes, qr_payloads: list[str] | None = None) -> CardReading:
    full = lay.text
    form = identify_form(full)
    answers: dict[int, Answer] = {i: parse_answer(_glyph_text(row.answer_glyphs)) for i, row in lay.rows.items()}
    r = CardReading(ReadMethod.PDF_TEXT, confidence=TEXT_EXTRACTED, is_card=looks_like_card(full, len(answers)) and form in (FormKey.CARD, ""), form=form)
    r.pages = lay.pages
    if not r.is_card:
        return r
    r.form = FormKey.CARD
    r.set_answers(answers)
    r.set_header(lay.header())
    r.qr_payloads = list(qr_payloads or [])
    r.resolve_serial(full, key)
    return r
