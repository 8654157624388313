"""Paper cards: the scan reader (engine.omr) on real renderings of generated cards, marked with OpenCV."""

from __future__ import annotations

from pathlib import Path

import pytest
from _inbox_fixtures import KIT_KEY, kit

from engine.omr import MarkHow, ScanCard, SerialSource, read_scan
from engine.readback import ReadMethod

S1 = "140200-2025-0001"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


def page_image(pdf: Path, dpi: int = 200):  # type: ignore[no-untyped-def]
    import pypdfium2 as pdfium

    return pdfium.PdfDocument(str(pdf))[0].render(scale=dpi / 72).to_pil().convert("RGB")


def test_a_scan_yields_one_card_with_ten_decisions_and_its_qr_serial(cards: Path, tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    page_image(cards / "0.pdf").save(path)
    (card,) = read_scan(path, KIT_KEY)
    assert isinstance(card, ScanCard) and card.page == 0
    assert [q.number for q in card.questions] == list(range(1, 11))
    assert card.serial_source is SerialSource.QR and card.reading.serial == S1 and card.reading.qr_verified
    assert card.reading.method is ReadMethod.IMAGE and card.image.size[1] > card.image.size[0]
    assert set(card.reading.marks) == set(range(1, 11))


def test_an_image_pdf_of_two_cards_yields_two_cards(cards: Path, tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    first, second = page_image(cards / "0.pdf"), page_image(cards / "1.pdf")
    first.save(path, save_all=True, append_images=[second], resolution=200)
    read = read_scan(path, KIT_KEY, "pdf")
    assert [c.page for c in read] == [0, 1]
    assert [c.reading.serial for c in read] == [S1, "140200-2025-0002"]


def test_mark_labels_are_chinese() -> None:
    assert MarkHow.TICK.zh == "打勾" and MarkHow.BOTH.zh == "两项都有标记"
    assert MarkHow.RING.decided and not MarkHow.UNCLEAR.decided
