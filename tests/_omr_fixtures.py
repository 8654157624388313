"""Paper cards for the scan-reader unit tests (tests/test_omr.py): a generated card rendered like a printer would, marked
with a pen drawn by OpenCV where the card prints its boxes (found in the PDF by pdfium), and
scanned or photographed (turns, skew, noise, blur, JPEG, bilevel, perspective, uneven light)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from engine.render.pdfsplit import answer_boxes

INK_BLUE = (30, 40, 160)  # RGB
INK_BLACK = (20, 20, 20)
PENCIL = (150, 150, 150)


@dataclass(frozen=True)
class Printed:
    """A card page as printed at ``dpi``, with its boxes in pixels: {(question, 是/否): (x0, y0, x1, y1)}."""

    image: np.ndarray  # RGB
    dpi: int
    boxes: dict[tuple[int, str], tuple[int, int, int, int]]


def printed(pdf: Path, dpi: int = 200) -> Printed:
    doc = pdfium.PdfDocument(str(pdf))
    page = doc[0]
    _, h = page.get_size()
    f = dpi / 72
    img = np.asarray(page.render(scale=f, may_draw_forms=False).to_pil().convert("RGB")).copy()
    found = answer_boxes(page, 0)
    boxes = {}
    for k, b in enumerate(found):
        q = k // 2 + 1
        left, bottom, right, top = b.rect
        boxes[(q, b.option)] = (round(left * f), round((h - top) * f), round(right * f), round((h - bottom) * f))
    return Printed(img, dpi, boxes)


def mark(img: np.ndarray, box: tuple[int, int, int, int], how: str, color=INK_BLUE, width: float = 0.5,  # type: ignore[no-untyped-def]
         dpi: int = 200, rng: random.Random | None = None, label_box: tuple[int, int, int, int] | None = None) -> None:
    """Draw a person's mark on ``img`` in place: tick, cross, fill, ring (round box and label), scribble."""
    rng = rng or random.Random(0)
    x0, y0, x1, y1 = box
    s = x1 - x0
    t = max(1, round(width / 25.4 * dpi))
    j = lambda v: v + rng.uniform(-0.08, 0.08) * s  # noqa: E731
    if how == "tick":
        pts = [(j(x0 + 0.15 * s), j(y0 + 0.5 * s)), (j(x0 + 0.42 * s), j(y0 + 0.85 * s)), (j(x0 + 1.1 * s), j(y0 - 0.25 * s))]
        cv2.polylines(img, [np.int32(pts)], False, color, t, cv2.LINE_AA)
    elif how == "cross":
        cv2.line(img, (int(j(x0 + 0.1 * s)), int(j(y0 + 0.1 * s))), (int(j(x1 - 0.1 * s)), int(j(y1 - 0.1 * s))), color, t, cv2.LINE_AA)
        cv2.line(img, (int(j(x1 - 0.1 * s)), int(j(y0 + 0.1 * s))), (int(j(x0 + 0.1 * s)), int(j(y1 - 0.1 * s))), color, t, cv2.LINE_AA)
    elif how == "fill":
        cv2.rectangle(img, (x0 + 1, y0 + 1), (x1 - 1, y1 - 1), color, -1)
    elif how == "ring":
        lx1 = label_box[2] if label_box else x1 + s
        cx, cy = (x0 + lx1) / 2, (y0 + y1) / 2
        axes = (int((lx1 - x0) / 2 + 0.25 * s), int(0.5 * s + 0.3 * s))
        cv2.ellipse(img, (int(cx), int(cy)), axes, rng.uniform(-5, 5), 20, 380, color, t, cv2.LINE_AA)
    elif how == "scribble":  # a tick crossed out: a dense zigzag over the box
        pts = [(x0 + (k % 2) * s, y0 + k * s / 6) for k in range(7)]
        cv2.polylines(img, [np.int32(pts)], False, color, t, cv2.LINE_AA)
    elif how == "stray":  # a short stroke between the two options
        cv2.line(img, (x1 + round(1.6 * s), y0 + s // 2), (x1 + round(2.0 * s), y0 + s // 3), color, t, cv2.LINE_AA)
    else:
        raise ValueError(how)


def label_of(p: Printed, q: int, option: str) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = p.boxes[(q, option)]
    return (x1, y0, x1 + (x1 - x0), y1)


def mark_card(p: Printed, answers: dict[int, str | None], how: str = "tick", **kw) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The card ticked as ``answers`` says (是/否; None leaves the question blank; "both" marks both)."""
    img = p.image.copy()
    rng = random.Random(kw.pop("seed", 1))
    for q, a in answers.items():
        opts = ["是", "否"] if a == "both" else [] if a is None else [a]
        for o in opts:
            mark(img, p.boxes[(q, o)], how, rng=rng, dpi=p.dpi, label_box=label_of(p, q, o), **kw)
    return img


def scanned(img: np.ndarray, angle: float = 0.0, turns: int = 0, noise: float = 0.0, blur: int = 0) -> np.ndarray:
    """A flatbed scan: rotated by ``angle`` degrees (white around), turned, noisy, blurred."""
    h, w = img.shape[:2]
    if angle:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(255, 255, 255))
    if blur:
        img = cv2.GaussianBlur(img, (blur * 2 + 1, blur * 2 + 1), 0)
    if noise:
        rng = np.random.default_rng(3)
        img = np.clip(img.astype(np.float32) + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.rot90(img, turns)) if turns else img


def photographed(img: np.ndarray, tilt: float = 0.08, shadow: float = 0.35, seed: int = 2) -> np.ndarray:
    """A phone photo: the page on a darker desk, in perspective, lit unevenly."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    canvas_w, canvas_h = int(w * 1.3), int(h * 1.25)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    mx, my = canvas_w * 0.1, canvas_h * 0.08
    d = tilt * w
    dst = np.float32([[mx + d * rng.uniform(0, 1), my], [canvas_w - mx - d * rng.uniform(0, 1), my + d * 0.3],
                      [canvas_w - mx, canvas_h - my], [mx, canvas_h - my - d * 0.2]])
    m = cv2.getPerspectiveTransform(src, dst)
    desk = np.full((canvas_h, canvas_w, 3), (96, 80, 64), np.uint8)
    out = cv2.warpPerspective(img, m, (canvas_w, canvas_h), dst=desk, borderMode=cv2.BORDER_TRANSPARENT)
    yy, xx = np.mgrid[0:canvas_h, 0:canvas_w].astype(np.float32)
    light = 1.0 - shadow * (xx / canvas_w) * (yy / canvas_h)
    return np.clip(out.astype(np.float32) * light[..., None], 0, 255).astype(np.uint8)


def save(img: np.ndarray, path: Path, **kw) -> Path:  # type: ignore[no-untyped-def]
    Image.fromarray(img).save(path, **kw)
    return path


def random_answers(rng: random.Random, yes_share: float = 0.2) -> dict[int, str | None]:
    return {q: ("是" if rng.random() < yes_share else "否") for q in range(1, 11)}


__all__ = ["INK_BLACK", "INK_BLUE", "PENCIL", "Printed", "label_of", "mark", "mark_card", "math", "photographed", "printed", "random_answers", "save",
           "scanned"]
