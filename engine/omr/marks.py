"""Deciding each question's two boxes, with a measured confidence.

Every answer cell prints the same ``□是 □否`` at the same place (centred text), so the cells of
the ten rows, stacked, give the blank cell: the per-pixel *least* ink over the rows keeps the
print and drops the pen, which never sits at the same spot in every row.  The boxes are the
squares of that blank cell whose four sides are inked (found, not assumed: the Word version prints
them elsewhere, and its 否 glyph is square too); a layout recorded at generation gives them instead
where its print, and each of its boxes, is found at its place.  Each row's cell, between its rules,
is shifted onto the blank cell and the print (widened) masked out: what is left is what a person
added.  It is measured

- inside each box (a tick, a cross, a blacked-in box: the share of the box's inside inked; a ✓
  drawn low, its corner under the box, is counted over the box's whole inside, up to its sides,
  along the strokes that reach the middle),
- on the 是/否 label (a tick drawn over the word), and
- round the box, the label, or both (a ring: the share of the directions round it in which ink
  runs close outside it).

A stroke across the middle of the gap between 是 and the 否 box (tall, crossing the gap's middle at
the boxes' height) could mean either option: the question goes to a person, unless

- a closed ring round one option accounts for it: print and rules count as walls, the paper near
  either end of the cell is outside (a tick beside a stray stroke encloses nothing), and the ring's
  line goes round, not through, the 否 box (a ✓ there joined by a stray stroke running from rule to
  rule shuts paper in with the print, but it is no ring);
- it is the end of a diagonal drawn through the 否 box (a ×'s arm, even one reaching the 是 label):
  it lies along a slanting line through the box's centre, inked across the box's inside; a stray
  stroke crossing the gap at the boxes' middle height lines up with no such line;
- or it is ink running on out of the 否 box (a fill: joined to the box's inside straight across its
  printed side) that stays on the box's side of the gap.

A closed ring round one option only is all that option's: measured all round it, and taken out of
the ring measured round the other one.

Inside a box nothing is printed: ink there is counted down to the page's own paper floor (its noise
measured on the cells' unprinted paper), so a light pencil's grain counts where a pen's threshold
would drop it.

A box counts as marked at ``MARKED`` and as blank below ``BLANK``; the confidence of a decision is
how far both boxes are from the band between.  One marked box and one blank box answer the question;
everything else (both, neither, anything in the band) leaves it to a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..forms import QUESTION_NUMBERS
from ..readback.common import NO, YES, MarkHow
from .layout import CardLayout
from .locate import Registration, square_beside
from .model import Box, MarkDecision

if TYPE_CHECKING:
    import numpy as np

RESIDUE = 0.15  # darkness above the blank cell that counts as added ink (pencil is ~0.2–0.4)
FULL_INSIDE = 0.10  # share of a box's inside inked by a clear tick (a fill is ~0.8)
FILLED = 0.93  # share of the inside inked: a blacked-in box (a bold cross reaches ~0.8)
MARKED, BLANK = 0.6, 0.25  # mark scores (0…1): above MARKED a box is marked, below BLANK it is blank
STRAY = 0.05  # share of the gap between the options inked: a mark there could mean either
STRAY_TALL, STRAY_WIDE = 0.4, 0.35  # a stroke in the gap this share of the boxes' height and of the gap's middle wide
RING_AT = 0.6  # share of the directions round an option inked: a ring
RING_CLOSED = 0.5  # …or this share, where the line is closed round the option
PROBE = 4  # px outside an option (and 2 inside) looked at for a ring's inside
RING_FROM, RING_FULL = 0.35, 0.6  # the ring's part of the mark score rises from 0 to 1 between these
DECIDE_AT = 0.75  # a decision less sure than this is left to a person
PALE = 0.55  # darkness of most of the added ink below this: a pencil or a nearly dry pen (a pen is ~0.8)


@dataclass(frozen=True, slots=True)
class CellGeometry:
    """Where the boxes and labels sit, relative to a row's centre line, in registered pixels."""

    half: int  # half height of the printed band around the row's centre
    x0: int  # left edge of the band
    boxes: tuple[Box, Box]  # 是 box, 否 box in band coordinates
    labels: tuple[Box, Box]  # 是 label, 否 label in band coordinates
    blank: np.ndarray  # the blank band (float darkness), print only
    fit: float = 1.0  # share of the blank's print this card shows (a recorded layout)

    @property
    def size(self) -> int:
        b = self.boxes[0]
        return max(b[2] - b[0], b[3] - b[1])


@dataclass(frozen=True, slots=True)
class OptionInk:
    inside: float  # share of the box's inside inked (beyond the print)
    label: float  # share of the label's area inked beyond the print
    ring: float  # how much of a ring surrounds the box or label (0…1)
    corners: int  # corners of the box's inside with ink (4 for a cross)
    edges: int  # middles of the inside's edges with ink (4 for a blacked-in box, none for a cross)
    pale: bool  # the added ink is light
    closed: bool = False  # a closed line runs round this option only (``_closed_ring``)
    through: float = 0.0  # share of the box's whole inside inked by the strokes that reach its middle (``_through``)
    black: float = 0.0  # share of the box's whole inside (up to its masked sides) inked black (``BLACK``)
    flat: bool = False  # the strokes reaching the box's middle are one straight line along the row (``_flat``)

    @property
    def score(self) -> float:
        inside = min(1.0, max(self.inside, self.through) / FULL_INSIDE)
        # Some print survives on a label (glyph edges a pixel off between rows): a floor.
        label = min(1.0, max(0.0, self.label - 0.05) / (2 * FULL_INSIDE))
        ring = min(1.0, max(0.0, (self.ring - RING_FROM) / (RING_FULL - RING_FROM)))
        return max(inside, 0.8 * label, ring)

    @property
    def in_box(self) -> bool:
        """The mark score is the ink inside the box (not a ring, not a tick over the label)."""
        inside = min(1.0, max(self.inside, self.through) / FULL_INSIDE)
        return inside >= self.score and self.ring < RING_AT and not self.closed


def cell_geometry(reg: Registration, layouts: Sequence[CardLayout] = ()) -> CellGeometry | None:
    """The blank answer cell of this card (print only) and its two boxes; None when not found.

    From a recorded layout that fits this table when there is one, else found in the image."""
    import numpy as np

    xa, xb = reg.answer_x
    heights = [reg.row(i)[1] - reg.row(i)[0] for i in QUESTION_NUMBERS]
    half = max(6, min(heights) // 2 - 2)  # the narrowest cell but its rules (print clipped here would count as a mark)
    x0, x1 = xa + 3, xb - 2
    bands = _aligned_bands(reg, _centres(reg), half, x0, x1)
    if bands is None:
        return None
    stacked = np.min(np.stack(bands), axis=0)
    found = _found(stacked, half, x0)
    for lay in layouts:
        geo = _from_layout(lay, stacked, xb - xa, x0)
        # The Word version prints the same □是 □否 a little elsewhere: where this card's own boxes
        # are found, the layout must put them at the same places.
        if geo is not None and (_same_boxes(found, geo) if found is not None else geo.fit >= LAYOUT_ALONE):
            return geo
    return found


LAYOUT_FITS = 0.7  # share of a layout's print this card's stacked cells show (marks only add ink)
LAYOUT_ALONE = 0.85  # …when the card's own boxes cannot be found to confirm it (the Word version shows ~0.7)
BOX_SHOWN = 0.9  # share of a layout box's outline this card shows where the layout puts it
SAME_BOX = 2.5  # px: a found box's centre this close to the layout's is the same box


def _same_boxes(a: CellGeometry, b: CellGeometry) -> bool:
    def centres(g: CellGeometry) -> list[float]:
        return [v for x0, y0, x1, y1 in g.boxes for v in ((x0 + x1) / 2, (y0 + y1) / 2 - g.half)]

    return all(abs(p - q) <= SAME_BOX for p, q in zip(centres(a), centres(b), strict=True))


def _from_layout(lay: CardLayout, stacked: np.ndarray, width: int, x0: int) -> CellGeometry | None:
    import cv2
    import numpy as np

    if abs(lay.answer_width - width) > 0.03 * width:
        return None
    blank = lay.blank()
    bh, bw = blank.shape
    sh, sw = stacked.shape
    if bh > sh + 8 or bw > sw + 8:
        return None
    # Both bands are centred on the row: compare them centred, over what they share, a few pixels
    # either way (the stacked rows were aligned to one another only).
    h, w = min(bh, sh), min(bw, sw)
    dy = (bh - h) // 2
    printed = blank[dy:dy + h, :w] > 0.4
    if not printed.any():
        return None
    m = 3
    big = np.pad(stacked, m)
    # A faint or blurred scan's print is lighter than the rendering's: its own darkest decides, or its
    # typical ink where a mark shared by every row (a ring each) is the darkest.
    inked = stacked[stacked > 0.1]
    ink = min(0.3, 0.5 * float(np.percentile(stacked, 99)), 0.6 * float(np.median(inked)) if inked.size else 0.3)
    shown_all = cv2.dilate(big, np.ones((3, 3), np.uint8)) > ink
    top = (sh - h) // 2
    fit, shown = max(((float((s_ & printed).sum() / printed.sum()), s_) for s_ in (
        shown_all[top + m + ddy:top + m + ddy + h, m + ddx:m + ddx + w]
        for ddy in range(-m, m + 1) for ddx in range(-m, m + 1))), key=lambda t: t[0])
    if fit < LAYOUT_FITS:
        return None
    # Each box's own outline must be there, to the pixel (the Word version prints 否's box higher).
    for x0b, y0b, x1b, y1b in lay.boxes:
        p = printed[y0b - dy:y1b - dy, x0b:x1b]
        if not p.any() or float((p & shown[y0b - dy:y1b - dy, x0b:x1b]).sum() / p.sum()) < BOX_SHOWN:
            return None
    return CellGeometry(bh // 2, x0, lay.boxes, lay.labels, blank, fit)


def _found(stacked: np.ndarray, half: int, x0: int) -> CellGeometry | None:
    """The two boxes found in the stacked cells (a layout nobody recorded: the Word version)."""

    blank = stacked
    # A bilevel fax breaks a box's thin side here and there, a resampled scan leaves its horizontal
    # sides light: joined more boldly, then lighter ink taken, if need be (the least ink over ten
    # rows has no noise to fear).
    for light, join in ((0.3, 3), (0.3, 5), (0.15, 3)):
        squares = _squares(blank, half, join, light)
        yes, no = _box_pair(squares, [b for b in squares if _printed_first(blank, b, light)])
        if yes is not None and no is not None:
            break
    else:
        yes, no = _pair_beside(blank, half)
        if yes is None or no is None:
            return None
    # Nothing is printed inside a box: what the stacked rows left there is a mark every row shares
    # (ten crosses in the 否 box), not print.
    blank = blank.copy()
    for b in (yes, no):
        inset = max(2, round(0.12 * (b[2] - b[0])))
        blank[b[1] + inset:b[3] - inset, b[0] + inset:b[2] - inset] = 0.0
    s = yes[2] - yes[0]
    # The label follows its box: up to the next box, or a label's width (~1.1 box) at the end.
    labels = ((yes[2] + 1, yes[1], min(no[0] - 1, yes[2] + round(1.3 * s)), yes[3]),
              (no[2] + 1, no[1], min(blank.shape[1], no[2] + round(1.3 * s)), no[3]))
    return CellGeometry(half, x0, (yes, no), labels, blank)


def _pair_beside(stacked: np.ndarray, half: int) -> tuple[Box | None, Box | None]:
    """The 是 box, and the 否 box found by its four sides where a mark every row shares (a ring, an
    overshooting tick) joins it and its outline cannot be followed."""
    for light in (0.3, 0.15):
        for yes in (b for b in _squares(stacked, half, 3, light) if _printed_first(stacked, b, light)):
            no = square_beside(stacked > light, yes)
            if no is not None:
                return yes, no
    return None, None


def _squares(stacked: np.ndarray, half: int, join: int, light: float) -> list[Box]:
    """The printed squares in the stacked cells, left to right (gaps up to ``join`` - 1 px closed)."""
    import cv2
    import numpy as np

    ink = cv2.morphologyEx((stacked > light).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((join, join), np.uint8))
    n, comps, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    squares = []
    for k in range(1, n):
        x, y, w, h, _ = (int(v) for v in stats[k])
        # A box is a square inked along its four sides, empty or with a mark every row shares (a
        # glyph is not: 否 fits a square too, but its strokes do not run round it).
        sq = _outlined(comps[y:y + h, x:x + w] == k) if h >= 0.4 * 2 * half else None
        if sq is not None:
            bx0, by0, bx1, by1 = sq
            if abs((bx1 - bx0) - (by1 - by0)) <= 0.2 * max(bx1 - bx0, by1 - by0):
                squares.append((x + bx0, y + by0, x + bx1, y + by1))
    return sorted(squares, key=lambda b: b[0])


def _aligned_bands(reg: Registration, centres: list[int], half: int, x0: int, x1: int) -> list[np.ndarray] | None:
    """Each row's band, shifted (±3 px) onto the median row's: the print must coincide to the pixel."""
    import cv2
    import numpy as np

    m = 3
    ref = np.median(np.stack([reg.dark[c - half:c + half, x0:x1] for c in centres]), axis=0).astype(np.float32)
    out = []
    for c in centres:
        big = reg.dark[c - half - m:c + half + m, x0 - m:x1 + m]
        if big.shape != (ref.shape[0] + 2 * m, ref.shape[1] + 2 * m):
            return None
        _, _, _, (dx, dy) = cv2.minMaxLoc(cv2.matchTemplate(big, ref, cv2.TM_CCORR_NORMED))
        out.append(big[dy:dy + ref.shape[0], dx:dx + ref.shape[1]])
    return out


OUTLINE = 0.8  # share of each side of a box's bounding square inked (the 否 glyph, square too, has ~0.5 on a side)


def _outlined(comp: np.ndarray) -> Box | None:
    """The square whose four sides the component's ink runs along (a printed □, empty or with a
    mark every row shares inside, even one reaching out of it), relative to the component; None when
    a side is missing (a glyph's strokes never run round all four sides)."""

    h, w = comp.shape
    if h < 6 or w < 6:
        return None
    # Loosely first (a tick's end sticking out of the box widens the component), then each side
    # measured along the square the other sides span.
    rough = _sides(comp, 0.6)
    if rough is None:
        return None
    x0, y0, x1, y1 = rough
    exact = _sides(comp[y0:y1, x0:x1], OUTLINE)
    if exact is None:
        return None
    return (x0 + exact[0], y0 + exact[1], x0 + exact[2], y0 + exact[3])


def _sides(comp: np.ndarray, share: float) -> Box | None:
    """The outer edges of the lines along which ``share`` of the component's width (height) is
    inked, in its outer thirds; None when one of the four is missing."""
    import cv2
    import numpy as np

    h, w = comp.shape
    if h < 6 or w < 6:
        return None
    e = max(2, round(0.1 * min(h, w)))
    m = comp.astype(np.uint8)
    rows = cv2.dilate(m, np.ones((e, 1), np.uint8)).mean(axis=1)  # a side a pixel or two aslant still counts
    cols = cv2.dilate(m, np.ones((1, e), np.uint8)).mean(axis=0)
    t, b = h // 3, w // 3
    top, bottom = np.flatnonzero(rows[:t] >= share), h - t + np.flatnonzero(rows[h - t:] >= share)
    left, right = np.flatnonzero(cols[:b] >= share), w - b + np.flatnonzero(cols[w - b:] >= share)
    if not (top.size and bottom.size and left.size and right.size):
        return None
    ys, xs = np.flatnonzero(comp.any(axis=1)), np.flatnonzero(comp.any(axis=0))
    return (max(int(left[0]), int(xs[0])), max(int(top[0]), int(ys[0])),
            min(int(right[-1]), int(xs[-1])) + 1, min(int(bottom[-1]), int(ys[-1])) + 1)


def _box_pair(squares: list[Box], firsts: list[Box]) -> tuple[Box | None, Box | None]:
    """Two squares of one size on one line, a label apart: the 是 box (one of ``firsts``) and the 否 box (the best match)."""
    best, pair = None, (None, None)
    for a in firsts:
        for b in squares:
            sa, sb = a[2] - a[0], b[2] - b[0]
            off = abs((a[1] + a[3]) - (b[1] + b[3])) / 2
            if abs(sa - sb) <= 0.2 * max(sa, sb) and off <= 0.3 * sa and b[0] - a[2] > sa:
                cost = abs(sa - sb) + abs((a[3] - a[1]) - (b[3] - b[1])) + off
                if best is None or cost < best:
                    best, pair = cost, (a, b)
    return pair


def _printed_first(stacked: np.ndarray, box: Box, light: float) -> bool:
    """Nothing printed left of ``box`` in the cell: the 是 box opens the cell's print.  (A blurred
    Word-version 是 or 否 can pass for a square; the real □ is then left of it.)"""
    strip = stacked[box[1]:box[3], 5:max(5, box[0] - 2)] > light  # the rule's fringe left aside
    return strip.size == 0 or float(strip.mean(axis=0).max()) < 0.5


def _centres(reg: Registration) -> list[int]:
    return [(a + b) // 2 for a, b in (reg.row(i) for i in QUESTION_NUMBERS)]


def decide_rows(reg: Registration, geo: CellGeometry, bilevel: bool = False) -> tuple[MarkDecision, ...]:
    """Ten decisions from the answer cells found (``cell_geometry``).  ``bilevel``: the page was
    scanned black-and-white (a Group-4 fax), where a light stroke survives only as black dots."""
    rows = [_row_ink(reg, geo, i, c) for i, c in enumerate(_centres(reg), start=1)]
    floor = paper_floor(rows)
    return tuple(decide_row(reg, geo, i, row, floor, bilevel) for i, row in enumerate(rows, start=1))


FAINT_FLOOR = 0.05  # darkness above the paper that a light pencil's grain reaches on a clean page
FLOOR_OVER_NOISE = 1.5  # …and above the paper's own noise (its 99.5th percentile) by this factor


def paper_floor(rows: Sequence[RowInk]) -> float:
    """How light added ink may be and still be told from this page's paper: a box's inside counts
    ink from here (a light pencil's grain), where the paper's own noise and grain stay below."""
    import numpy as np

    paper = np.concatenate([r.added[r.printed == 0].ravel() for r in rows])
    quiet = paper[paper < RESIDUE]  # what is surely not a pen (its faint edges too are few)
    if quiet.size == 0:
        return RESIDUE
    return float(min(RESIDUE, max(FAINT_FLOOR, FLOOR_OVER_NOISE * float(np.percentile(quiet, 99.5)))))


@dataclass(frozen=True, slots=True)
class RowInk:
    """One row's cell, between its rules, registered onto the blank cell: what a person added."""

    added: np.ndarray  # darkness beyond the (slightly widened) print, the rules left out
    dark: np.ndarray  # the cell as scanned
    printed: np.ndarray  # uint8 mask of the (widened) print and the rules
    off: int  # the blank band's first row in the cell (band y + off = cell y)


def decide_row(reg: Registration, geo: CellGeometry, number: int, row: RowInk, floor: float = RESIDUE,
               bilevel: bool = False) -> MarkDecision:
    top, bottom = reg.row(number)
    xa, xb = reg.answer_x
    row_box: Box = (xa - 2, top - 2, xb + 3, bottom + 3)
    yes, no = (_option_ink(row, geo, k, floor) for k in (0, 1))
    yes, no, ringed = _closed_ring(row, geo, yes, no)
    # A ring round an option passes through the gap too: that ink is the ring's (a closed ring going
    # round the 否 box only: a tick and a stray stroke beside it may cover as many directions).
    if _between(row, geo) and not ringed:
        return MarkDecision(number, None, MarkHow.BETWEEN, 0.0, yes.score, no.score, row_box)
    return decide(number, yes, no, row_box, bilevel)


RING_SEEN = 0.3  # share of the directions round an option inked: worth asking whether a line closes round it


def _closed_ring(row: RowInk, geo: CellGeometry, yes: OptionInk, no: OptionInk) -> tuple[OptionInk, OptionInk, bool]:
    """Where a closed line runs round one option only, that ring is all this option's: measured all
    round it (a ring round 是 reaches past the middle of the gap), and its line taken out of the
    ring measured round the other option (whose box and label ink still count in full: a tick in
    the other box touching the ring still makes both marked).  Also whether a closed ring accounts
    for ink in the gap between the options: one whose line goes round, not through, the 否 box."""
    from dataclasses import replace

    closed = [o.ring >= RING_SEEN and _ringed(row, geo, k) for k, o in enumerate((yes, no))]
    if closed[0] == closed[1]:
        return yes, no, any(c and o.ring >= RING_CLOSED and _goes_round(row, geo, _ring_line(row, geo, k))
                            for k, (c, o) in enumerate(zip(closed, (yes, no), strict=True)))
    k = closed.index(True)
    full = _option_ring(row.added, geo, k, row.off, (0, row.added.shape[1]))
    if full < RING_CLOSED:
        return yes, no, False
    line = _ring_line(row, geo, k)
    other = 1 - k
    mid = (geo.labels[0][2] + geo.boxes[1][0]) // 2
    rest = row.added.copy()
    rest[line] = 0.0
    opts = [yes, no]
    # Closed, and inked in half the directions round it at least (the rest runs over the print,
    # masked out): a ring, however much of it merges with the boxes and glyphs.
    opts[k] = replace(opts[k], ring=max(opts[k].ring, full, RING_FULL), closed=True)
    opts[other] = replace(opts[other], ring=_option_ring(rest, geo, other, row.off,
                                                          (0, mid) if other == 0 else (mid, row.added.shape[1])))
    return opts[0], opts[1], _goes_round(row, geo, line)


def _ring_line(row: RowInk, geo: CellGeometry, k: int) -> np.ndarray:
    """The pen lines (bool, cell coordinates) that close round option ``k``: those bounding the paper
    that ``_enclosed`` finds shut in round it."""
    import cv2
    import numpy as np

    pen8 = (row.added > RESIDUE).astype(np.uint8)
    inner = _shut_in(row)
    # Only the shut-in paper beside this option (a ring round the other one is not this one's).
    (bx0, _, _, _), (_, _, lx1, _) = geo.boxes[k], geo.labels[k]
    near = np.zeros(inner.shape, bool)
    near[:, max(0, bx0 - geo.size):lx1 + geo.size] = True
    inner &= near
    touching = cv2.dilate(inner.astype(np.uint8), np.ones((5, 5), np.uint8)) & pen8
    m, lines = cv2.connectedComponents(pen8, connectivity=8)
    keep = np.zeros(m, bool)
    keep[np.unique(lines[touching > 0])] = True
    keep[0] = False
    return keep[lines]


THROUGH = 0.02  # share of the inside of the 否 box a ring's line may cross (a ring round it: none)


def _goes_round(row: RowInk, geo: CellGeometry, line: np.ndarray) -> bool:
    """Whether a closed line is a ring, not a mark through the box beside the gap: a ring round the
    否 box, or one round 是 reaching into the gap, stays out of the 否 box's inside; a ✓ or × there
    joined by a stray stroke, closing with the print round the paper beside it, runs through it."""
    bx0, by0, bx1, by1 = geo.boxes[1]
    inset = max(2, round(0.18 * geo.size))
    inside = line[by0 + row.off + inset:by1 + row.off - inset, bx0 + inset:bx1 - inset]
    return inside.size == 0 or float(inside.mean()) <= THROUGH


def _ringed(row: RowInk, geo: CellGeometry, k: int) -> bool:
    (bx0, by0, bx1, by1), (lx0, ly0, lx1, ly1) = geo.boxes[k], geo.labels[k]
    rects = ((bx0, by0, bx1, by1), (lx0, ly0, lx1, ly1), (bx0, min(by0, ly0), lx1, max(by1, ly1)))
    return any(_enclosed(row, (x0, y0 + row.off, x1, y1 + row.off)) for x0, y0, x1, y1 in rects)


def _between(row: RowInk, geo: CellGeometry) -> bool:
    """A stroke across the middle of the gap between 是 and the 否 box: one line reaching over much
    of its width and of the boxes' height.  (What a tick or a cross leaves beyond its own box near
    the box's edge, or a fill's strokes poking out of it, is short and hugs that edge.)"""
    import cv2
    import numpy as np

    x0, x1 = geo.labels[0][2], geo.boxes[1][0]
    m = (x1 - x0) // 5
    y0, y1 = geo.boxes[1][1] + row.off, geo.boxes[1][3] + row.off
    zone = (row.added[y0:y1, x0 + m:x1 - m] > RESIDUE).astype(np.uint8)
    if zone.size == 0 or zone.mean() < STRAY:
        return False
    n, comp, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(zone, np.ones((3, 3), np.uint8)), connectivity=8)
    h, w = zone.shape
    # …and one that crosses the gap's middle at the boxes' middle height (a cross's arms poke into
    # the gap at the box's corners).
    cy, cx, ry = h // 2, w // 2, max(1, round(0.25 * h))
    middle = set(np.unique(comp[cy - ry:cy + ry + 1, max(0, cx - 2):cx + 3]).tolist())
    strokes = [k for k in range(1, n) if stats[k, cv2.CC_STAT_HEIGHT] >= STRAY_TALL * h
               and stats[k, cv2.CC_STAT_WIDTH] >= STRAY_WIDE * w and k in middle]
    if not strokes:
        return False
    # The end of a straight line drawn through the 否 box (a ×'s arm, however far it reaches
    # towards 是) is that box's ink: a stroke of its own does not line up with the box's ink.
    arms = _gap_strokes(row, geo, (y0, x0 + m), [comp == k for k in strokes])
    arm = np.zeros(row.added.shape, bool)
    for k, stroke in zip(strokes, arms, strict=True):
        if _box_arm(row, geo, stroke):
            arm |= stroke
            comp[comp == k] = 0
    strokes = [k for k in strokes if (comp == k).any()]
    if not strokes:
        return False
    # A fill running on out of the 否 box is ink of that box, not a stroke of its own, as long as
    # it stays on the box's side of the gap: ink reaching across to the 是 label could be meant for
    # either, whatever it touches (a bold stroke beside a ✓ merges with it).
    spilled = _spilled(row, geo.boxes[1]) & ~arm
    if spilled[y0:y1, x0:x0 + (x1 - x0) // SPILL_REACH].any():
        return True
    return any(not (spilled[y0:y1, x0 + m:x1 - m][comp == k]).all() for k in strokes)


def _gap_strokes(row: RowInk, geo: CellGeometry, at: tuple[int, int], zone_strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Each stroke found in the gap's middle (masks of the zone at ``at``, cell y, x), whole: the pen
    lines (bool, cell coordinates) it is part of, from a half box over the 是 label to the 否 box."""
    import cv2
    import numpy as np

    gx0, gx1 = max(0, geo.labels[0][2] - geo.size // 2), geo.boxes[1][0]
    pen = np.zeros(row.added.shape, np.uint8)
    pen[:, gx0:gx1] = row.added[:, gx0:gx1] > RESIDUE
    n, lines = cv2.connectedComponents(pen, connectivity=8)
    out = []
    for z in zone_strokes:
        here = np.zeros(row.added.shape, bool)
        here[at[0]:at[0] + z.shape[0], at[1]:at[1] + z.shape[1]] = z
        keep = np.zeros(n, bool)
        keep[np.unique(lines[here])] = True
        keep[0] = False
        out.append(keep[lines])
    return out


ARM_COVER = 0.8  # share of a line's run through the 否 box's inside inked: a stroke drawn through it
ARM_SPREAD = 0.2  # the stroke in the gap lies this close to that line (share of a box; a pen's half width)
ARM_CENTRE = 0.25  # …which passes this close to the box's centre (share of a box): a diagonal of a ×
ARM_SLANT = (30, 65)  # degrees from the row: a diagonal, not a fill's hatching (or a line along the row)
ARM_REACH = 0.25  # the stroke reaches no further over the 是 label than this share of a box


def _box_arm(row: RowInk, geo: CellGeometry, stroke: np.ndarray) -> bool:
    """Whether ``stroke`` (bool, cell coordinates: ink in the gap) is the end of a diagonal drawn
    through the 否 box, an arm of a × overshooting it: the stroke lies along a slanting line through
    the box's centre that runs inked across the box's inside.  A stray stroke crossing the gap at the
    boxes' middle height cannot: a slanting line through it passes far above or below the centre."""
    import numpy as np

    s = geo.size
    ys, xs = np.nonzero(stroke)
    if xs.size < 4 or xs.min() < geo.labels[0][2] - ARM_REACH * s:
        return False
    bx0, by0, bx1, by1 = geo.boxes[1]
    rect = (bx0 + RIM, by0 + row.off + RIM, bx1 - RIM, by1 + row.off - RIM)
    mx, my = (bx0 + bx1) / 2, (by0 + by1) / 2 + row.off
    ink = row.added > RESIDUE
    ink[1:, :] |= ink[:-1, :].copy()  # a pixel's slack either way: a hand's line is not a raster line
    ink[:, 1:] |= ink[:, :-1].copy()
    visible = row.printed == 0
    cx, cy = float(xs.mean()), float(ys.mean())
    t = np.arange(-3 * s, 3 * s, 0.5)
    lo, hi = ARM_SLANT
    for deg in (*range(lo, hi + 1, 3), *range(180 - hi, 180 - lo + 1, 3)):
        a = np.deg2rad(deg)
        dx, dy = float(np.cos(a)), float(np.sin(a))
        if abs((mx - cx) * dy - (my - cy) * dx) > ARM_CENTRE * s:
            continue
        if float(np.percentile(np.abs((xs - cx) * dy - (ys - cy) * dx), 90)) > max(3.0, ARM_SPREAD * s):
            continue
        cover = _along(ink, visible, rect, cx, cy, dx, dy, t)
        if cover is not None and cover >= ARM_COVER:
            return True
    return False


def _along(ink: np.ndarray, visible: np.ndarray, rect: Box, cx: float, cy: float, dx: float, dy: float,
           t: np.ndarray) -> float | None:
    """Share of the line through (cx, cy) along (dx, dy) inked where it runs inside ``rect`` (and the
    print does not hide it); None when its run there is shorter than half the rectangle."""
    import numpy as np

    x0, y0, x1, y1 = rect
    px, py = np.rint(cx + t * dx).astype(int), np.rint(cy + t * dy).astype(int)
    inside = (px >= x0) & (px < x1) & (py >= y0) & (py < y1)
    if 0.5 * inside.sum() < 0.5 * min(x1 - x0, y1 - y0):
        return None
    px, py = px[inside], py[inside]
    seen = visible[py, px]
    if not seen.any():
        return None
    return float(ink[py, px][seen].mean())


def _side_width(row: RowInk, box: Box) -> int:
    """How wide the masked print is across the box's left side (px): the side and its margin, wider
    where every row's mark runs over the side (the blank cell is the rows' least ink)."""
    import numpy as np

    bx0, by0, bx1, by1 = box
    q = (by1 - by0) // 4
    band = row.printed[by0 + row.off + q:by1 + row.off - q, max(0, bx0 - SPILL_JOIN):bx0 + (bx1 - bx0) // 2] > 0
    if band.size == 0:
        return SPILL_JOIN
    widths = band.sum(axis=1)
    return int(min((bx1 - bx0) // 2, max(SPILL_JOIN - 3, float(np.median(widths)))))


SPILL_REACH = 3  # ink run on from the 否 box into the third of the gap next to 是 is not the box's alone
SPILL_JOIN = 9  # px: a pen line cut by the masked print of a box's side (the side and its margin) is joined across it


def _spilled(row: RowInk, box: Box) -> np.ndarray:
    """The pen ink (bool, cell coordinates) that runs on, unbroken, from inside ``box``: a line that
    crosses the box's printed side (masked out) is joined across it only where the pen is on both
    sides, straight across; a stroke that merely ends at the side, or ink beside the box, stays apart."""
    import cv2
    import numpy as np

    bx0, by0, bx1, by1 = box
    by0, by1 = by0 + row.off, by1 + row.off
    pen = (row.added > RESIDUE).astype(np.uint8)
    join = (_side_width(row, box) + 3) | 1  # odd: a closing with an even kernel shifts the ink
    side = np.zeros_like(pen)
    side[max(0, by0 - join):by1 + join, max(0, bx0 - join):bx1 + join] = 1
    side[by0 + 3:by1 - 3, bx0 + 3:bx1 - 3] = 0
    side &= row.printed
    # Straight across, across and along the row: a line ending at the side and another beginning
    # beyond it a little higher or lower are not joined.
    across = cv2.morphologyEx(pen, cv2.MORPH_CLOSE, np.ones((1, join), np.uint8))
    along = cv2.morphologyEx(pen, cv2.MORPH_CLOSE, np.ones((join, 1), np.uint8))
    joined = pen | ((across | along) & side)
    n, comp = cv2.connectedComponents(cv2.dilate(joined, np.ones((3, 3), np.uint8)), connectivity=8)
    inset = max(2, round(0.18 * (bx1 - bx0)))
    inside = comp[by0 + inset:by1 - inset, bx0 + inset:bx1 - inset][pen[by0 + inset:by1 - inset, bx0 + inset:bx1 - inset] > 0]
    from_box = np.zeros(n, bool)
    from_box[np.unique(inside)] = True
    from_box[0] = False
    return from_box[comp]


def _row_ink(reg: Registration, geo: CellGeometry, number: int, centre: int) -> RowInk:
    """The row's cell (inside its rules), shifted (±3 px) so that its print lies on the blank cell's."""
    import cv2
    import numpy as np

    w = geo.blank.shape[1]
    dx, dy = _shift(reg, geo, centre)
    rule_top, rule_bottom = reg.row(number)
    band_top = centre - geo.half
    y0 = min(rule_top + 2, band_top)
    y1 = max(rule_bottom - 1, band_top + geo.blank.shape[0])
    rows = slice(y0 + dy, y1 + dy)
    cols = slice(geo.x0 + dx, geo.x0 + dx + w)
    dark = reg.dark[rows, cols]
    lines = reg.lines[rows, cols]
    off = band_top - y0
    # The print, a little widened, is masked out, not subtracted: a row printed bolder or blurred
    # more than the faintest row (the blank) would leave a seam round every glyph.
    printed = np.zeros(dark.shape, np.uint8)
    bh = min(geo.blank.shape[0], dark.shape[0] - off)
    mask = cv2.dilate((geo.blank > RESIDUE).astype(np.uint8), np.ones((5, 5), np.uint8))
    printed[off:off + bh, :dark.shape[1]] = mask[:bh, :dark.shape[1]]
    printed[lines > 0] = 1
    added = dark.copy()
    added[printed > 0] = 0.0
    # Outside the rules the cell is another row's (a neighbour's ring reaches over the rule).
    added[:max(0, rule_top + 2 - y0)] = 0.0
    added[max(0, rule_bottom - 1 - y0):] = 0.0
    return RowInk(added, dark, printed, off)


def _shift(reg: Registration, geo: CellGeometry, centre: int) -> tuple[int, int]:
    """How far (±3 px) the row's band lies from where its print matches the blank cell best: a rule
    found a pixel off, a warped photo."""
    import cv2

    m = 3
    bh, bw = geo.blank.shape
    y0, x0 = centre - geo.half - m, geo.x0 - m
    big = reg.dark[max(0, y0):y0 + bh + 2 * m, max(0, x0):x0 + bw + 2 * m]
    if y0 < 0 or x0 < 0 or big.shape[0] < bh + 2 * m or big.shape[1] < bw + 2 * m:
        return 0, 0
    res = cv2.matchTemplate(big, geo.blank, cv2.TM_CCORR_NORMED)
    _, _, _, (dx, dy) = cv2.minMaxLoc(res)
    return dx - m, dy - m


def _option_ink(row: RowInk, geo: CellGeometry, k: int, floor: float = RESIDUE) -> OptionInk:
    import numpy as np

    bx0, by0, bx1, by1 = geo.boxes[k]
    by0, by1 = by0 + row.off, by1 + row.off
    s = geo.size
    inset = max(2, round(0.18 * s))
    inside = row.added[by0 + inset:by1 - inset, bx0 + inset:bx1 - inset]
    # Inside the box nothing is printed: ink is counted down to this page's paper floor (a light
    # pencil's grain falls below a pen's threshold); the paper's noise stays under it.
    on = inside > floor
    lx0, ly0, lx1, ly1 = geo.labels[k]
    ly0, ly1 = ly0 + row.off, ly1 + row.off
    label = row.added[ly0:ly1, lx0:lx1]
    corners, edges = _corners(on), _edges(on)
    # How dark the pen is, where it marked the box (the print's own edges left aside).
    inked = row.dark[by0 + inset:by1 - inset, bx0 + inset:bx1 - inset][on]
    pale = bool(inked.size) and float(np.median(inked)) < PALE
    through, flat = _through(row, (bx0, by0, bx1, by1), inset, floor) if on.any() else (0.0, False)
    # Each option ends halfway across the gap between 是 and the 否 box: a ring round one is not the other's.
    mid = (geo.labels[0][2] + geo.boxes[1][0]) // 2
    ring = _option_ring(row.added, geo, k, row.off, (0, mid) if k == 0 else (mid, row.added.shape[1]))
    return OptionInk(float(on.mean()) if on.size else 0.0,
                     float((label > RESIDUE).mean()) if label.size else 0.0, ring, corners, edges,
                     pale and bool(np.any(on)), through=through, black=_black(row, (bx0, by0, bx1, by1)), flat=flat)


RIM = 3  # px inside a box's printed side where its (widened, masked) print ends
BLACK = 0.5  # darkness above the blank cell of a black dot's core (a bilevel speck's rim is lighter)
# Share of a box's whole inside a mark must ink black on a bilevel page.  Measured on the Group-4
# pages of the benchmark's three corpora: the pencil ✓s the fax left 12–18 % of (a few dots, or a
# broken V: seed 99 card-0133 q7, card-0177 q5; seed 7 card-0053 q1, q6, q9) ink 2.3–3.7 %; those
# left 25–40 % (a dotted ✓ along its whole path) 3.8–11 %; a pen's ✓ ≥ 6.6 %.  The few dotted ✓s
# between 3.8 and 5 % go to a person too: looked at, they are the least legible.
BILEVEL_DOTS = 0.05


def _black(row: RowInk, box: Box) -> float:
    """Share of the box's whole inside, up to its masked sides, inked black (``BLACK``)."""
    bx0, by0, bx1, by1 = box
    region = row.added[by0 + RIM:by1 - RIM, bx0 + RIM:bx1 - RIM]
    visible = row.printed[by0 + RIM:by1 - RIM, bx0 + RIM:bx1 - RIM] == 0
    return float(((region > BLACK) & visible).mean()) if region.size else 0.0


def _through(row: RowInk, box: Box, inset: int, floor: float) -> tuple[float, bool]:
    """Share of the box's whole inside, up to its masked sides, inked by strokes that reach its
    middle (the inside less ``inset``): a ✓ drawn low, its corner below the box and its long arm out
    through the side, leaves little in the middle but runs through the box.  Ink only touching the
    box from outside (a ring round the label beside it, a neighbour's stroke) reaches no middle.
    Also whether those strokes are one straight line along the row (``_flat``)."""
    import cv2
    import numpy as np

    bx0, by0, bx1, by1 = box
    region = row.added[by0 + RIM:by1 - RIM, bx0 + RIM:bx1 - RIM]
    visible = row.printed[by0 + RIM:by1 - RIM, bx0 + RIM:bx1 - RIM] == 0
    if region.size == 0 or not visible.any():
        return 0.0, False
    n, comp = cv2.connectedComponents(((region > floor) & visible).astype(np.uint8), connectivity=8)
    c = inset - RIM
    middle = comp[c:comp.shape[0] - c, c:comp.shape[1] - c]
    reaching = np.zeros(n, bool)
    reaching[np.unique(middle)] = True
    reaching[0] = False
    ink = reaching[comp]
    return float(ink[visible].mean()), _flat(ink, box[2] - box[0])


DASH_SLOPE = 25  # degrees off the row's direction within which one straight stroke is a dash
DASH_THIN = 0.4  # its width across (most places along it) at most this share of the box (a marker's line ~0.35)
DASH_LONG = 0.35  # …and at least this share of the box's width long
# Measured on the dashes of ``tests/_odd_marks_fixtures.dashes`` (PDF and Word cards, scanned and photographed)
# and the ✓s of the benchmark's seed-12 corpus that come closest (drawn low, their V cut off by the box's
# bottom side: a wedge): along the dashes the middle strays ≤ 0.03 of the box and the ink across varies
# ≤ 0.032 (a pixel); along those ✓s the ink across varies ≥ 0.059 (two pixels and more).
DASH_BEND = 0.035  # how far (share of the box, median along it) its middle strays from a straight line
DASH_EVEN = 0.045  # how much (share of the box, median along it) the ink across it varies


def _flat(ink: np.ndarray, size: int) -> bool:
    """Whether ``ink`` (the strokes reaching a box's middle) is one straight line lying along the row,
    a "—": people write it for "nothing here" as often as for "this one", so it is no answer.  Taken
    along the ink's main axis (its second moments), a dash is one stroke, as thick all along, its
    middle straight; a ✓'s V (even cut off by the box's side) thickens where its arms meet and bends
    there, a × is wide where its arms part, a fill is wide everywhere, and a slash "/" slopes too
    steeply (it is read as a tick)."""
    import math

    import cv2
    import numpy as np

    ys, xs = np.nonzero(ink)
    if ys.size < 8 or cv2.connectedComponents(cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)))[0] != 2:
        return False  # one stroke (a pencil's broken line joined), not two arms apart
    x, y = xs - xs.mean(), ys - ys.mean()
    ux, uy = (float(v) for v in np.linalg.eigh(np.cov(np.vstack([x, y])))[1][:, 1])
    if math.degrees(math.atan2(abs(uy), abs(ux))) > DASH_SLOPE:
        return False
    along = np.rint(x * ux + y * uy).astype(np.int64)
    across = y * ux - x * uy
    order = np.argsort(along, kind="stable")
    along, across = along[order], across[order]
    starts = np.flatnonzero(np.r_[True, np.diff(along) > 0])
    pos = along[starts].astype(np.float64)
    if pos[-1] - pos[0] + 1 < DASH_LONG * size or pos.size < 3:
        return False
    wide = np.maximum.reduceat(across, starts) - np.minimum.reduceat(across, starts) + 1
    thick = np.diff(np.r_[starts, along.size]).astype(np.float64)
    middle = np.add.reduceat(across, starts) / thick
    bend = float(np.median(np.abs(middle - np.polyval(np.polyfit(pos, middle, 1), pos))))
    return (float(np.percentile(wide, 80)) <= DASH_THIN * size and bend <= DASH_BEND * size
            and float(np.median(np.abs(thick - np.median(thick)))) <= DASH_EVEN * size)


def _option_ring(added: np.ndarray, geo: CellGeometry, k: int, off: int, lim: tuple[int, int]) -> float:
    """How much of a ring runs round option ``k``'s box, its label, or both (``_ring``)."""
    (bx0, by0, bx1, by1), (lx0, ly0, lx1, ly1) = geo.boxes[k], geo.labels[k]
    by0, by1, ly0, ly1 = by0 + off, by1 + off, ly0 + off, ly1 + off
    return max(_ring(added, r, geo.size, lim) for r in ((bx0, by0, bx1, by1), (lx0, ly0, lx1, ly1),
                                                         (bx0, min(by0, ly0), lx1, max(by1, ly1))))


def _corners(on: np.ndarray) -> int:
    h, w = on.shape
    if h < 6 or w < 6:
        return 0
    q = max(2, h // 4)
    return sum(bool(on[ys, xs].mean() > 0.15) for ys in (slice(0, q), slice(h - q, h)) for xs in (slice(0, q), slice(w - q, w)))


def _edges(on: np.ndarray) -> int:
    h, w = on.shape
    if h < 6 or w < 6:
        return 0
    q = max(2, h // 4)
    mid_y, mid_x = slice(h // 2 - q // 2, h // 2 + q // 2 + 1), slice(w // 2 - q // 2, w // 2 + q // 2 + 1)
    regions = ((slice(0, q), mid_x), (slice(h - q, h), mid_x), (mid_y, slice(0, q)), (mid_y, slice(w - q, w)))
    return sum(bool(on[ys, xs].mean() > 0.5) for ys, xs in regions)


SECTORS = 16  # directions round an option in which a ring is looked for


def _ring(added: np.ndarray, rect: Box, s: int, lim: tuple[int, int]) -> float:
    """Share of the directions round ``rect`` (cell coordinates) in which ink runs close outside it,
    within ``lim`` (x): ~1 for a ring drawn round it, a few directions for a tick's or a cross's ends."""
    import cv2
    import numpy as np

    x0, y0, x1, y1 = rect
    near, far = _ring_zone(s)
    wx0, wx1 = max(lim[0], x0 - far), min(lim[1], x1 + far)
    wy0, wy1 = max(0, y0 - far), min(added.shape[0], y1 + far)
    if wx1 <= wx0 or wy1 <= wy0:
        return 0.0
    # A pen's line is two pixels wide at least: noise specks and a rule's fringe are not.
    on = cv2.morphologyEx((added[wy0:wy1, wx0:wx1] > RESIDUE).astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    ys, xs = np.nonzero(on)
    if ys.size == 0:
        return 0.0
    ys, xs = ys + wy0, xs + wx0
    d = np.maximum(np.maximum(x0 - xs, xs - (x1 - 1)), np.maximum(y0 - ys, ys - (y1 - 1)))
    keep = (d >= near) & (d <= far)
    ang = np.arctan2(ys[keep] - (y0 + y1 - 1) / 2, xs[keep] - (x0 + x1 - 1) / 2)
    sector = ((ang + np.pi) / (2 * np.pi) * SECTORS).astype(int) % SECTORS
    # Two pixels at least: a speck of noise is no ring.
    return float(np.mean(np.bincount(sector, minlength=SECTORS) >= 2))


def _ring_zone(s: int) -> tuple[int, int]:
    """How far outside a box or label (px) a ring round it runs."""
    return max(2, round(0.06 * s)), round(0.5 * s)


ENCLOSED = 0.2  # share of the paper just round an option reachable from outside: a closed ring keeps out nearly all


def _enclosed(row: RowInk, rect: Box) -> bool:
    """Whether a closed line runs round ``rect`` (a ring): from the ends of the cell (``_shut_in``),
    the paper reaches almost nothing just outside ``rect``.  The print and the rules are walls too (a
    ring crosses the glyphs, and one taller than the cell is closed by its rules); a tick beside a
    stray stroke leaves the way open."""
    import numpy as np

    x0, y0, x1, y1 = rect
    inner = _shut_in(row)
    wall = _walls(row)
    ys, xs = np.mgrid[0:wall.shape[0], 0:wall.shape[1]]
    d = np.maximum(np.maximum(x0 - xs, xs - (x1 - 1)), np.maximum(y0 - ys, ys - (y1 - 1)))
    probe = (d >= -2) & (d <= PROBE) & (wall == 0)
    if probe.sum() < PROBE:
        return False
    return bool(1.0 - inner[probe].mean() <= ENCLOSED)


def _walls(row: RowInk) -> np.ndarray:
    """What paper cannot cross (uint8): the pen (a pixel widened) and the print, rules included."""
    import cv2
    import numpy as np

    return cv2.dilate((row.added > RESIDUE).astype(np.uint8), np.ones((3, 3), np.uint8)) | row.printed


CELL_END = 4  # px: paper this close to either end of the cell is outside (the ends may lie on the rules' print)


def _shut_in(row: RowInk) -> np.ndarray:
    """The paper (bool) that cannot be reached from either end of the cell.  Reached from the paper
    near each end, not from the end column alone: that may be all print (a vertical rule), and a
    stroke running from rule to rule would then shut in everything on its other side."""
    import cv2
    import numpy as np

    wall = _walls(row)
    n, comp = cv2.connectedComponents(1 - wall, connectivity=4)
    outside = np.zeros(n, bool)
    outside[np.unique(np.concatenate([comp[:, :CELL_END].ravel(), comp[:, -CELL_END:].ravel()]))] = True
    outside[0] = True  # the walls themselves
    return ~outside[comp]


def decide(number: int, yes: OptionInk, no: OptionInk, row_box: Box | None, bilevel: bool = False) -> MarkDecision:
    """One question from its two boxes' ink: an answer only when one is marked and the other blank.

    The confidence is that of the answer: 0 where there is none (both, neither, unclear); the two
    scores say what was seen.  On a bilevel page a mark inside a box must also show its stroke in
    black dots (``BILEVEL_DOTS``): a light pencil ✓ the fax's threshold nearly erased leaves a few
    specks whose blurred rims, counted down to the paper floor, read as a whole faint tick."""
    ys, ns = yes.score, no.score
    if ys >= MARKED and ns >= MARKED:
        return MarkDecision(number, None, MarkHow.BOTH, 0.0, ys, ns, row_box)
    if ys <= BLANK and ns <= BLANK:
        return MarkDecision(number, None, MarkHow.BLANK, 0.0, ys, ns, row_box)
    if (ys >= MARKED and ns <= BLANK) or (ns >= MARKED and ys <= BLANK):
        answer, chosen, hi, lo = (YES, yes, ys, ns) if ys >= MARKED else (NO, no, ns, ys)
        confidence = min(_sure_marked(hi), _sure_blank(lo))
        if bilevel and chosen.in_box and chosen.black < BILEVEL_DOTS:
            return MarkDecision(number, None, MarkHow.UNCLEAR, 0.0, ys, ns, row_box)
        if chosen.in_box and chosen.flat:
            return MarkDecision(number, None, MarkHow.DASH, 0.0, ys, ns, row_box)
        if confidence >= DECIDE_AT:
            return MarkDecision(number, answer, _how(chosen), confidence, ys, ns, row_box)
    return MarkDecision(number, None, MarkHow.UNCLEAR, 0.0, ys, ns, row_box)


def _sure_marked(score: float) -> float:
    """0.5 at ``MARKED`` … 1 for a full mark."""
    return round(0.5 + 0.5 * min(1.0, max(0.0, (score - MARKED) / (1 - MARKED))), 3)


def _sure_blank(score: float) -> float:
    """0.5 at ``BLANK`` … 1 for a box without a speck."""
    return round(0.5 + 0.5 * min(1.0, max(0.0, (BLANK - score) / BLANK)), 3)


def _how(o: OptionInk) -> MarkHow:
    if o.inside >= FILLED and o.corners == 4 and o.edges == 4:
        return MarkHow.FILL
    if o.inside / FULL_INSIDE < 0.6 and (o.ring >= RING_AT or o.closed):
        return MarkHow.RING
    if o.pale:
        return MarkHow.FAINT
    if o.corners == 4:
        return MarkHow.CROSS
    return MarkHow.TICK
