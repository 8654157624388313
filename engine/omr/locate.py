"""Finding the card in a picture: its answers table, which way is up, and a registered page.

The answers table's outer frame is the largest ruled grid on the card: its four corners give a
homography that undoes skew, phone perspective and any quarter turn at once.  Which corner is
the top left follows from the ruling itself (eleven long horizontal rules, the narrow 反馈意见
column on the right), so an upside-down or sideways page needs no QR and no EXIF.  The whole
page is then warped so that the table lands where the card prints it (``TABLE_X_MM`` from the left
edge, ``TABLE_W_MM`` wide): ``Registration.image`` is an upright card at ``PX_PER_MM``.

A fold's crease or a scanner's streak running from edge to edge of the sheet joins the frame and
spoils its corners: where no frame is found as it is, it is looked for again with one such line
taken out (``cut_quads``); the line is left out of the rules counted on the registered page too, and
stays there as ink a person added (a crease through a row's boxes leaves that row to a person).

Cards printed from the Word version have the same table (ten rows, the answers on the right),
drawn with other fonts and widths: nothing here assumes the PDF's exact measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy and OpenCV load only in a process that reads scans
    import numpy as np

PX_PER_MM = 8.0  # the registered page: ~203 dpi
PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
TABLE_X_MM, TABLE_W_MM = 28.0, 156.0  # GB/T 9704 type area: where the card's tables sit
TABLE_Y_MM = 95.0  # where the table's top lands on the registered page (the PDF prints it at ~95 mm)
QUESTION_ROWS = 10
INK = 0.35  # darkness (0 paper … 1 black) above which a pixel is ink when finding the ruling
INK_STEPS = (INK, 0.25, 0.15)  # …and lighter, in turn, where it is not found there (faint, blurred, hairline rules)
RULE_INK = 0.2  # …when counting the rules of the registered table (a blurred 0.26 mm rule is light; the long openings drop noise)
RULE_INK_STEPS = (RULE_INK, 0.1)  # …and lighter where they are not all counted there (the Word version's hairlines, blurred)
MIN_TABLE_SHARE = 0.25  # the table's frame spans at least this share of the picture's short side


@dataclass(slots=True)
class Registration:
    """An upright card page and its answers table, in the registered page's pixels."""

    image: np.ndarray  # RGB uint8, PAGE at PX_PER_MM
    dark: np.ndarray  # float32 darkness of ``image`` (0 paper … 1 black), background-normalised
    rules_y: list[int]  # the table's horizontal rules, top to bottom (QUESTION_ROWS + 2 of them)
    rules_x: list[int]  # its vertical rules, left to right
    lines: np.ndarray  # uint8 mask of the ruling (255 on the table's lines)
    quarter_turns: int  # how the picture was turned (0…3, counter-clockwise)
    warp: np.ndarray | None = None  # 3×3 homography: the picture's pixels → the registered page's

    @property
    def answer_x(self) -> tuple[int, int]:
        """Left and right rule of the answers column (the last column)."""
        return self.rules_x[-2], self.rules_x[-1]

    def row(self, number: int) -> tuple[int, int]:
        """Top and bottom rule of question ``number`` (1…10); the header row is above the first."""
        return self.rules_y[number], self.rules_y[number + 1]


def darkness(rgb: np.ndarray) -> np.ndarray:
    """0 (paper) … 1 (black) per pixel, against the local paper brightness.

    The darkest channel makes blue and red ink as dark as black; dividing by the local paper
    brightness (a dilated, blurred small copy) flattens shadows and uneven light of photos.
    """
    import cv2

    g, bg = _gray_and_paper(rgb)
    d = 1.0 - cv2.divide(g, bg, dtype=cv2.CV_32F)
    return cv2.max(d, 0.0)


def _gray_and_paper(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The darkest channel and the local paper brightness (uint8, at least 40), same size."""
    import cv2
    import numpy as np

    if rgb.ndim == 3:
        r, gr, b = cv2.split(rgb)
        g = cv2.min(cv2.min(r, gr), b)
    else:
        g = rgb
    h, w = g.shape
    f = 16
    small = cv2.resize(g, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
    small = cv2.max(cv2.dilate(small, np.ones((5, 5), np.uint8)), 40)
    bg = cv2.resize(cv2.blur(small, (3, 3)), (w, h), interpolation=cv2.INTER_LINEAR)
    return g, bg


def ink_mask(rgb: np.ndarray, at: float = INK) -> np.ndarray:
    """255 where ``darkness`` > ``at``, computed in 8 bits (the whole picture: the costly pass)."""
    return _ink_at(_paper_ratio(rgb), at)


def _paper_ratio(rgb: np.ndarray) -> np.ndarray:
    """Each pixel's brightness against the local paper, 0…255 (paper brighter than its surroundings saturates)."""
    import cv2

    g, bg = _gray_and_paper(rgb)
    return cv2.divide(g, bg, scale=255)


def _ink_at(ratio: np.ndarray, at: float) -> np.ndarray:
    import cv2

    _, ink = cv2.threshold(ratio, round((1 - at) * 255) - 1, 255, cv2.THRESH_BINARY_INV)
    return ink


class Miss(StrEnum):
    """Why a picture was not registered (developer notes and the benchmark's breakdown; never shown to clerks)."""

    NO_FRAME = "no ruled frame"  # nothing large and ruled in the picture
    NOT_TABLE = "frame not the answers table"  # frames found, none ruled like the answers table
    NO_RULES = "rules not counted"  # a frame turned upright, its rules not counted on the warped page


def register(rgb: np.ndarray) -> Registration | None:
    """The card's answers table found and the page registered to it; None when there is none."""
    reg = locate(rgb)
    return reg if isinstance(reg, Registration) else None


def locate(rgb: np.ndarray) -> Registration | Miss:
    """``register``, saying which step failed when the page cannot be registered.

    The table's rules are followed at ``INK`` first; a faint or blurred page (a 150 dpi phone
    photo, the Word version's hairline rules) breaks them there, so lighter ink is tried next:
    the checks on the ruling (twelve rules, the narrow answers column) keep text and shadows out."""
    import numpy as np

    ratio = _paper_ratio(rgb)
    miss = Miss.NO_FRAME
    seen: list[np.ndarray] = []
    # A fold's crease or a scanner's streak running off the frame joins it: the frame's corners are
    # then looked for again with that line taken out (``cut_quads``), only where no frame was found
    # as it is; the line is left out of the ruling too, and stays on the page as added ink.
    steps = [(at, False) for at in INK_STEPS] + [(INK, True)]  # a crease is dark: the first step sees it
    for at, cutting in steps:
        ink = _ink_at(ratio, at)
        found = cut_quads(ink) if cutting else [(q, None) for q in table_quads(ink)]
        for quad, line in found:
            turns = _orientation(_without(ink, line), quad)
            if turns is None:
                miss = Miss.NO_RULES if miss is Miss.NO_RULES else Miss.NOT_TABLE
                continue
            src = np.roll(quad, -turns, axis=0)
            if any(float(np.abs(src - q).max()) < 2 for q in seen):
                continue  # the same frame as at a darker step: warped once
            seen.append(src)
            reg = _warp_page(rgb, src, turns, line)
            if reg is not None:
                return reg
            miss = Miss.NO_RULES
    return miss


Line = tuple[tuple[int, int], tuple[int, int], int]  # two points (x, y) on either side of the frame, and a width (px)


def _without(ink: np.ndarray, line: Line | None) -> np.ndarray:
    """``ink`` with ``line`` painted out (a copy); ``ink`` itself where there is no line."""
    import cv2

    if line is None:
        return ink
    out = ink.copy()
    cv2.line(out, line[0], line[1], 0, line[2])
    return out


def _orientation(ink: np.ndarray, quad: np.ndarray) -> int | None:
    """Which corner of ``quad`` is the table's top left (0…3), from a small warp of its ruling."""
    import cv2
    import numpy as np

    p = 4.0  # px/mm is plenty to count rules
    # Thickened first: a 0.26 mm rule must survive the shrinking.
    ink = cv2.dilate(ink, np.ones((3, 3), np.uint8))
    for turns in _turn_order(quad):
        src = np.roll(quad, -turns, axis=0).astype(np.float32)
        height_mm = _height_mm(src)
        if height_mm is None:
            continue
        w, h = round(TABLE_W_MM * p), round(height_mm * p)
        pad = round(2 * p)
        dst = np.float32([[pad, pad], [pad + w, pad], [pad + w, pad + h], [pad, pad + h]])
        small = cv2.warpPerspective(ink, cv2.getPerspectiveTransform(src, dst), (w + 2 * pad, h + 2 * pad),
                                    flags=cv2.INTER_LINEAR)
        if _rule_positions(small.astype(np.float32) / 255.0, (pad, pad, pad + w, pad + h), p) is not None:
            return turns
    return None


def _largest_ink(ink: np.ndarray, limit: int) -> list[tuple[int, int, np.ndarray]]:
    """The ``limit`` largest pieces of ink at least ``MIN_TABLE_SHARE`` of the picture across both
    ways, largest first: where each starts (x, y) and its mask (0/1) over its bounding box."""
    import cv2
    import numpy as np

    h, w = ink.shape
    # Bridge a pixel gap in thin or broken rules (a faint scan, JPEG) before following them.
    joined = cv2.morphologyEx(ink, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    min_side = MIN_TABLE_SHARE * min(h, w)
    big = [k for k in range(1, n) if stats[k, cv2.CC_STAT_WIDTH] >= min_side and stats[k, cv2.CC_STAT_HEIGHT] >= min_side]
    big.sort(key=lambda k: -int(stats[k, cv2.CC_STAT_WIDTH]) * int(stats[k, cv2.CC_STAT_HEIGHT]))
    out = []
    for k in big[:limit]:
        x, y, bw, bh = (int(v) for v in stats[k, :4])
        out.append((x, y, (labels[y:y + bh, x:x + bw] == k).astype(np.uint8)))
    return out


def table_quads(ink: np.ndarray, limit: int = 4) -> list[np.ndarray]:
    """Corners (4×2, clockwise from the top left as seen) of the largest ruled frames in the picture."""
    import cv2
    import numpy as np

    quads = []
    for x, y, comp in _largest_ink(ink, limit):
        pts = cv2.findNonZero(comp)
        hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float32) + np.float32([x, y])
        quad = _four_corners(hull)
        if quad is not None:
            quads.append(quad)
    return quads


CUT_LINES = 4  # lines across the ink's bounding box tried out of it, at most (``_long_lines``)
EDGE = 0.1  # share of the bounding box along its sides where a line is its outline, not a crease
CUT_MM = 0.9  # taken out along such a line (a crease is 0.1–0.5 mm wide, blurred), and at least
CUT_WIDTH = 7  # px


def cut_quads(ink: np.ndarray, limit: int = 1) -> list[tuple[np.ndarray, Line]]:
    """``table_quads`` of the largest ink with one line taken out at a time, and the line (picture
    pixels, clipped to the picture): a fold's crease, a scanner lid's line or streak runs from edge
    to edge of the sheet and, crossing the table, joins its frame, so the frame's hull reaches the
    sheet's edges.  The lines tried run from side to side of the ink's bounding box (``_long_lines``);
    each is taken out over its whole length, and what it parted of the table is joined again
    (``_rejoined``).  Whether the line was a crease is left to the ruling's checks downstream: a
    frame they do not accept is no table."""
    import cv2
    import numpy as np

    h, w = ink.shape
    quads: list[tuple[np.ndarray, Line]] = []
    for x, y, comp in _largest_ink(ink, limit):
        bh, bw = comp.shape
        width = max(CUT_WIDTH, round(CUT_MM * max(bw, bh) / TABLE_W_MM))  # the frame's long side is the table's width
        for (x0, y0), (x1, y1) in _long_lines(comp, width):
            here = ((x0, y0), (x1, y1), width)
            frame = _rejoined(_without(comp, here), here)
            # Clipped: an end far outside the picture could pass behind a photo's horizon when mapped.
            inside, a, b = cv2.clipLine((0, 0, w, h), (x0 + x, y0 + y), (x1 + x, y1 + y))
            if inside:
                quads += [(q + np.float32([x, y]), (a, b, width)) for q in table_quads(frame, limit=1)]
    return quads


def _rejoined(cut: np.ndarray, line: Line) -> np.ndarray:
    """The frame in ``cut`` (0/1, ``line`` taken out) as one piece (0/255): a line taken out across
    the whole table parts it in two, each a piece as long as the table along the line.  The pieces
    that lie against the largest across the line's gap are the rest of it, joined again by the line
    between them; ink only the line had joined to the frame (text beside the table, the sheet's
    edge) lies elsewhere and is left out."""
    import cv2
    import numpy as np

    width = line[2]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cut, connectivity=8)
    if n <= 1:
        return cut * 255
    areas = stats[1:, cv2.CC_STAT_WIDTH] * stats[1:, cv2.CC_STAT_HEIGHT]
    k = 1 + int(np.argmax(areas))
    x, y, w, h = (int(v) for v in stats[k, :4])
    reach = width + 3
    keep = np.zeros(n, bool)
    keep[k] = True
    level = abs(line[1][0] - line[0][0]) >= abs(line[1][1] - line[0][1])  # the line runs across, not down
    for j in range(1, n):
        jx, jy, jw, jh = (int(v) for v in stats[j, :4])
        # The other part of the table spans what the largest spans along the line (a table below
        # it, a paragraph, the line's own ends do not), and lies against it across the line's gap.
        a0, a1, b0, b1 = (x, x + w, jx, jx + jw) if level else (y, y + h, jy, jy + jh)
        shared = (min(a1, b1) - max(a0, b0)) / max(a1 - a0, b1 - b0, 1)
        touching = jx <= x + w + reach and x <= jx + jw + reach and jy <= y + h + reach and y <= jy + jh + reach
        keep[j] = keep[j] or (shared >= 0.8 and touching)
    frame = (keep[labels] * 255).astype(np.uint8)
    kept = stats[keep]
    x0, y0 = int(kept[:, 0].min()), int(kept[:, 1].min())
    x1, y1 = int((kept[:, 0] + kept[:, 2]).max()), int((kept[:, 1] + kept[:, 3]).max())
    bridge = np.zeros_like(frame)
    cv2.line(bridge, line[0], line[1], 255, width + 2)
    inside = np.zeros_like(frame)
    inside[y0:y1, x0:x1] = 255
    return frame | (bridge & inside)


def _long_lines(comp: np.ndarray, width: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Lines that run across ``comp`` from one side of its bounding box to the opposite side, each
    drawn out beyond both (at most ``CUT_LINES``).  A crease or streak joined to the frame reaches
    the box's sides where the frame does not: it meets each side in one short run of ink, while a
    frame's rule lying along a side inks it over a long run."""
    import math

    import cv2
    import numpy as np

    bh, bw = comp.shape
    ys, xs = np.nonzero(comp)
    reach = bw + bh
    out: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for ends in (_pairs(comp[:, 0], comp[:, -1], width, 0, bw - 1, across=True),
                 _pairs(comp[0, :], comp[-1, :], width, 0, bh - 1, across=False)):
        for (x0, y0), (x1, y1) in ends:
            # A line along the box's edge is the outline of what the crease joined (a photo's sheet
            # against the desk); one that joins the table's frame crosses the table, inside the box.
            mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
            if not (EDGE * bw <= mid_x <= (1 - EDGE) * bw and EDGE * bh <= mid_y <= (1 - EDGE) * bh):
                continue
            # The two ends give the line roughly; it is fitted again to the ink lying along it.
            angle = math.atan2(y1 - y0, x1 - x0)
            near = np.abs((xs - x0) * math.sin(angle) - (ys - y0) * math.cos(angle)) <= width
            if np.count_nonzero(near) < 0.5 * math.hypot(x1 - x0, y1 - y0):
                continue  # no straight ink joins the two ends
            dx, dy, cx, cy = (float(v) for v in cv2.fitLine(np.column_stack([xs[near], ys[near]]).astype(np.float32),
                                                             cv2.DIST_L2, 0, 0.01, 0.01).ravel())
            out.append(((round(cx - reach * dx), round(cy - reach * dy)), (round(cx + reach * dx), round(cy + reach * dy))))
    return out[:CUT_LINES]


def _pairs(first: np.ndarray, last: np.ndarray, width: int, at0: int, at1: int,
           across: bool) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Short runs of ink on two opposite sides of a bounding box (``first``, ``last``: the side's
    pixels), paired each with each: the ends of lines that may run across the box (``across``:
    from the left side to the right, else from the top to the bottom)."""
    import numpy as np

    def runs(side: np.ndarray) -> list[int]:
        edges = np.flatnonzero(np.diff(np.r_[0, side.astype(np.int8), 0]))
        return [(a + b) // 2 for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a <= 3 * width]

    pairs = [(a, b) for a in runs(first) for b in runs(last)]
    return [((at0, a), (at1, b)) if across else ((a, at0), (b, at1)) for a, b in pairs]


def _four_corners(hull: np.ndarray) -> np.ndarray | None:
    import cv2
    import numpy as np

    peri = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True).reshape(-1, 2)
        if len(approx) == 4 and cv2.isContourConvex(approx.astype(np.int32)):
            return order_corners(approx.astype(np.float32))
    return None


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Top left, top right, bottom right, bottom left (as seen in the picture)."""
    import numpy as np

    c = pts.mean(axis=0)
    ang = np.arctan2(pts[:, 1] - c[1], pts[:, 0] - c[0])
    pts = pts[np.argsort(ang)]  # clockwise on screen (y down), starting anywhere
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def _turn_order(quad: np.ndarray) -> list[int]:
    """Quarter turns to try, the likelier first: a table wider than tall is upright or upside down."""
    import numpy as np

    w = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    h = (np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2
    return [0, 2, 1, 3] if w >= h * 0.8 else [1, 3, 0, 2]


def _height_mm(src: np.ndarray) -> float | None:
    """The table's height in mm, from its sides' lengths in the picture (perspective aside)."""
    import numpy as np

    top = (np.linalg.norm(src[1] - src[0]) + np.linalg.norm(src[2] - src[3])) / 2
    side = (np.linalg.norm(src[3] - src[0]) + np.linalg.norm(src[2] - src[1])) / 2
    height_mm = TABLE_W_MM * side / max(top, 1.0)
    return height_mm if 40 <= height_mm <= 250 else None


def _warp_page(rgb: np.ndarray, src: np.ndarray, turns: int, line: Line | None = None) -> Registration | None:
    """The page warped so that the table's frame ``src`` lands where the card prints it, and its
    rules counted there (``line``, a crease across the frame, left out of the count)."""
    import cv2
    import numpy as np

    height_mm = _height_mm(src)
    if height_mm is None:
        return None
    p = PX_PER_MM
    x0, y0 = TABLE_X_MM * p, TABLE_Y_MM * p
    x1, y1 = x0 + TABLE_W_MM * p, y0 + height_mm * p
    dst = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    m = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    size = (round(PAGE_W_MM * p), max(round(PAGE_H_MM * p), round(y1 + 40 * p)))
    page = cv2.warpPerspective(rgb, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=(255, 255, 255))
    dark = darkness(page)
    frame = (round(x0), round(y0), round(x1), round(y1))
    rules = _rules(_without(dark, _mapped(line, m)), frame)
    if rules is None:
        return None
    rules_y, rules_x, lines = rules
    return Registration(page, dark, rules_y, rules_x, lines, turns, m)


def _mapped(line: Line | None, m: np.ndarray) -> Line | None:
    """``line`` carried by the homography ``m`` onto the registered page (``CUT_WIDTH`` wide there)."""
    import cv2
    import numpy as np

    if line is None:
        return None
    a, b = cv2.perspectiveTransform(np.float32([[line[0], line[1]]]), m)[0]
    return (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), CUT_WIDTH


def _rules(dark: np.ndarray, frame: tuple[int, int, int, int]) -> tuple[list[int], list[int], np.ndarray] | None:
    """The table's rules inside ``frame`` and a mask of them; None unless it is the answers table."""
    import cv2
    import numpy as np

    # A soft 150 dpi photo of the Word version leaves its hairline rules at ~0.15 darkness: counted
    # lighter when not at RULE_INK (the openings a sixth of the table long and the table's checks keep
    # text and shadow out; a page counted at RULE_INK pays nothing).
    found = None
    for at in RULE_INK_STEPS:
        found = _rule_positions(dark, frame, PX_PER_MM, at)
        if found is not None:
            break
    if found is None:
        return None
    ys, xs, horiz, vert, (ya, yb, xa, xb) = found
    lines = np.zeros(dark.shape, np.uint8)
    ruling = cv2.bitwise_or(_on_rules(horiz, ys, 0), _on_rules(vert, xs, 1))
    lines[ya:yb, xa:xb] = cv2.dilate(ruling, np.ones((3, 3), np.uint8))
    return [y + ya for y in ys], [x + xa for x in xs], lines


ON_RULE = 3  # px: a straight run this close to a counted rule is that rule


def _on_rules(runs: np.ndarray, at: list[int], axis: int) -> np.ndarray:
    """The long straight runs (``runs``, uint8) that lie on the table's counted rules (``at``: y for
    horizontal runs, axis 0; x for vertical ones, axis 1).  A pen line drawn down a column of boxes,
    a fold or a scanner's streak is as long and straight as a rule, but lies on none: it stays ink
    for the reader to see (masked as print, the boxes it crosses would read as blank)."""
    import cv2
    import numpy as np

    n, comp = cv2.connectedComponents(runs, connectivity=8)
    near = np.zeros(runs.shape[axis], bool)
    for v in at:
        near[max(0, v - ON_RULE):v + ON_RULE + 1] = True
    on = comp[near, :] if axis == 0 else comp[:, near]
    keep = np.zeros(n, bool)
    keep[np.unique(on)] = True
    keep[0] = False
    return (keep[comp] * 255).astype(np.uint8)


def _rule_positions(dark: np.ndarray, frame: tuple[int, int, int, int], px_per_mm: float = 3.0,  # type: ignore[no-untyped-def]
                    rule_ink: float = RULE_INK):
    import cv2
    import numpy as np

    x0, y0, x1, y1 = frame
    pad = round(2 * px_per_mm)
    ya, yb, xa, xb = max(0, y0 - pad), min(dark.shape[0], y1 + pad), max(0, x0 - pad), min(dark.shape[1], x1 + pad)
    ink = ((dark[ya:yb, xa:xb] > rule_ink) * 255).astype(np.uint8)
    w, h = x1 - x0, y1 - y0
    horiz = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 6), 1)))
    vert = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, h // 12))))
    # A rule a pixel or two aslant (a photo's residual curvature) still fills its few rows' union.
    ys = _peaks(cv2.dilate(horiz, np.ones((5, 1), np.uint8)).sum(axis=1) / 255.0, 0.6 * w)
    xs = _peaks(cv2.dilate(vert, np.ones((1, 5), np.uint8)).sum(axis=0) / 255.0, 0.6 * h)
    ys = _table_rules(ys, y0 - ya, y1 - ya, pad)
    if ys is None:
        return None
    xs = [x for x in xs if _crosses_rows(vert, x, ys)]
    if len(xs) < 3:
        return None
    # Upright: the narrow answers column is the last one, right of the middle.
    if xs[-2] - xs[0] < (xs[-1] - xs[0]) * 0.55:
        return None
    return ys, xs, horiz, vert, (ya, yb, xa, xb)


RULE_IN_ROW = 0.5  # share of a row's height a column rule must be inked along in that row


def _crosses_rows(vert: np.ndarray, x: int, ys: list[int]) -> bool:
    """Whether the vertical ink at ``x`` is a column rule: it runs through the header row and through
    all question rows but one.  Bold rings drawn round the same box on every row line up into a
    vertical run as long as a rule inside the answers column; no mark is ever drawn in the header
    (and a row ringed elsewhere breaks the run), so they are not taken for a rule.  (One row may
    miss: a blurred hairline rule breaks now and then.)"""
    import numpy as np

    col = vert[:, max(0, x - 2):x + 3].any(axis=1)
    inked = [float(np.mean(col[a:b])) >= RULE_IN_ROW for a, b in zip(ys, ys[1:], strict=False) if b > a]
    return bool(inked) and inked[0] and sum(inked) >= len(inked) - 1


def _table_rules(ys: list[int], top: int, bottom: int, pad: int) -> list[int] | None:
    """The table's ``QUESTION_ROWS + 2`` horizontal rules among ``ys``: the run of consecutive rules
    whose first and last lie nearest the frame's top and bottom, each within ``pad``.  (The card's
    next table starts 2 mm below this one: a frame found a little too tall takes in its top rule.)"""
    n = QUESTION_ROWS + 2
    runs = [ys[i:i + n] for i in range(len(ys) - n + 1)]
    runs = [r for r in runs if abs(r[0] - top) <= pad and abs(r[-1] - bottom) <= pad]
    return min(runs, key=lambda r: abs(r[0] - top) + abs(r[-1] - bottom)) if runs else None


def _peaks(profile: np.ndarray, floor: float) -> list[int]:
    """Centres of the runs of ``profile`` above ``floor`` (one per rule, however thick)."""
    import numpy as np

    on = profile >= floor
    out, k, n = [], 0, len(profile)
    while k < n:
        if on[k]:
            j = k
            while j < n and on[j]:
                j += 1
            seg = profile[k:j]
            out.append(k + int(np.argmax(seg)) if j - k > 1 else k)
            k = j
        else:
            k += 1
    return out


def square_beside(ink: np.ndarray, like: tuple[int, int, int, int], share: float = 0.8) -> tuple[int, int, int, int] | None:
    """The first square of ``like``'s size right of it (a label's width or more), on its line, whose
    four sides are inked along ``share`` of their length (±1 px): a printed □ stays whole whatever
    ink a mark adds round it, where following its outline fails (a ring or a tick joined to it).

    ``ink`` is a boolean mask; boxes are (x0, y0, x1, y1), x1 and y1 exclusive."""
    import cv2
    import numpy as np

    x0, y0, x1, y1 = like
    w, h = x1 - x0, y1 - y0
    on = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    rows = np.cumsum(np.pad(on, ((0, 0), (1, 0))), axis=1)  # rows[y, x] = ink in on[y, :x]
    cols = np.cumsum(np.pad(on, ((1, 0), (0, 0))), axis=0)
    dy = max(1, round(0.3 * h))
    found: list[tuple[float, int, int]] = []
    for y in range(max(0, y0 - dy), min(on.shape[0] - h, y0 + dy) + 1):
        for x in range(x1 + w, on.shape[1] - w + 1):
            sides = (rows[y, x + w] - rows[y, x], rows[y + h - 1, x + w] - rows[y + h - 1, x],
                     cols[y + h, x] - cols[y, x], cols[y + h, x + w - 1] - cols[y, x + w - 1])
            score = min(sides[0] / w, sides[1] / w, sides[2] / h, sides[3] / h)
            if score >= share:
                found.append((score, x, y))
    if not found:
        return None
    # The first square from the left (the 否 glyph beyond it is no square), placed where it fits best.
    first = min(x for _, x, _ in found)
    _, x, y = max(f for f in found if f[1] <= first + 2)
    return (x, y, x + w, y + h)
