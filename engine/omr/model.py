"""What the scan reader decides, per box row and per card.

``MarkHow`` says how a question's answer was seen (a tick, a ring, nothing…), with the Chinese
label the review sheet prints; ``MarkDecision`` is one question's decision with its measured
confidence and where its answer row sits in the card image (what a person looks at to confirm);
``ScanCard`` is one card (one page of a scan) with its ``CardReading``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ..readback.common import CardReading, MarkHow, QuestionMark

if TYPE_CHECKING:
    from PIL import Image

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of ScanCard.image


class SerialSource(StrEnum):
    """Where the card's serial came from: the signed QR, the printed 检查编号 (OCR), or nowhere."""

    QR = "qr"
    OCR = "ocr"
    NONE = "none"

    @property
    def zh(self) -> str:
        return {SerialSource.QR: "二维码", SerialSource.OCR: "印刷编号（文字识别，签名未核验）", SerialSource.NONE: "无法识别"}[self]


@dataclass(frozen=True, slots=True)
class MarkDecision:
    """One question as the machine read it: ``answer`` is None unless decided with confidence."""

    number: int  # 1…10
    answer: str | None  # 是 / 否 / None
    how: MarkHow
    confidence: float  # 0…1: how sure the machine is of this decision
    yes_score: float = 0.0  # ink measured for the 是 box (0 blank … 1 filled/ringed)
    no_score: float = 0.0
    row_box: Box | None = None  # the answer row in ScanCard.image (None when the row was not found)

    @property
    def mark(self) -> QuestionMark:
        """What the card's reading keeps of this decision (``CardReading.marks``)."""
        return QuestionMark(self.how, self.confidence, self.yes_score, self.no_score)

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer, **self.mark.to_json(), "row_box": list(self.row_box) if self.row_box else None}


@dataclass(slots=True)
class ScanCard:
    """One card read from one page of a scan or photo."""

    reading: CardReading  # method IMAGE; answers only where decided
    page: int  # 0-based page of the file
    questions: tuple[MarkDecision, ...]  # ten, in order
    image: Image.Image  # the registered card page, or the page as decoded when it could not be registered
    registered: bool = False
    serial_source: SerialSource = SerialSource.NONE
    notes: list[str] = field(default_factory=list)  # developer notes on what failed (not shown to clerks)

    @property
    def unresolved(self) -> list[int]:
        return [q.number for q in self.questions if q.answer is None]


__all__ = ["Box", "MarkDecision", "MarkHow", "QuestionMark", "ScanCard", "SerialSource"]
