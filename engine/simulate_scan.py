"""Paper returns as people make them: the card printed, ticked with a pen, then scanned or photographed.

Beside ``engine.simulate`` (which ticks the digital files), this module makes the scans and phone
photos the paper-card reader (``engine.omr``) must read, each with its ground truth:

1. ``find_layout`` finds the answer boxes in the card PDF itself (pdfplumber: the □ glyphs before
   是/否, their ink measured on a pypdfium2 rendering). It shares no code with the reader, so the
   truth does not depend on what it is meant to check.
2. ``plan_card`` decides what a person meant and how they marked it: ✓ in pens of several colours
   and widths, strokes that overshoot the box, ×, blacked-in boxes, rings round the box or its
   label, light pencil; and the ambiguous cases a machine must hand to a person (``Ambiguity``).
3. ``draw_card`` draws those marks on the rendered page; ``scan`` and ``photograph`` degrade it as
   flatbed scanners, fax-style scanners and phones do; ``write_capture`` writes PNG, JPEG (with EXIF
   orientation), bilevel Group-4 TIFF, HEIC or an image-only (multi-page) PDF.
4. ``make_file`` ties it together and ``FileTruth`` is the ground truth written beside the corpus:
   per card its serial, the intended answers, and per question the expected answer or "must go to
   a person" with the reason.
5. What is clear is decided from what reaches the file, not from what the pen drew: the same
   capture (same skew, perspective, light, noise, bilevel cut and codec) is made again of the page
   without its marks, and ``mark_survival`` measures, on each question's stroke pixels carried
   through the same geometry, the share still at least ``VISIBLE_STEP`` gray levels darker.  A clear
   answer of which less than ``MIN_SURVIVAL`` survives (a light pencil tick a Group-4 fax cut away)
   is a row with nothing ticked in the truth: the card is ambiguous and must go to a person naming
   that question (``CardTruth.erased`` keeps the mark drawn, ``survival`` every share measured).

Everything is deterministic for a given seed (NumPy ``default_rng``; no global random state).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .forms import ANSWER_OPTIONS, BOX_EMPTY, CARD_QUESTIONS
from .identifiers import SERIAL_RE

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    import numpy as np
    from PIL import Image

YES, NO = ANSWER_OPTIONS
QUESTIONS = len(CARD_QUESTIONS)
PT_PER_INCH = 72.0
_INK_LEVEL = 160  # gray below this on a clean rendering is printed ink


# ---------------------------------------------------------------- where the boxes are (from the PDF)


@dataclass(frozen=True, slots=True)
class Rect:
    """A rectangle in PDF points, origin top-left (pdfplumber's ``top``/``bottom``)."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass(frozen=True)
class CardLayout:
    """One printed card page: its serial and, per question and option, the printed box and label."""

    pdf: str
    page: int
    serial: str
    width: float
    height: float
    boxes: dict[tuple[int, str], Rect]
    labels: dict[tuple[int, str], Rect]
    qr: Rect | None = None  # the printed QR code (the page's picture at the top right)

    def row(self, q: int) -> Rect:
        """The answer cell's marks of question ``q``: both boxes and labels."""
        parts = [self.boxes[(q, o)] for o in ANSWER_OPTIONS] + [self.labels[(q, o)] for o in ANSWER_OPTIONS]
        return Rect(min(r.x0 for r in parts), min(r.y0 for r in parts), max(r.x1 for r in parts),
                    max(r.y1 for r in parts))


class LayoutError(ValueError):
    """The PDF is not a card whose ten answer rows can be found."""


def find_layout(pdf: Path, page: int = 0) -> CardLayout:
    """The serial and the 2×10 answer boxes of a card PDF (ours, or printed from the Word version)."""
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        pg = doc.pages[page]
        chars = [c for c in pg.chars if c["text"].strip()]
        width, height = float(pg.width), float(pg.height)
        text = pg.extract_text() or ""
        pictures = [_rect(i) for i in pg.images if abs(float(i["x1"] - i["x0"]) - float(i["bottom"] - i["top"])) < 2]
    m = SERIAL_RE.search(text)
    if not m:
        raise LayoutError(f"{pdf.name}: no serial printed")
    cells: list[tuple[Rect, Rect, str]] = []
    for a, b in zip(chars, chars[1:], strict=False):
        if a["text"] == BOX_EMPTY and b["text"] in ANSWER_OPTIONS and abs(a["top"] - b["top"]) < a["size"] / 2:
            cells.append((_rect(a), _rect(b), b["text"]))
    rows = _rows(cells)
    if len(rows) != QUESTIONS:
        raise LayoutError(f"{pdf.name}: {len(rows)} answer rows found, expected {QUESTIONS}")
    boxes, labels = {}, {}
    for q, row in enumerate(rows, start=1):
        for box, label, opt in row:
            boxes[(q, opt)], labels[(q, opt)] = box, label
    ink = _ink_boxes(pdf, page, boxes | {(q, o + "_label"): r for (q, o), r in labels.items()})
    qr = min(pictures, key=lambda r: r.y0, default=None)  # the only square picture, above the title
    return CardLayout(str(pdf), page, m.group(0), width, height,
                      {k: ink[k] for k in boxes}, {k: ink[(k[0], k[1] + "_label")] for k in labels}, qr)


def _rect(c: dict[str, Any]) -> Rect:
    return Rect(float(c["x0"]), float(c["top"]), float(c["x1"]), float(c["bottom"]))


def _rows(cells: list[tuple[Rect, Rect, str]]) -> list[list[tuple[Rect, Rect, str]]]:
    """Group □是 □否 pairs into rows, top to bottom; a row must hold exactly one 是 and one 否."""
    rows: list[list[tuple[Rect, Rect, str]]] = []
    for cell in sorted(cells, key=lambda c: (round(c[0].y0), c[0].x0)):
        if rows and abs(rows[-1][0][0].y0 - cell[0].y0) < cell[0].h / 2:
            rows[-1].append(cell)
        else:
            rows.append([cell])
    return [r for r in rows if sorted(c[2] for c in r) == sorted(ANSWER_OPTIONS)]


def _ink_boxes(pdf: Path, page: int, cells: dict[Any, Rect], dpi: int = 300) -> dict[Any, Rect]:
    """Shrink each glyph cell to the ink of its glyph (a □ is smaller than its em box and fonts differ).

    A table rule may cross a cell where rows are tight; a rule spans the whole cell, a glyph never
    does (side bearings), so components that span it are left out."""
    import cv2
    import numpy as np

    gray = np.asarray(render_page(pdf, page, dpi).convert("L"))
    s = dpi / PT_PER_INCH
    out = {}
    for k, r in cells.items():
        x0, y0, x1, y1 = int(r.x0 * s), int(r.y0 * s), int(np.ceil(r.x1 * s)), int(np.ceil(r.y1 * s))
        ink = (gray[y0:y1, x0:x1] < _INK_LEVEL).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
        parts = [st for st in stats[1:n] if st[2] < ink.shape[1] - 1 and st[3] < ink.shape[0] - 1]
        if not parts:
            raise LayoutError(f"{pdf.name}: nothing printed where {k} should be")
        gx0 = min(int(p[0]) for p in parts)
        gy0 = min(int(p[1]) for p in parts)
        gx1 = max(int(p[0] + p[2]) for p in parts)
        gy1 = max(int(p[1] + p[3]) for p in parts)
        out[k] = Rect((x0 + gx0) / s, (y0 + gy0) / s, (x0 + gx1) / s, (y0 + gy1) / s)
    return out


def render_page(pdf: Path, page: int, dpi: int) -> Image.Image:
    """The page as a printer prints it (form fields drawn with their appearance), RGB."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        doc.init_forms()
        img = doc[page].render(scale=dpi / PT_PER_INCH, may_draw_forms=True).to_pil().convert("RGB")
    finally:
        doc.close()
    return img


# ---------------------------------------------------------------- what a person meant and drew


class Mark(StrEnum):
    """How a person marks the chosen option (each is a clear answer)."""

    TICK = "tick"  # ✓ inside the box
    OVERSHOOT = "overshoot"  # ✓ whose long arm runs well out of the box
    CROSS = "cross"  # × in the box
    FILL = "fill"  # the box blacked in
    RING_BOX = "ring_box"  # a ring round the box
    RING_LABEL = "ring_label"  # a ring round the 是/否 label
    PENCIL = "pencil"  # a light pencil ✓


class Ambiguity(StrEnum):
    """Rows a machine must never decide: the card goes to a person naming the question."""

    BOTH = "both"  # 是 and 否 both ticked
    NONE = "none"  # neither ticked
    CORRECTED = "corrected"  # a ✓ scribbled out, a new ✓ on the other option
    STRAY = "stray"  # a ✓ in one box and a stray stroke between 是 and □否 (what did it mean?)

    @property
    def why(self) -> str:
        return _WHY[self]


_WHY = {Ambiguity.BOTH: "是和否都打了勾", Ambiguity.NONE: "是和否都没有勾选",
        Ambiguity.CORRECTED: "一个勾被涂改，另一项又打了勾", Ambiguity.STRAY: "是、否两项之间另有笔迹"}


@dataclass(frozen=True, slots=True)
class Pen:
    name: str
    bgr: tuple[int, int, int]
    width_mm: float
    strength: float = 1.0  # how much of the ink colour reaches the paper (pencil < 1)


PENS = (Pen("blue ballpoint", (140, 50, 20), 0.35), Pen("black gel", (25, 25, 25), 0.5),
        Pen("red ballpoint", (40, 40, 190), 0.35), Pen("blue gel", (120, 30, 10), 0.6),
        Pen("black marker", (10, 10, 10), 0.9), Pen("green fineliner", (60, 110, 30), 0.3))
PENCIL = Pen("pencil HB", (100, 100, 100), 0.45, strength=0.65)


@dataclass(frozen=True, slots=True)
class QuestionPlan:
    number: int
    intended: str | None  # what the person meant (None: no answer)
    mark: Mark
    ambiguity: Ambiguity | None = None

    @property
    def expected(self) -> str | None:
        """The answer a reader must file, or None when the row must go to a person."""
        return None if self.ambiguity else self.intended


@dataclass(frozen=True)
class CardPlan:
    serial: str
    questions: tuple[QuestionPlan, ...]
    pen: Pen
    spoil_qr: bool = False  # the QR scribbled over: only the printed 检查编号 is left to read

    @property
    def unresolved(self) -> list[int]:
        return [q.number for q in self.questions if q.ambiguity]


CLEAR_MARKS = tuple(Mark)


def plan_card(serial: str, rng: np.random.Generator, *, marks: tuple[Mark, ...] = CLEAR_MARKS,
              yes_rate: float = 0.1, ambiguous: dict[int, Ambiguity] | None = None, pen: Pen | None = None) -> CardPlan:
    """Intended answers (mostly 否, a 是 now and then), one habitual mark with an odd one out, the pen."""
    habit = marks[int(rng.integers(len(marks)))]
    qs = []
    for n in range(1, QUESTIONS + 1):
        intended = YES if rng.random() < yes_rate else NO
        mark = marks[int(rng.integers(len(marks)))] if rng.random() < 0.15 else habit
        amb = (ambiguous or {}).get(n)
        if amb is Ambiguity.NONE:
            intended = None
        qs.append(QuestionPlan(n, intended, mark, amb))
    if pen is None:
        pen = PENS[int(rng.integers(len(PENS)))]
        pen = replace(pen, width_mm=round(pen.width_mm * float(rng.uniform(0.8, 1.3)), 3))
    return CardPlan(serial, tuple(qs), pen)


def draw_card(page: Image.Image, layout: CardLayout, plan: CardPlan, dpi: int, rng: np.random.Generator,
              owners: np.ndarray | None = None) -> Image.Image:
    """The printed page with the person's marks on it (a new image; ``page`` is not changed).

    ``owners`` (uint8, the page's height × width), when given, gets each question's number where
    that question's strokes laid ink: ``mark_survival`` looks for those pixels after the capture."""
    import numpy as np
    from PIL import Image as PILImage

    img = np.array(page.convert("RGB"))  # a copy; strokes are inked in place, channel order RGB
    px = dpi / PT_PER_INCH
    for q in plan.questions:
        pen = PENCIL if q.mark is Mark.PENCIL else plan.pen
        for stroke in _strokes(layout, q, rng):
            _ink(img, [(x * px, y * px) for x, y in stroke], pen, dpi, rng,
                 None if owners is None else (owners, q.number))
    if plan.spoil_qr and layout.qr is not None:
        for stroke in _spoil(layout.qr, rng):
            _ink(img, [(x * px, y * px) for x, y in stroke], replace(plan.pen, width_mm=max(plan.pen.width_mm, 0.8)), dpi,
                 rng)
    return PILImage.fromarray(img)


Stroke = list[tuple[float, float]]


def _strokes(layout: CardLayout, q: QuestionPlan, rng: np.random.Generator) -> list[Stroke]:
    """The pen strokes of one row, in PDF points."""
    n = q.number
    if q.ambiguity is Ambiguity.NONE:
        return []
    if q.ambiguity is Ambiguity.BOTH:
        return _tick(layout.boxes[(n, YES)], rng) + _tick(layout.boxes[(n, NO)], rng)
    assert q.intended is not None
    if q.ambiguity is Ambiguity.STRAY:
        return _tick(layout.boxes[(n, q.intended)], rng) + _stray(layout, n, rng)
    if q.ambiguity is Ambiguity.CORRECTED:
        other = NO if q.intended == YES else YES
        old = layout.boxes[(n, other)]
        return _tick(old, rng) + _scribble(old, rng) + _tick(layout.boxes[(n, q.intended)], rng)
    box, label = layout.boxes[(n, q.intended)], layout.labels[(n, q.intended)]
    return {
        Mark.TICK: lambda: _tick(box, rng), Mark.PENCIL: lambda: _tick(box, rng),
        Mark.OVERSHOOT: lambda: _tick(box, rng, reach=float(rng.uniform(1.6, 2.2))),
        Mark.CROSS: lambda: _cross(box, rng), Mark.FILL: lambda: _fill(box, rng),
        Mark.RING_BOX: lambda: _ring(box, rng, 0.85), Mark.RING_LABEL: lambda: _ring(label, rng, 0.75),
    }[q.mark]()


def _j(rng: np.random.Generator, s: float) -> float:
    return float(rng.normal(0, s))


def _curve(p0: tuple[float, float], p1: tuple[float, float], bend: float, n: int = 12) -> Stroke:
    """A slightly bowed line from p0 to p1, as a hand draws a straight stroke."""
    (x0, y0), (x1, y1) = p0, p1
    cx, cy = (x0 + x1) / 2 - (y1 - y0) * bend, (y0 + y1) / 2 + (x1 - x0) * bend
    out = []
    for i in range(n + 1):
        t = i / n
        out.append(((1 - t) ** 2 * x0 + 2 * t * (1 - t) * cx + t * t * x1,
                    (1 - t) ** 2 * y0 + 2 * t * (1 - t) * cy + t * t * y1))
    return out


def _tick(b: Rect, rng: np.random.Generator, reach: float = 1.0) -> list[Stroke]:
    s = b.w * float(rng.uniform(0.85, 1.2))
    ox, oy = b.x0 + _j(rng, 0.06 * b.w), b.y0 + _j(rng, 0.06 * b.h)
    start = (ox + 0.12 * s, oy + 0.5 * s)
    low = (ox + 0.4 * s + _j(rng, 0.04 * s), oy + 0.85 * s + _j(rng, 0.04 * s))
    end = (ox + (0.4 + 0.6 * reach) * s, oy + 0.9 * s - (0.95 + 0.5 * (reach - 1)) * s * reach ** 0.2)
    return [_curve(start, low, _j(rng, 0.08)) + _curve(low, end, _j(rng, 0.06))[1:]]


def _stray(layout: CardLayout, n: int, rng: np.random.Generator) -> list[Stroke]:
    """A short slanted stroke in the gap between the 是 label and the □ of 否, touching neither box."""
    label, no = layout.labels[(n, YES)], layout.boxes[(n, NO)]
    x0, x1 = label.x1 - 0.5, no.x0 - 1.0  # may brush the 是 glyph, never the □ of 否
    h = no.h
    cx, cy = (x0 + x1) / 2 + _j(rng, 0.1), no.cy + _j(rng, 0.05 * h)
    half = max(0.5, (x1 - x0) / 2 - 0.6)
    return [_curve((cx - half, cy + 0.45 * h), (cx + half, cy - 0.45 * h), _j(rng, 0.05))]


def _cross(b: Rect, rng: np.random.Generator) -> list[Stroke]:
    m = 0.1 * b.w
    return [_curve((b.x0 + _j(rng, m), b.y0 + _j(rng, m)), (b.x1 + _j(rng, m), b.y1 + _j(rng, m)), _j(rng, 0.05)),
            _curve((b.x1 + _j(rng, m), b.y0 + _j(rng, m)), (b.x0 + _j(rng, m), b.y1 + _j(rng, m)), _j(rng, 0.05))]


def _fill(b: Rect, rng: np.random.Generator) -> list[Stroke]:
    """Back-and-forth hatching until the box is black."""
    pts: Stroke = []
    rows = 7
    for i in range(rows + 1):
        y = b.y0 + b.h * (0.05 + 0.9 * i / rows) + _j(rng, 0.02 * b.h)
        xs = (b.x0 + 0.05 * b.w, b.x1 - 0.05 * b.w) if i % 2 == 0 else (b.x1 - 0.05 * b.w, b.x0 + 0.05 * b.w)
        pts += [(xs[0] + _j(rng, 0.03 * b.w), y), (xs[1] + _j(rng, 0.03 * b.w), y + 0.05 * b.h)]
    return [pts]


def _scribble(b: Rect, rng: np.random.Generator) -> list[Stroke]:
    """Crossing out: a dense zig-zag over the box and a little beyond."""
    import math

    pts: Stroke = []
    for i in range(9):
        t = i / 8
        y = b.y0 - 0.15 * b.h + 1.3 * b.h * t
        x = b.x0 - 0.2 * b.w if i % 2 == 0 else b.x1 + 0.2 * b.w
        pts.append((x + _j(rng, 0.05 * b.w), y + 0.1 * b.h * math.sin(i)))
    return [pts]


def _spoil(r: Rect, rng: np.random.Generator) -> list[Stroke]:
    """Scribbles across the QR code, as when someone wrote over it: dense enough that no decoder reads it."""
    strokes = []
    for k in range(14):
        y = r.y0 + r.h * (k + 0.5) / 14
        strokes.append(_curve((r.x0 - 2, y + _j(rng, 1)), (r.x1 + 2, y + _j(rng, 2)), _j(rng, 0.05)))
    for k in range(14):
        x = r.x0 + r.w * (k + 0.5) / 14
        strokes.append(_curve((x + _j(rng, 1), r.y0 - 2), (x + _j(rng, 2), r.y1 + 2), _j(rng, 0.05)))
    return strokes


def _ring(b: Rect, rng: np.random.Generator, k: float) -> list[Stroke]:
    """An open ellipse round ``b`` whose ends overlap a little, as a circle drawn in one go."""
    import math

    rx, ry = b.w * k * float(rng.uniform(0.95, 1.1)), b.h * k * float(rng.uniform(1.0, 1.15))
    cx, cy = b.cx + _j(rng, 0.05 * b.w), b.cy + _j(rng, 0.05 * b.h)
    start = float(rng.uniform(0, 2 * math.pi))
    n = 40
    return [[(cx + rx * (1 + 0.04 * math.sin(3 * t)) * math.cos(start + t), cy + ry * math.sin(start + t))
             for t in (2.15 * math.pi * i / n for i in range(n + 1))]]


def _ink(img: np.ndarray, pts: list[tuple[float, float]], pen: Pen, dpi: int, rng: np.random.Generator,
         owner: tuple[np.ndarray, int] | None = None) -> None:
    """Lay one stroke of ``pen`` on ``img`` (RGB uint8), multiplied in as ink on paper is; ``owner``:
    a label image and the value to write where the stroke lies (its core, not the anti-aliased rim)."""
    import cv2
    import numpy as np

    w = max(1, round(pen.width_mm / 25.4 * dpi))
    arr = np.array(pts, dtype=np.float64)
    pad = w + 2
    x0, y0 = np.floor(arr.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(arr.max(axis=0)).astype(int) + pad
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, img.shape[1]), min(y1, img.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # sub-pixel precision for anti-aliased strokes
    poly = np.round((arr - [x0, y0]) * (1 << shift)).astype(np.int32)
    cv2.polylines(mask, [poly], False, 255, w, cv2.LINE_AA, shift)
    a = mask.astype(np.float32) / 255 * pen.strength
    if pen.strength < 1:  # graphite leaves a grainy line
        a *= rng.uniform(0.55, 1.0, a.shape).astype(np.float32)
    colour = np.array(pen.bgr[::-1], np.float32) / 255
    region = img[y0:y1, x0:x1].astype(np.float32)
    img[y0:y1, x0:x1] = np.clip(region * (1 - a[:, :, None] * (1 - colour)), 0, 255).astype(np.uint8)
    if owner is not None:
        labels, value = owner
        labels[y0:y1, x0:x1][mask >= 128] = value


# ---------------------------------------------------------------- what scanners and phones do to it


class Fmt(StrEnum):
    PNG = "png"
    JPEG = "jpg"
    TIFF_G4 = "tif"  # bilevel CCITT Group 4, as fax-style scanners send
    HEIC = "heic"
    PDF = "pdf"  # image-only, one page per card (scan-to-PDF)
    # (TIFF_G4 too holds several pages, one frame per card, as fax-style scanners send a stack)


@dataclass(frozen=True)
class Capture:
    """How a marked page becomes a file. ``phone`` photographs it; otherwise a scanner scans it."""

    dpi: int = 200
    phone: bool = False
    skew: float = 0.0  # degrees, counter-clockwise
    turns: int = 0  # quarter turns counter-clockwise of the stored pixels
    exif: bool = False  # pixels turned, EXIF Orientation tells a viewer how to turn them back (JPEG)
    noise: float = 0.0  # gray-level sigma
    blur: float = 0.0  # Gaussian sigma, pixels
    fmt: Fmt = Fmt.PNG
    quality: int = 90  # JPEG / HEIC quality
    gray: bool = False  # a grayscale scan
    perspective: float = 0.0  # phone: corner displacement, share of the page width
    shadow: float = 0.0  # phone: how dark the unevenly lit side gets (0–1)


@dataclass
class Captured:
    """One page as the device made it, and what ``capture`` carried along for the truth."""

    image: Image.Image
    carried: np.ndarray | None = None  # ``carry`` moved by the same geometry (nearest), turned likewise
    threshold: float | None = None  # the gray level a bilevel scan cut at


def capture(img: Image.Image, cap: Capture, rng: np.random.Generator, carry: np.ndarray | None = None,
            threshold: float | None = None) -> Captured:
    """``scan`` or ``photograph`` as ``cap`` says; ``carry`` (a label image of the page's size) follows
    the page's geometry, and ``threshold`` fixes a bilevel scan's cut (else Otsu's, as scanners do)."""
    return (_photograph(img, cap, rng, carry) if cap.phone else _scan(img, cap, rng, carry, threshold))


def scan(img: Image.Image, cap: Capture, rng: np.random.Generator) -> Image.Image:
    """A flatbed or sheet-fed scan: skew, blur, sensor noise, grayscale or bilevel, a quarter turn."""
    return _scan(img, cap, rng).image


def _scan(img: Image.Image, cap: Capture, rng: np.random.Generator, carry: np.ndarray | None = None,
          threshold: float | None = None) -> Captured:
    import cv2
    import numpy as np
    from PIL import Image as PILImage

    a = np.asarray(img.convert("RGB"))[:, :, ::-1]
    if cap.skew:
        h, w = a.shape[:2]
        m = cv2.getRotationMatrix2D((w / 2, h / 2), cap.skew, 1.0)
        a = cv2.warpAffine(a, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(250, 250, 250))
        if carry is not None:
            carry = cv2.warpAffine(carry, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    a = _blur_noise(a, cap, rng)
    out = PILImage.fromarray(a[:, :, ::-1])
    cut = None
    if cap.fmt is Fmt.TIFF_G4:
        g = np.asarray(out.convert("L"))
        if threshold is None:
            cut, bw = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
        else:
            cut, bw = cv2.threshold(g, threshold, 255, cv2.THRESH_BINARY)
        out = PILImage.fromarray(bw).convert("1", dither=PILImage.Dither.NONE)
    elif cap.gray:
        out = out.convert("L")
    return Captured(_turn(out, cap.turns), _turn_array(carry, cap.turns), cut)


def photograph(img: Image.Image, cap: Capture, rng: np.random.Generator) -> Image.Image:
    """A phone photo: the page at an angle on a desk, lit from one side, a little soft, JPEG'd."""
    return _photograph(img, cap, rng).image


def _photograph(img: Image.Image, cap: Capture, rng: np.random.Generator, carry: np.ndarray | None = None) -> Captured:
    import cv2
    import numpy as np
    from PIL import Image as PILImage

    page = np.asarray(img.convert("RGB"))[:, :, ::-1]
    h, w = page.shape[:2]
    margin = int(0.12 * w)
    ch, cw = h + 2 * margin, w + 2 * margin
    desk = _desk(ch, cw, rng)
    d = cap.perspective * w
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[margin + rng.uniform(-d, d), margin + rng.uniform(-d, d)] if i == 0 else
                      [margin + w + rng.uniform(-d, d), margin + rng.uniform(-d, d)] if i == 1 else
                      [margin + w + rng.uniform(-d, d), margin + h + rng.uniform(-d, d)] if i == 2 else
                      [margin + rng.uniform(-d, d), margin + h + rng.uniform(-d, d)] for i in range(4)])
    hom = cv2.getPerspectiveTransform(src, dst)
    if cap.skew:
        rot = cv2.getRotationMatrix2D((cw / 2, ch / 2), cap.skew, 1.0)
        hom = np.vstack([rot, [0, 0, 1]]) @ hom
    warped = cv2.warpPerspective(page, hom, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                 borderValue=(0, 0, 0))
    if carry is not None:
        carry = cv2.warpPerspective(carry, hom, (cw, ch), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT,
                                    borderValue=0)
    cover = cv2.warpPerspective(np.full((h, w), 255, np.uint8), hom, (cw, ch), flags=cv2.INTER_LINEAR)
    k = cv2.merge([cover.astype(np.float32) / 255] * 3)
    a = cv2.add(cv2.multiply(warped.astype(np.float32), k), cv2.multiply(desk, 1 - k))
    a = cv2.multiply(a, cv2.merge([_light(ch, cw, cap.shadow, rng)] * 3))
    a = _blur_noise(np.clip(a, 0, 255).astype(np.uint8), cap, rng)
    return Captured(_turn(PILImage.fromarray(a[:, :, ::-1]), cap.turns), _turn_array(carry, cap.turns))


def _desk(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A wooden desk: a brown base with grain along one axis."""
    import cv2
    import numpy as np

    base = np.array([50, 90, 140], np.float32) * float(rng.uniform(0.7, 1.2))
    grain = rng.normal(0, 1, (h // 8 + 1, 1)).astype(np.float32)
    grain = cv2.resize(cv2.GaussianBlur(grain, (1, 9), 3), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(base[None, None, :] * (1 + 0.12 * grain[:, :, None]), 0, 255).astype(np.float32)


def _light(h: int, w: int, depth: float, rng: np.random.Generator) -> np.ndarray:
    """Uneven light: a linear fall-off from a random side plus a soft shadow (a hand, the phone).

    Light varies slowly, so it is computed on a coarse grid and enlarged."""
    import cv2
    import numpy as np

    gh, gw = max(2, h // 16), max(2, w // 16)
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    ang = float(rng.uniform(0, 2 * np.pi))
    ramp = ((xx / gw - 0.5) * np.cos(ang) + (yy / gh - 0.5) * np.sin(ang)) + 0.5
    light = 1 - depth * 0.6 * np.clip(ramp, 0, 1)
    cx, cy, r = rng.uniform(0, gw), rng.uniform(0, gh), rng.uniform(0.2, 0.4) * gw
    blob = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)))
    return cv2.resize((light * (1 - depth * 0.4 * blob)).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)


def _blur_noise(a: np.ndarray, cap: Capture, rng: np.random.Generator) -> np.ndarray:
    import cv2
    import numpy as np

    if cap.blur:
        a = cv2.GaussianBlur(a, (0, 0), cap.blur)
    if cap.noise:  # OpenCV's generator, seeded from ours: NumPy's normal() costs seconds on a 300 dpi page
        noise = np.empty(a.shape[:2], np.int16)
        cv2.setRNGSeed(int(rng.integers(2**31)))
        cv2.randn(noise, 0, cap.noise)
        a16 = a.astype(np.int16)
        a16 += noise[:, :, None] if a.ndim == 3 else noise
        a = np.clip(a16, 0, 255, out=a16).astype(np.uint8)
    return a


def _turn(img: Image.Image, turns: int) -> Image.Image:
    from PIL import Image as PILImage

    ops = {1: PILImage.Transpose.ROTATE_90, 2: PILImage.Transpose.ROTATE_180, 3: PILImage.Transpose.ROTATE_270}
    return img.transpose(ops[turns % 4]) if turns % 4 else img


def _turn_array(a: np.ndarray | None, turns: int) -> np.ndarray | None:
    """``_turn`` for a label image (NumPy's quarter turns are counter-clockwise too)."""
    import numpy as np

    return None if a is None else np.ascontiguousarray(np.rot90(a, turns % 4))


# EXIF Orientation that makes a viewer turn pixels stored ``turns`` quarter turns counter-clockwise back upright.
_EXIF_FOR_TURNS = {0: 1, 1: 6, 2: 3, 3: 8}


def write_capture(pages: list[Image.Image], cap: Capture, path: Path) -> Path:
    """Save the captured page(s) as the device would; several pages only as a PDF or a (fax) TIFF."""
    if len(pages) > 1 and cap.fmt not in (Fmt.PDF, Fmt.TIFF_G4):
        raise ValueError("only a PDF or a TIFF holds several cards")
    first = pages[0]
    dpi = (cap.dpi, cap.dpi)
    if cap.fmt is Fmt.PDF:
        first.save(path, "PDF", save_all=True, append_images=pages[1:], resolution=float(cap.dpi))
    elif cap.fmt is Fmt.JPEG:
        kw: dict[str, Any] = {"quality": cap.quality, "dpi": dpi}
        if cap.exif:
            exif = first.getexif()
            exif[0x0112] = _EXIF_FOR_TURNS[cap.turns % 4]
            kw["exif"] = exif.tobytes()
        first.convert("RGB" if first.mode != "L" else "L").save(path, "JPEG", **kw)
    elif cap.fmt is Fmt.TIFF_G4:
        first.convert("1").save(path, "TIFF", compression="group4", dpi=dpi, save_all=True,
                                append_images=[p.convert("1") for p in pages[1:]])
    elif cap.fmt is Fmt.HEIC:
        import pillow_heif

        pillow_heif.register_heif_opener()
        # x265's default preset takes seconds per photo; a phone's hardware encoder is fast too.
        first.convert("RGB").save(path, "HEIF", quality=cap.quality, enc_params={"preset": "ultrafast"})
    else:
        first.save(path, "PNG", dpi=dpi, compress_level=1)  # a scanner's PNG is not squeezed hard either
    return path


def _as_sent(img: Image.Image, cap: Capture) -> Image.Image:
    """One page after the file's lossy codec, as ``write_capture`` encodes it (JPEG, HEIC, and the
    JPEG Pillow puts in a PDF at its default quality); PNG and Group-4 TIFF keep every pixel."""
    import io

    from PIL import Image as PILImage

    buf = io.BytesIO()
    if cap.fmt is Fmt.JPEG:
        img.convert("RGB" if img.mode != "L" else "L").save(buf, "JPEG", quality=cap.quality)
    elif cap.fmt is Fmt.PDF:
        img.save(buf, "JPEG")
    elif cap.fmt is Fmt.HEIC:
        import pillow_heif

        pillow_heif.register_heif_opener()
        img.convert("RGB").save(buf, "HEIF", quality=cap.quality, enc_params={"preset": "ultrafast"})
    else:
        return img
    buf.seek(0)
    with PILImage.open(buf) as out:
        return out.copy()


# ---------------------------------------------------------------- did the marks survive the capture?

TRUTH_VERSION = 3  # raised whenever what a truth file says changes (2: marks the capture lost are not clear; 3: below 20 %)
VISIBLE_STEP = 24  # gray levels (of 255) a mark must darken a pixel by, in the file, to be seen there
# Share of a mark's pixels still visible in the file for its answer to be readable.  Measured on the
# seed-12 corpus's Group-4 pencil ticks: 11 % left is a few specks in the box (no reader, no person
# can call it a tick), 25 % a dotted but plainly legible ✓; pen on any capture keeps 79 % or more.
MIN_SURVIVAL = 0.2
ERASED_WHY = "勾选笔迹在扫描件中没有留下（笔迹太浅），是和否都看不到勾选"


def mark_survival(marked: Image.Image, unmarked: Image.Image, owners: np.ndarray) -> dict[int, float]:
    """Per question, the share of its strokes' pixels that are visibly darker in the captured file
    than in the same capture of the page without marks (same geometry, noise, cut and codec).

    ``owners`` labels each pixel of the capture with the question whose stroke lies there (0: none).
    What a pen drew does not decide the truth: what reaches the file does.  A pencil tick that a
    bilevel scan cut away leaves nothing a person (or a reader) could see."""
    import cv2
    import numpy as np

    def gray(img: Image.Image) -> np.ndarray:
        if img.mode in ("1", "L"):
            return np.asarray(img.convert("L"))
        r, g, b = cv2.split(np.asarray(img.convert("RGB")))
        return cv2.min(cv2.min(r, g), b)  # the darkest channel: blue and red ink count as dark as black

    added = cv2.subtract(gray(unmarked), gray(marked))  # saturating: where the marks darkened the file
    seen = (added >= VISIBLE_STEP).ravel()
    labels = owners.ravel()
    drawn = np.bincount(labels, minlength=QUESTIONS + 1)
    visible = np.bincount(labels, weights=seen, minlength=QUESTIONS + 1)
    return {q: float(visible[q] / drawn[q]) for q in range(1, QUESTIONS + 1) if drawn[q]}


def as_received(plan: CardPlan, survival: dict[int, float]) -> tuple[CardPlan, dict[int, str]]:
    """The plan as the file shows it: a clear answer whose mark did not survive the capture
    (``MIN_SURVIVAL``) is a row with nothing ticked, for a person to read; and those rows' marks."""
    lost = {q.number: str(q.mark) for q in plan.questions
            if q.ambiguity is None and survival.get(q.number, 0.0) < MIN_SURVIVAL}
    if not lost:
        return plan, {}
    qs = tuple(replace(q, ambiguity=Ambiguity.NONE) if q.number in lost else q for q in plan.questions)
    return replace(plan, questions=qs), lost


# ---------------------------------------------------------------- one file and its ground truth


@dataclass
class CardTruth:
    """What one card (page) in a file says, and what a reader must make of it."""

    page: int
    serial: str
    source: str  # "pdf" (printed from our PDF) or "word" (printed from the Word version)
    pen: str
    intended: dict[str, str | None]  # "1"…"10": what the person meant
    expected: dict[str, str | None]  # "1"…"10": the answer to file, None = must go to a person
    why: dict[str, str]  # for each question that must go to a person: the reason (Chinese)
    marks: dict[str, str]  # "1"…"10": the mark drawn, or the ambiguity
    qr_spoiled: bool = False  # the QR is scribbled over: the serial can only come from the printed 检查编号
    erased: dict[str, str] = field(default_factory=dict)  # clear answers whose mark the capture lost: the mark drawn
    survival: dict[str, float] = field(default_factory=dict)  # per question, the share of its mark seen in the file

    @property
    def clear(self) -> bool:
        return not self.why

    @property
    def unresolved(self) -> list[int]:
        return sorted(int(q) for q in self.why)

    def answers(self) -> dict[int, str]:
        assert self.clear
        return {int(q): a for q, a in self.expected.items() if a}


@dataclass
class FileTruth:
    file: str
    seed: int
    capture: dict[str, Any]
    cards: list[CardTruth] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def load(cls, path: Path) -> FileTruth:
        d = json.loads(path.read_text(encoding="utf-8"))
        return cls(d["file"], d["seed"], d["capture"], [CardTruth(**c) for c in d["cards"]])


def card_truth(plan: CardPlan, page: int, source: str, survival: dict[int, float] | None = None) -> CardTruth:
    """The truth of one card: ``survival`` (``mark_survival``) turns a clear answer whose mark the
    capture lost into a row a person must read (``as_received``)."""
    lost: dict[int, str] = {}
    if survival is not None:
        plan, lost = as_received(plan, survival)
    return CardTruth(
        page=page, serial=plan.serial, source=source, pen=plan.pen.name,
        intended={str(q.number): q.intended for q in plan.questions},
        expected={str(q.number): q.expected for q in plan.questions},
        why={str(q.number): ERASED_WHY if q.number in lost else q.ambiguity.why for q in plan.questions if q.ambiguity},
        marks={str(q.number): str(q.ambiguity or q.mark) for q in plan.questions},
        qr_spoiled=plan.spoil_qr,
        erased={str(q): m for q, m in lost.items()},
        survival={str(q): round(v, 3) for q, v in sorted((survival or {}).items())},
    )


@dataclass(frozen=True)
class Printed:
    """A card as printed: its PDF (ours or the Word version's export) and where its boxes are."""

    layout: CardLayout
    source: str

    @classmethod
    def of(cls, pdf: Path, source: str = "pdf") -> Printed:
        return cls(find_layout(pdf), source)


_RENDERS: dict[tuple[str, int], Image.Image] = {}
_RENDER_CACHE_PIXELS = 150_000_000  # ~450 MB of RGB pages: a corpus prints the same few cards many times


def _rendered(layout: CardLayout, dpi: int) -> Image.Image:
    """Clean page renders, cached (least recently used out first)."""
    key = (layout.pdf, dpi)
    img = _RENDERS.pop(key, None) or render_page(Path(layout.pdf), layout.page, dpi)
    _RENDERS[key] = img
    while sum(i.width * i.height for i in _RENDERS.values()) > _RENDER_CACHE_PIXELS and len(_RENDERS) > 1:
        del _RENDERS[next(iter(_RENDERS))]
    return img


class Sheet(StrEnum):
    """A page of a scanned stack that is not a card."""

    BLANK = "blank"  # the empty back of a card in a duplex scan
    LETTER = "letter"  # a covering note: lines of text, no table, no QR


def _sheet(kind: Sheet, like: Printed, dpi: int, rng: np.random.Generator) -> Image.Image:
    """An A4 sheet (the size of ``like``'s page) as the scanner's glass sees it before noise."""
    import numpy as np
    from PIL import Image as PILImage

    w, h = _rendered(like.layout, dpi).size
    a = np.full((h, w, 3), 252, np.uint8)
    if kind is Sheet.LETTER:
        line = max(2, dpi // 25)
        y = h // 8
        while y < h // 2:
            x, end = w // 8, int(w * rng.uniform(0.6, 0.88))
            while x < end:  # words: short dark runs with gaps
                word = int(rng.integers(dpi // 8, dpi // 3))
                a[y:y + line, x:min(x + word, end)] = 40
                x += word + dpi // 12
            y += 3 * line
    return PILImage.fromarray(a)


def make_file(cards: list[tuple[Printed, CardPlan] | Sheet], cap: Capture, path: Path, seed: int,
              truth_dir: Path | None = None) -> FileTruth:
    """Print, mark, capture and save ``cards`` (one per page) as ``path``; write the truth JSON.

    A ``Sheet`` in the list is a page of the stack that is not a card (a blank back, a covering
    note); the truth lists the cards only, each with its page in the file."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pages = []
    truths = []
    like = next(c[0] for c in cards if not isinstance(c, Sheet))
    for k, entry in enumerate(cards):
        if isinstance(entry, Sheet):
            pages.append(capture(_sheet(entry, like, cap.dpi, rng), cap, rng).image)
            continue
        printed, plan = entry
        clean = _rendered(printed.layout, cap.dpi)
        owners = np.zeros((clean.height, clean.width), np.uint8)
        marked = draw_card(clean, printed.layout, plan, cap.dpi, rng, owners)
        twin = np.random.default_rng()
        twin.bit_generator.state = rng.bit_generator.state  # the same capture again, for the page unmarked
        got = capture(marked, cap, rng, carry=owners)
        bare = capture(clean, cap, twin, threshold=got.threshold)
        assert got.carried is not None
        survival = mark_survival(_as_sent(got.image, cap), _as_sent(bare.image, cap), got.carried)
        truths.append(card_truth(plan, k + 1, printed.source, survival))
        pages.append(got.image)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_capture(pages, cap, path)
    truth = FileTruth(path.name, seed, {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(cap).items()},
                      truths)
    if truth_dir is not None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        (truth_dir / f"{path.name}.json").write_text(truth.to_json(), encoding="utf-8")
    return truth


def paper_card(pdf: Path, dst: Path, answers: dict[int, str], cap: Capture, seed: int, *, mark: Mark = Mark.TICK,
               ambiguous: dict[int, Ambiguity] | None = None, pen: Pen = PENS[0], source: str = "pdf") -> FileTruth:
    """One card printed from ``pdf``, answered ``answers`` (others 否) with ``mark``, captured as ``dst``."""
    amb = ambiguous or {}
    layout = find_layout(pdf)
    qs = tuple(QuestionPlan(n, None if amb.get(n) is Ambiguity.NONE else answers.get(n, NO), mark, amb.get(n))
               for n in range(1, QUESTIONS + 1))
    return make_file([(Printed(layout, source), CardPlan(layout.serial, qs, pen))], cap, dst, seed)


# ---------------------------------------------------------------- a random corpus (benchmarks)


def random_capture(rng: np.random.Generator, dpi: int | None = None) -> Capture:
    """A scanner or phone as found in the field; the ranges are the issue's (150–600 dpi, ±10°, …)."""
    turns = int(rng.choice([0, 0, 0, 0, 1, 2, 3]))
    if rng.random() < 0.3:
        return Capture(dpi=dpi or int(rng.choice([150, 200, 250])), phone=True, skew=float(rng.uniform(-10, 10)),
                       turns=turns, exif=turns > 0 and rng.random() < 0.7, noise=float(rng.uniform(2, 6)),
                       blur=float(rng.uniform(0, 1.2)), fmt=Fmt.HEIC if rng.random() < 0.2 else Fmt.JPEG,
                       quality=int(rng.integers(60, 92)), perspective=float(rng.uniform(0.02, 0.08)),
                       shadow=float(rng.uniform(0.1, 0.5)))
    fmt = Fmt(rng.choice([Fmt.PNG, Fmt.JPEG, Fmt.TIFF_G4, Fmt.PDF, Fmt.PDF]))
    return Capture(dpi=dpi or int(rng.choice([150, 200, 200, 200, 300, 300, 300, 400, 600])), skew=float(rng.uniform(-10, 10)),
                   turns=turns, exif=fmt is Fmt.JPEG and turns > 0 and rng.random() < 0.5,
                   noise=float(rng.uniform(0, 8)), blur=float(rng.uniform(0, 1.0)), fmt=fmt,
                   quality=int(rng.integers(50, 95)), gray=bool(rng.random() < 0.4))


def random_plan(serial: str, rng: np.random.Generator, ambiguous_rate: float = 0.25) -> CardPlan:
    """A card as enterprises return them: most clear, a share with one or two rows a person must read."""
    amb: dict[int, Ambiguity] = {}
    if rng.random() < ambiguous_rate:
        for q in rng.choice(QUESTIONS, size=int(rng.integers(1, 3)), replace=False):
            amb[int(q) + 1] = Ambiguity(rng.choice(list(Ambiguity)))
    return plan_card(serial, rng, ambiguous=amb)


def make_corpus(printed: list[Printed], out_dir: Path, count: int, seed: int = 12, *, dpi: int | None = None,
                ambiguous_rate: float = 0.25) -> list[tuple[Path, FileTruth]]:
    """``count`` cards as files in ``out_dir`` (truths in ``out_dir/truth``); now and then two cards in one PDF.

    File ``i`` depends only on ``seed`` and ``i``: a run that was stopped resumes where its truths end."""
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    made: list[tuple[Path, FileTruth]] = []
    n = i = 0
    while n < count:
        done = sorted((out_dir / "truth").glob(f"card-{i:04d}.*.json"))
        if done:
            truth = FileTruth.load(done[0])
            made.append((out_dir / truth.file, truth))
            n += len(truth.cards)
            i += 1
            continue
        rng = np.random.default_rng([seed, i])
        cap = random_capture(rng, dpi)
        k = 2 if cap.fmt is Fmt.PDF and rng.random() < 0.25 and count - n >= 2 else 1
        cards = []
        for _ in range(k):
            p = printed[int(rng.integers(len(printed)))]
            cards.append((p, random_plan(p.layout.serial, rng, ambiguous_rate)))
        path = out_dir / f"card-{i:04d}.{cap.fmt}"
        made.append((path, make_file(cards, cap, path, seed=int(rng.integers(2**31)), truth_dir=out_dir / "truth")))
        n += k
        i += 1
    return made

