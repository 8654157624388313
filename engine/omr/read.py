"""One scan file → one ``ScanCard`` per page: the steps of ``engine.omr`` put together."""

from __future__ import annotations

from pathlib import Path

from ..forms import QUESTION_NUMBERS, FormKey
from ..readback.common import (
    PROBLEM_OF_MARK,
    CardReading,
    MarkHow,
    ReadMethod,
)
from ..readback.image import decode_qr
from .model import MarkDecision, ScanCard, SerialSource
from .pages import Page, load_pages

# A card whose every question is decided at least this surely is filed without a person.
FILE_AT = 0.75
NOT_READ_WHY = "这是扫描件或照片，未能找到反馈卡的十个问题行（图片不完整、太模糊或不是反馈卡），请人工核对后用 ruqi confirm 录入。"


def read_scan(path: Path, key: bytes, content: str = "") -> list[ScanCard]:
    """Every card in a scan or photo (one per page of an image PDF or TIFF)."""
    return [read_page(p, key) for p in load_pages(path, content)]


def read_page(page: Page, key: bytes) -> ScanCard:
    payloads = decode_qr(page.image)
    questions = tuple(MarkDecision(i, None, MarkHow.NOT_FOUND, 0.0) for i in QUESTION_NUMBERS)
    reading = card_reading(payloads, key, questions, page.index)
    source = SerialSource.QR if reading.qr is not None else SerialSource.NONE
    return ScanCard(reading, page.index, questions, page.image, registered=False, serial_source=source)


def card_reading(payloads: list[str], key: bytes, questions: tuple[MarkDecision, ...], page: int,
                 found_table: bool = False) -> CardReading:
    r = CardReading(ReadMethod.IMAGE, is_card=False, qr_payloads=payloads, page=page, pages=1)
    r.resolve_serial("", key)
    r.is_card = r.qr is not None or found_table
    r.form = FormKey.CARD if r.is_card else ""
    for q in questions:
        r.answers[q.number] = q.answer
        r.marks[q.number] = q.mark
        r.answer_texts[q.number] = q.how.zh
        if q.answer is None:
            r.problems[q.number] = PROBLEM_OF_MARK.get(q.how, PROBLEM_OF_MARK[MarkHow.UNCLEAR])
    unresolved = [q.number for q in questions if q.answer is None]
    if unresolved:
        r.confidence = 0.0
        r.needs_review = review_reason(questions) if found_table else NOT_READ_WHY
    else:
        r.confidence = min(q.confidence for q in questions)
    return r


def review_reason(questions: tuple[MarkDecision, ...]) -> str:
    """Why a person must read the card, naming each unresolved question and what was seen there."""
    parts = [f"第{q.number}题{q.how.zh}" for q in questions if q.answer is None]
    return "扫描件或照片中，" + "、".join(parts) + "，机器不能确定回答。请对照原图人工核对后用 ruqi confirm 录入。"
