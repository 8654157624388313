"""Checks over the whole answers column, after each row's two boxes were decided (``engine.omr.marks``).

``marks`` looks at one row at a time: the ink in and round its two boxes.  Some pen work only makes
sense across rows, and a row read alone would take it for an answer:

- one stroke through the boxes of several rows: a line struck down the 是 (or 否) column.  Each box
  it crosses holds a line as long as a tick's, so every row would read as marked.  A stroke running
  through the insides of the boxes of three rows or more is no row's answer: every row from its first
  to its last goes to a person (``MarkHow.ACROSS``).  Ticks in two neighbouring rows may touch across
  a rule (an overshoot, a soft photo), rings bulge over it: neither runs through three rows' boxes.
  (One tick drawn across the rule between two rows is not caught: README, issue 12.)
- something written in the margin right of the table beside a row (a "否" next to a ✓ on 是, "改为否"):
  nothing is printed there, on our card or the Word version, and a mark in the boxes never reaches it
  (it starts 1.5 mm right of the table's rule: a ring round 否 may bulge over it).  A decided row with
  pen there goes to a person (``MarkHow.BESIDE``).  Writing inside the cell, over the labels or in the
  question's text cell is not looked for (README, issue 12).

Only decided rows are changed, and only into rows left to a person: a check never adds an answer.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..forms import QUESTION_NUMBERS
from ..readback.common import MarkHow
from .locate import PX_PER_MM, Registration
from .marks import RESIDUE, CellGeometry, _shift
from .model import Box, MarkDecision

if TYPE_CHECKING:
    import numpy as np

WRITTEN = 60  # px of pen (~1 mm², a 4 mm stroke of a fine pen) in the margin beside a row: something was written there
MARGIN_FROM_MM, MARGIN_TO_MM = 1.5, 16.0  # the margin right of the table looked at (a ring round 否 may bulge over the rule)
INKED = 3  # px of a stroke inside a box: the stroke marks that box
COLUMN_LINE = 3  # rows whose boxes one stroke runs through: a line down the column (ticks in two rows may touch across a rule)
RING_HOLE_MM2 = 6.0  # paper a stroke closes round in one row (a ring round a box or label: ~20-30 mm²); a line closes none
PRINT_JOIN = 11  # px: pen pieces this close across masked print (a rule, a box's side, a glyph) are one line


def checked(reg: Registration, decisions: tuple[MarkDecision, ...], geo: CellGeometry) -> tuple[MarkDecision, ...]:
    """``decisions`` (made in the answer cells ``geo``) with every row that a check finds doubtful left to a person."""
    column = AnswerColumn.of(reg, geo)
    across = set(QUESTION_NUMBERS) if struck_through(geo) else column.strokes_across_rows()
    beside = written_beside_table(reg)
    return tuple(_unresolved(d, MarkHow.ACROSS) if d.number in across else
                 _unresolved(d, MarkHow.BESIDE) if d.number in beside and d.answer is not None else d for d in decisions)


def written_beside_table(reg: Registration) -> set[int]:
    """The questions beside whose row something is written in the margin right of the table (a "否"
    written next to a ✓ on 是): nothing is printed there, on our card or the Word version."""
    import cv2
    import numpy as np

    xb = reg.answer_x[1]
    x0, x1 = xb + round(MARGIN_FROM_MM * PX_PER_MM), min(reg.dark.shape[1], xb + round(MARGIN_TO_MM * PX_PER_MM))
    found = set()
    for q in QUESTION_NUMBERS:
        top, bottom = reg.row(q)
        ink = (reg.dark[top + 2:bottom - 1, x0:x1] > RESIDUE).astype(np.uint8)
        if ink.size and np.count_nonzero(cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))) >= WRITTEN:
            found.add(q)
    return found


STRUCK = 0.8  # share of the cell above and below a box inked straight through, in every row


def struck_through(geo: CellGeometry) -> bool:
    """Whether one line runs down through a box of every row: the cells stacked (``marks``: the least
    ink over the rows, kept as print) show ink straight above and below a box, where nothing is
    printed.  Such a line is taken for print, so no row sees it as a stroke of its own."""
    import numpy as np

    ink = geo.blank > RESIDUE
    for x0, y0, x1, y1 in geo.boxes:
        inset = max(2, round(0.18 * (x1 - x0)))
        above, below = ink[:max(0, y0 - 1), x0 + inset:x1 - inset], ink[y1 + 1:, x0 + inset:x1 - inset]
        if above.shape[0] >= 3 and below.shape[0] >= 3 and bool(np.any((above.mean(axis=0) >= STRUCK)
                                                                        & (below.mean(axis=0) >= STRUCK))):
            return True
    return False


def _unresolved(d: MarkDecision, how: MarkHow) -> MarkDecision:
    return replace(d, answer=None, how=how, confidence=0.0)


class AnswerColumn:
    """The pen in the answers column (page coordinates, print and rules left out) and where each row's boxes are."""

    def __init__(self, pen: np.ndarray, printed: np.ndarray, boxes_of: dict[int, tuple[Box, Box]],
                 rows: dict[int, tuple[int, int]] | None = None) -> None:
        self.rows = rows or {}  # question -> (top, bottom) of its row on the page
        self.pen = pen  # bool, the registered page's shape: added ink in the answers column only
        self.printed = printed  # bool, same shape: the print and the rules (masked out of ``pen``)
        self.boxes_of = boxes_of  # question -> the insides of its 是 and 否 boxes (x0, y0, x1, y1)

    @classmethod
    def of(cls, reg: Registration, geo: CellGeometry) -> AnswerColumn:
        import cv2
        import numpy as np

        printed = reg.lines > 0
        inset = max(2, round(0.18 * geo.size))  # as ``marks`` measures a box's inside
        blank = cv2.dilate((geo.blank > RESIDUE).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        bh, bw = blank.shape
        boxes_of: dict[int, tuple[Box, Box]] = {}
        for q in QUESTION_NUMBERS:
            top, bottom = reg.row(q)
            centre = (top + bottom) // 2
            dx, dy = _shift(reg, geo, centre)
            y0, x0 = centre - geo.half + dy, geo.x0 + dx
            region = printed[y0:y0 + bh, x0:x0 + bw]
            region |= blank[:region.shape[0], :region.shape[1]]
            boxes = tuple((b[0] + x0 + inset, b[1] + y0 + inset, b[2] + x0 - inset, b[3] + y0 - inset) for b in geo.boxes)
            boxes_of[q] = (boxes[0], boxes[1])
        xa, xb = reg.answer_x
        ya, yb = reg.rules_y[1], reg.rules_y[-1]
        pen = np.zeros(reg.dark.shape, bool)
        pen[ya:yb, xa:xb] = (reg.dark[ya:yb, xa:xb] > RESIDUE) & ~printed[ya:yb, xa:xb]
        return cls(pen, printed, boxes_of, {q: reg.row(q) for q in QUESTION_NUMBERS})

    def ringed_rows(self, stroke: np.ndarray) -> set[int]:
        """The questions in whose row ``stroke`` (bool, page-shaped) closes round at least
        ``RING_HOLE_MM2`` of paper, all its loops there counted (the label's glyph may cut a ring's inside in parts)."""
        import cv2
        import numpy as np

        contours, hierarchy = cv2.findContours(stroke.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hierarchy is None:
            return set()
        enclosed: dict[int, float] = {}
        for contour, (_next, _prev, _child, parent) in zip(contours, hierarchy[0], strict=True):
            if parent < 0:
                continue  # an outer edge, not a hole
            m = cv2.moments(contour)
            if not m["m00"]:
                continue
            y = m["m01"] / m["m00"]
            q = next((q for q, (top, bottom) in self.rows.items() if top <= y < bottom), None)
            if q is not None:
                enclosed[q] = enclosed.get(q, 0.0) + cv2.contourArea(contour)
        return {q for q, area in enclosed.items() if area >= RING_HOLE_MM2 * PX_PER_MM ** 2}

    def strokes_across_rows(self) -> set[int]:
        """The questions from the first to the last row whose box insides one stroke runs through,
        when it runs through those of ``COLUMN_LINE`` rows or more (``MarkHow.ACROSS``), not
        counting the rows where it closes round paper: rings round the 否 of short rows one under
        the other bulge over the rules and touch, one stroke for this check, though each ring is its
        own row's answer; a line struck down the column closes round nothing."""
        import cv2
        import numpy as np

        pen = self.pen.astype(np.uint8)
        # A line crossing a rule or a box's side is cut there by the print's mask: its pieces are
        # joined through the print they both reach into (two strokes a little apart on bare paper stay two).
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (PRINT_JOIN, PRINT_JOIN))
        joined = pen | (cv2.dilate(pen, disc) & self.printed.astype(np.uint8))
        n, comp = cv2.connectedComponents(joined, connectivity=8)
        if n <= 1:
            return set()
        inked: dict[int, set[int]] = {}  # component -> questions whose box insides it inks
        for q, boxes in self.boxes_of.items():
            for x0, y0, x1, y1 in boxes:
                ids, counts = np.unique(comp[y0:y1, x0:x1], return_counts=True)
                for k, c in zip(ids.tolist(), counts.tolist(), strict=True):
                    if k and c >= INKED:
                        inked.setdefault(k, set()).add(q)
        found: set[int] = set()
        for k, rows in inked.items():
            if len(rows) >= COLUMN_LINE and len(rows - self.ringed_rows(comp == k)) >= COLUMN_LINE:
                found |= rows
        # A line down a column, broken here and there (a light stretch, a blurred photo), leaves a
        # piece in one row only: every row between its ends is the line's.
        if found:
            found = set(range(min(found), max(found) + 1))
        return found
