"""Marks people really make that the simulator's person does not (``engine.simulate_scan`` ticks, crosses,
fills and rings one box per row): a line struck down a column of boxes, one tick drawn across the rule
between two questions, a correction written in words beside the table.  Each draws on the printed card (our PDF or the Word version, as
``_scan_fixtures.printed_cards`` prints it) at the simulator's pens' widths, then the page is scanned
or photographed with the simulator's ``Capture`` and saved as the device would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.simulate_scan import (
    NO,
    PENS,
    PT_PER_INCH,
    YES,
    Capture,
    CardLayout,
    CardPlan,
    Mark,
    Pen,
    Printed,
    QuestionPlan,
    _ink,
    _rendered,
    capture,
    draw_card,
    write_capture,
)

Box = tuple[float, float, float, float]
Draw = Callable[[np.ndarray, CardLayout, float], None]  # page RGB (drawn in place), layout, px per pt


def ticked(p: Printed, answers: dict[int, str | None], dpi: int, pen: Pen = PENS[0], seed: int = 1,
           spoil_qr: bool = False) -> np.ndarray:
    """The card printed at ``dpi`` with a ✓ on each answer (None: that row left blank); ``spoil_qr``:
    its QR scribbled over."""
    qs = tuple(QuestionPlan(n, a, Mark.TICK) for n, a in sorted(answers.items()) if a is not None)
    plan = CardPlan(p.layout.serial, qs, pen, spoil_qr)
    return np.array(draw_card(_rendered(p.layout, dpi), p.layout, plan, dpi, np.random.default_rng(seed)))


def box(layout: CardLayout, q: int, option: str, px: float) -> Box:
    r = layout.boxes[(q, option)]
    return r.x0 * px, r.y0 * px, r.x1 * px, r.y1 * px


def line(img: np.ndarray, pts: list[tuple[float, float]], pen: Pen, dpi: int, seed: int = 3) -> None:
    _ink(img, pts, pen, dpi, np.random.default_rng(seed))


def strike(option: str, drift: float = 0.0, pen: Pen = PENS[1]) -> Draw:
    """A line drawn down the ``option`` column through all ten boxes, from above the first box to below
    the last; ``drift``: how far (share of a box) the hand wanders off the boxes' middle either way."""
    def draw(img: np.ndarray, lay: CardLayout, px: float) -> None:
        top, bot = box(lay, 1, option, px), box(lay, 10, option, px)
        s = top[2] - top[0]
        x0, y0 = (top[0] + top[2]) / 2 + drift * s, top[1] - 30
        x1, y1 = (bot[0] + bot[2]) / 2 - drift * s, bot[3] + 12
        pts = [(x0 + (x1 - x0) * t + 2.5 * math.sin(5 * t), y0 + (y1 - y0) * t) for t in np.linspace(0, 1, 60)]
        line(img, pts, pen, round(px * PT_PER_INCH))
    return draw


def tick_across(upper: int, option: str = NO, pen: Pen = PENS[0]) -> Draw:
    """One big ✓ across the rule under question ``upper``: its corner at the top of the next row's
    ``option`` box, its long arm up past the ``upper`` row's box."""
    def draw(img: np.ndarray, lay: CardLayout, px: float) -> None:
        a, b = box(lay, upper, option, px), box(lay, upper + 1, option, px)
        s = b[2] - b[0]
        rule = (lay.row(upper).y1 + lay.row(upper + 1).y0) / 2 * px
        start, low, end = (b[0] - 0.3 * s, rule - 0.2 * s), (b[0] + 0.35 * s, rule + 0.55 * s), (a[2] + 0.5 * s, a[1] - 0.2 * s)
        pts = [tuple(v) for v in np.linspace(start, low, 8)] + [tuple(v) for v in np.linspace(low, end, 14)][1:]
        line(img, pts, pen, round(px * PT_PER_INCH))
    return draw


def dashes(option: str, tilt: float = 0.0, pen: Pen = PENS[0]) -> Draw:
    """A "—" in every ``option`` box: across the box's middle, ~¾ of its width, each a little
    different (length, height, a hand's bow); ``tilt``: degrees it rises to the right."""
    def draw(img: np.ndarray, lay: CardLayout, px: float) -> None:
        rng = np.random.default_rng(11)
        for q in range(1, 11):
            x0, y0, x1, y1 = box(lay, q, option, px)
            s, cx, cy = x1 - x0, (x0 + x1) / 2, (y0 + y1) / 2 + rng.normal(0, 0.05) * (y1 - y0)
            half = s * rng.uniform(0.32, 0.42)
            rise = half * math.tan(math.radians(tilt + rng.normal(0, 2)))
            pts = [(cx + half * t, cy - rise * t + 0.04 * s * math.sin(math.pi * (t + 1) / 2)) for t in np.linspace(-1, 1, 16)]
            line(img, pts, pen, round(px * PT_PER_INCH), seed=q)
    return draw


def crease(q: int | None = None, x_mm: float | None = None, rise: float = 0.0) -> Draw:
    """A fold's crease (or a scanner lid's dark line) from one edge of the sheet to the other:
    across the page through question ``q``'s boxes, or down it ``x_mm`` from the left edge;
    ``rise``: px it climbs over the page's width (a fold is never quite square)."""
    def draw(img: np.ndarray, lay: CardLayout, px: float) -> None:
        h, w = img.shape[:2]
        if q is not None:
            y = lay.boxes[(q, YES)].cy * px
            for x in range(w):
                yy = round(y - rise * x / w)
                img[max(0, yy - 1):yy + 2, x] = (img[max(0, yy - 1):yy + 2, x] * 0.45).astype(np.uint8)
        else:
            assert x_mm is not None
            x = round(x_mm / 25.4 * PT_PER_INCH * px)
            for y in range(h):
                xx = round(x + rise * y / h)
                img[y, max(0, xx - 1):xx + 2] = (img[y, max(0, xx - 1):xx + 2] * 0.45).astype(np.uint8)
    return draw


HAND = "/usr/share/fonts/truetype/arphic/ukai.ttc"  # AR PL UKai (楷体, a hand's strokes): scripts/setup.sh installs it


def written(text: str, q: int, rgb: tuple[int, int, int] = (30, 40, 150)) -> Draw:
    """``text`` written by hand just right of question ``q``'s answer cell, in the margin beside the
    table (a "否" next to a ✓ on 是: the person's correction in words)."""
    def draw(img: np.ndarray, lay: CardLayout, px: float) -> None:
        from PIL import Image, ImageDraw, ImageFont

        b, lb = box(lay, q, NO, px), lay.labels[(q, NO)]
        s = b[3] - b[1]
        layer = Image.new("L", (img.shape[1], img.shape[0]), 0)
        ImageDraw.Draw(layer).text((lb.x1 * px + 0.8 * s, b[1] - 0.3 * s), text, fill=255,
                                   font=ImageFont.truetype(HAND, round(1.6 * s)))
        a = np.asarray(layer, np.float32)[..., None] / 255
        img[:] = np.clip(img * (1 - a * (1 - np.array(rgb, np.float32) / 255)), 0, 255).astype(np.uint8)
    return draw


def odd_card(p: Printed, answers: dict[int, str | None], draw: Draw, cap: Capture, path: Path, seed: int = 5) -> Path:
    """The card ticked as ``answers`` says, ``draw`` added, captured as ``cap`` into ``path``."""
    from PIL import Image

    img = ticked(p, answers, cap.dpi)
    draw(img, p.layout, cap.dpi / PT_PER_INCH)
    got = capture(Image.fromarray(img), cap, np.random.default_rng(seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_capture([got.image], cap, path)


def two_cards(top: Printed, under: Printed, answers: dict[int, str | None], cap: Capture, path: Path,
              seed: int = 5) -> Path:
    """One photo of two ticked cards: ``top``, its QR scribbled over, lies over ``under``, shifted down by
    three tenths of a page and right by a seventh, so that ``under``'s table is hidden and only its top,
    with its readable QR, shows above ``top``."""
    from PIL import Image

    a = ticked(top, answers, cap.dpi, spoil_qr=True)
    b = ticked(under, answers, cap.dpi, seed=2)
    h, w = a.shape[:2]
    dx, dy = w // 7, 3 * h // 10
    desk = np.full((h + dy, w + dx, 3), 255, np.uint8)
    desk[:b.shape[0], :b.shape[1]] = b
    desk[dy:dy + h, dx:dx + w] = a
    got = capture(Image.fromarray(desk), cap, np.random.default_rng(seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_capture([got.image], cap, path)


__all__ = ["NO", "YES", "Capture", "Draw", "box", "line", "odd_card", "strike", "tick_across", "ticked", "two_cards", "written"]
