"""One scan file → one ``ScanCard`` per page: the steps of ``engine.omr`` put together."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ..forms import QUESTION_NUMBERS, FormKey
from ..readback.common import (
    PROBLEM_OF_MARK,
    CardReading,
    MarkHow,
    ReadMethod,
)
from ..readback.image import decode_qr, decode_qr_at
from .checks import checked
from .layout import CardLayout, new_layout, save_layout
from .locate import PX_PER_MM, Registration, locate, register
from .marks import cell_geometry, decide_rows
from .model import MarkDecision, ScanCard, SerialSource
from .pages import Page, iter_pages
from .serial import read_printed_serial

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

class Step(StrEnum):
    """The step of reading a page that failed (``ScanCard.notes``, for developers and the benchmark)."""

    NOT_REGISTERED = "not registered"  # followed by locate's Miss
    NO_BOXES = "boxes not found"  # the table registered, the answer cell's two boxes not found
    NO_QR = "no QR read"
    QR_NOT_OURS = "QR read, not a signed serial"
    NO_PRINTED_SERIAL = "printed serial not read"


NOT_FOUND_WHY = "这是扫描件或照片，未能找到反馈卡的十个问题行（图片不完整、太模糊或拍摄角度过大），请对照原图人工核对后用 ruqi confirm 录入。"
OCR_SERIAL_WHY = ("二维码无法识别，检查编号 {serial} 是从卡上印刷的文字识别出来的，二维码签名未核验。"
                  "请核对编号与原图一致后再确认。")


def read_scan(path: Path, key: bytes, content: str = "", layouts: Sequence[CardLayout] = ()) -> list[ScanCard]:
    """Every card in a scan or photo (one per page of an image PDF or a multi-page TIFF)."""
    return list(iter_scan(path, key, content, layouts))


def iter_scan(path: Path, key: bytes, content: str = "", layouts: Sequence[CardLayout] = ()) -> Iterator[ScanCard]:
    """``read_scan`` one page at a time: the caller keeps what it needs of each page and lets its
    images go (a stack of cards read in bounded memory)."""
    for p in iter_pages(path, content):
        yield read_page(p, key, layouts)


def read_page(page: Page, key: bytes, layouts: Sequence[CardLayout] = ()) -> ScanCard:
    import numpy as np
    from PIL import Image

    rgb = np.asarray(page.image)
    located = locate(rgb)
    reg = located if isinstance(located, Registration) else None
    notes = [] if reg is not None else [f"{Step.NOT_REGISTERED}: {located}"]
    geo = cell_geometry(reg, layouts) if reg is not None else None
    decisions = checked(reg, decide_rows(reg, geo, page.bilevel), geo) if reg is not None and geo is not None else None
    found = decisions is not None
    if reg is not None and not found:
        notes.append(Step.NO_BOXES)
    questions = decisions or tuple(MarkDecision(i, None, MarkHow.NOT_FOUND, 0.0) for i in QUESTION_NUMBERS)
    image = Image.fromarray(reg.image) if reg is not None else page.image
    # The QR is looked for in the registered page first (upright, flat), then in the picture as sent:
    # there only where this card prints it (a photo of two cards may show the other card's QR).
    payloads = (_qr(reg.image) or _qr_on_card(page.image, reg)) if reg is not None else decode_qr(page.image)
    reading = card_reading(payloads, key, questions, page.index, found)
    source = SerialSource.QR if reading.qr is not None else SerialSource.NONE
    if reading.qr is None:
        notes.append(Step.NO_QR if not payloads else Step.QR_NOT_OURS)
    if reading.qr is None and reg is not None:
        printed = read_printed_serial(reg.image)
        if printed:
            reading.serial = reading.printed_serial = printed
            reading.serial_from_ocr = True
            source = SerialSource.OCR
            reading.confidence = 0.0
            reading.needs_review = " ".join(x for x in (OCR_SERIAL_WHY.format(serial=printed), _unresolved_why(questions)) if x)
        else:
            notes.append(Step.NO_PRINTED_SERIAL)
    return ScanCard(reading, page.index, questions, image, registered=reg is not None, serial_source=source,
                    notes=notes)


def _qr(page: np.ndarray) -> list[str]:
    """The QR texts in the registered page: its top band, where every card prints the QR (cheaper).

    A soft picture (a blurred 150 dpi phone photo) leaves the QR's modules a few grey pixels: the
    band is then sharpened, and its right half (where the QR sits) enlarged, before giving up."""
    import cv2
    import zxingcpp

    def read(img: np.ndarray) -> list[str]:
        return [r.text for r in zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode) if r.text]

    band = page[: page.shape[0] // QR_BAND]
    found = read(band)
    if found:
        return found
    gray = cv2.cvtColor(band, cv2.COLOR_RGB2GRAY)
    found = read(cv2.addWeighted(gray, 2.0, cv2.GaussianBlur(gray, (0, 0), 2), -1.0, 0))
    if found:
        return found
    right = gray[:, gray.shape[1] // 2:]
    return read(cv2.resize(right, None, fx=QR_ENLARGE, fy=QR_ENLARGE, interpolation=cv2.INTER_CUBIC))


QR_ENLARGE = 1.5  # a module of a soft QR 1.5× larger: zxing's binariser finds its edges
QR_BAND = 5  # the card prints its QR in the registered page's top 1/5 (``_qr`` reads that band)


def _qr_on_card(picture: Image.Image, reg: Registration) -> list[str]:
    """The QR texts found in the picture as sent whose centre lies, mapped onto the registered page,
    in its top band, where this card prints its QR.  A QR elsewhere is another card's (two cards in
    one photo), or none of this card's: it is not this card's serial."""
    import cv2
    import numpy as np

    found = decode_qr_at(picture)
    if not found or reg.warp is None:
        return []
    centres = np.float32([c for _, c in found]).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(centres, reg.warp).reshape(-1, 2)
    h, w = reg.image.shape[:2]
    return [text for (text, _), (x, y) in zip(found, mapped, strict=True)
            if 0 <= x < w and 0 <= y < h // QR_BAND]


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
    if not found_table:
        r.confidence = 0.0
        r.needs_review = NOT_FOUND_WHY
    elif any(q.answer is None for q in questions):
        r.confidence = 0.0
        r.needs_review = _unresolved_why(questions)
    else:
        r.confidence = min(q.confidence for q in questions)
    return r


def _unresolved_why(questions: tuple[MarkDecision, ...]) -> str:
    """Why a person must read the card, naming each unresolved question and what was seen there."""
    parts = [f"第{q.number}题{q.how.zh}" for q in questions if q.answer is None]
    if not parts:
        return ""
    return "扫描件或照片中" + "、".join(parts) + "，机器不能确定回答。请对照原图人工核对后用 ruqi confirm 录入。"


def record_layout(root: Path, card_pdf: Path) -> Path | None:
    """Record where a generated card prints its boxes (``engine.omr.layout``); None if it could not be."""
    import numpy as np
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(card_pdf))
    try:
        page = doc[0]
        img = page.render(scale=PX_PER_MM * 25.4 / 72, may_draw_forms=True).to_pil().convert("RGB")
        page.close()
    finally:
        doc.close()
    reg = register(np.asarray(img))
    geo = cell_geometry(reg) if reg is not None else None
    if reg is None or geo is None:
        return None
    xa, xb = reg.answer_x
    return save_layout(root, new_layout(xb - xa, geo.half, geo.boxes, geo.labels, geo.blank))
