"""Where the card prints its answer boxes, recorded when cards are generated.

``ruqi generate`` renders the card; ``record_layout`` (called once per generate run with the
first card PDF) registers that clean page like a scan and stores what the reader needs to know
about this template version in ``<workspace>/layouts/card-<version>.json``: the answers column's
width, the two boxes and labels in the answer cell, and the blank cell itself (print only, PNG).
``<version>`` is a digest of that content, so a template change gets a file of its own and an
unchanged template never writes twice.

The reader (``engine.omr.marks``) takes the boxes from the layout whose answers column fits the
scanned table, and the blank cell from it: a card whose every row carries the same ring or fill
is then still read (stacking its rows would take that mark for print).  Cards printed from the
Word version, or a workspace without layouts, are read by finding the boxes in the image.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import Box

if TYPE_CHECKING:
    import numpy as np

LAYOUT_DIR = "layouts"
_PREFIX = "card-"


@dataclass(frozen=True, slots=True)
class CardLayout:
    """One template version's answer cell, in registered-page pixels (``engine.omr.locate.PX_PER_MM``)."""

    version: str
    answer_width: int  # between the answers column's rules
    half: int  # half height of the blank band
    boxes: tuple[Box, Box]  # 是 box, 否 box, relative to the band (which starts 3 px right of the rule)
    labels: tuple[Box, Box]
    blank_png: bytes  # the blank band, 8-bit darkness ×255

    def blank(self) -> np.ndarray:
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(self.blank_png, np.uint8), cv2.IMREAD_GRAYSCALE)
        return img.astype(np.float32) / 255.0

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "answer_width": self.answer_width, "half": self.half,
                "boxes": [list(b) for b in self.boxes], "labels": [list(b) for b in self.labels],
                "blank_png": base64.b64encode(self.blank_png).decode()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CardLayout:
        def box(v: Any) -> Box:
            a, b, c, e = (int(x) for x in v)
            return (a, b, c, e)

        return cls(str(d["version"]), int(d["answer_width"]), int(d["half"]),
                   (box(d["boxes"][0]), box(d["boxes"][1])), (box(d["labels"][0]), box(d["labels"][1])),
                   base64.b64decode(d["blank_png"]))


def new_layout(answer_width: int, half: int, boxes: tuple[Box, Box], labels: tuple[Box, Box],
               blank: np.ndarray) -> CardLayout:
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", np.clip(blank * 255, 0, 255).astype(np.uint8))
    data = png.tobytes() if ok else b""
    digest = hashlib.sha256(json.dumps([answer_width, half, boxes, labels]).encode() + data).hexdigest()[:16]
    return CardLayout(digest, answer_width, half, boxes, labels, data)


def layout_dir(root: Path) -> Path:
    return root / LAYOUT_DIR


def save_layout(root: Path, layout: CardLayout) -> Path:
    """Write the layout once (its name is its digest); an existing file is left as it is."""
    d = layout_dir(root)
    path = d / f"{_PREFIX}{layout.version}.json"
    if not path.exists():
        d.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(layout.to_json(), ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    return path


def load_layouts(root: Path) -> list[CardLayout]:
    """Every recorded layout of this workspace, newest first (unreadable files are skipped)."""
    d = layout_dir(root)
    if not d.is_dir():
        return []
    files = sorted(d.glob(f"{_PREFIX}*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    out = []
    for p in files:
        try:
            out.append(CardLayout.from_json(json.loads(p.read_text(encoding="utf-8"))))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue
    return out
