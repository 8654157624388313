"""Reading returned cards made the way enterprises make them, from the cards the engine generates."""

from __future__ import annotations

from pathlib import Path

import pytest
from _inbox_fixtures import (
    ANSWERS_BAD,
    ANSWERS_CLEAN,
    ANSWERS_VIOLATION,
    KIT_KEY,
    SOFFICE,
    fill_docx,
    kit,
    libreoffice_pdfs,
    tick_pdf,
)

from engine.readback import AnswerProblem, ReadMethod, read_card
from engine.readback.pdf_text import layout

SERIAL = "140200-2025-0001"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


def answers_of(values: dict[int, str]) -> dict[int, str | None]:
    return {i: values.get(i) if values.get(i) in ("是", "否") else None for i in range(1, 11)}


@pytest.mark.parametrize(
    ("style", "mark"),
    [("tick", "☑"), ("tick", "√"), ("tick", "✓"), ("tick", "■"), ("tick", "☒"), ("delete", ""), ("type", "")],
)
def test_docx_filled_in_word(cards: Path, tmp_path: Path, style: str, mark: str) -> None:
    filled = fill_docx(cards / "0.docx", tmp_path / "returned.docx", ANSWERS_VIOLATION, style=style, mark=mark or "☑")
    r = read_card(filled, "docx", KIT_KEY)
    assert (r.method, r.serial, r.qr is not None and r.qr.valid) == (ReadMethod.DOCX, SERIAL, True)
    assert (r.answers, r.problems) == (answers_of(ANSWERS_VIOLATION), {})
    assert (r.head, r.position, r.phone) == ("张三", "矿长", "0352-1234567")


def test_docx_with_blank_and_double_answers(cards: Path, tmp_path: Path) -> None:
    r = read_card(fill_docx(cards / "0.docx", tmp_path / "r.docx", ANSWERS_BAD), "docx", KIT_KEY)
    assert r.problems == {5: AnswerProblem.NONE, 7: AnswerProblem.BOTH}
    assert r.answers == answers_of(ANSWERS_BAD)


def test_blank_generated_docx_reads_as_unanswered(cards: Path) -> None:
    r = read_card(cards / "0.docx", "docx", KIT_KEY)
    assert set(r.problems.values()) == {AnswerProblem.NONE} and len(r.problems) == 10
    assert r.enterprise and (r.head, r.phone) == ("", "")


def test_pdf_ticked_in_a_pdf_reader(cards: Path, tmp_path: Path) -> None:
    ticked = tick_pdf(cards / "0.pdf", tmp_path / "ticked.pdf", ANSWERS_VIOLATION)
    r = read_card(ticked, "pdf", KIT_KEY)
    assert (r.method, r.serial, r.qr is not None and r.qr.valid) == (ReadMethod.PDF_FORM, SERIAL, True)
    assert (r.answers, r.problems) == (answers_of(ANSWERS_VIOLATION), {})


def test_pdf_ticked_twice_or_not_at_all(cards: Path, tmp_path: Path) -> None:
    r = read_card(tick_pdf(cards / "0.pdf", tmp_path / "t.pdf", ANSWERS_BAD), "pdf", KIT_KEY)
    assert r.problems == {5: AnswerProblem.NONE, 7: AnswerProblem.BOTH}


@pytest.fixture(scope="module")
def lo_pdfs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if not SOFFICE:
        pytest.skip("LibreOffice (soffice) is not installed: docx→PDF exports cannot be made")
    return libreoffice_pdfs(tmp_path_factory)


@pytest.mark.parametrize("variant", ["tick", "check", "delete", "typed"])
def test_pdf_exported_by_libreoffice(lo_pdfs: dict[str, Path], variant: str) -> None:
    expected = ANSWERS_CLEAN if variant in ("check", "delete") else ANSWERS_VIOLATION
    r = read_card(lo_pdfs[variant], "pdf", KIT_KEY)
    assert (r.method, r.serial, r.qr is not None and r.qr.valid) == (ReadMethod.PDF_TEXT, SERIAL, True)
    assert (r.answers, r.problems) == (answers_of(expected), {})
    assert (r.head, r.position, r.phone) == ("张三", "矿长", "0352-1234567")
    assert r.enterprise.startswith("大同市")


def test_libreoffice_pdf_with_blank_and_double_answers(lo_pdfs: dict[str, Path]) -> None:
    r = read_card(lo_pdfs["bad"], "pdf", KIT_KEY)
    assert r.problems == {5: AnswerProblem.NONE, 7: AnswerProblem.BOTH}


def test_pdfium_and_pdfplumber_see_the_same_card(lo_pdfs: dict[str, Path]) -> None:
    fast, slow = layout(lo_pdfs["tick"]), layout(lo_pdfs["tick"], engine="pdfplumber")
    texts = [{i: "".join(g.text for g in row.answer_glyphs) for i, row in lay.rows.items()} for lay in (fast, slow)]
    assert texts[0] == texts[1] and len(texts[0]) == 10
    assert fast.header() == slow.header()


def test_photo_of_a_card_is_for_review_with_its_serial(cards: Path, tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(str(cards / "0.pdf"))[0]
    photo = tmp_path / "photo.jpg"
    page.render(scale=200 / 72).to_pil().convert("RGB").save(photo, quality=85)
    scan_pdf = tmp_path / "scan.pdf"
    page.render(scale=150 / 72).to_pil().convert("L").save(scan_pdf, "PDF", resolution=150)
    for path, content in ((photo, "image"), (scan_pdf, "pdf")):
        r = read_card(path, content, KIT_KEY)
        assert (r.method, r.serial, r.is_card) == (ReadMethod.IMAGE, SERIAL, True)
        assert r.needs_review and set(r.answers.values()) <= {None}


def test_foreign_key_and_unknown_serial_are_read_as_printed(cards: Path) -> None:
    forged = read_card(cards / "forged.docx", "docx", KIT_KEY)
    assert (forged.serial, forged.qr is not None and forged.qr.valid) == (SERIAL, False)
    unknown = read_card(cards / "unknown.docx", "docx", KIT_KEY)
    assert (unknown.serial, unknown.qr is not None and unknown.qr.valid) == ("140200-2025-0099", True)


def test_a_photo_pasted_into_word_is_a_scan_with_its_serial(cards: Path, tmp_path: Path) -> None:
    import docx
    import pypdfium2 as pdfium

    photo = tmp_path / "photo.png"
    pdfium.PdfDocument(str(cards / "0.pdf"))[0].render(scale=150 / 72).to_pil().save(photo)
    d = docx.Document()
    d.add_paragraph("反馈卡见下图。")
    d.add_picture(str(photo))
    d.save(str(tmp_path / "pasted.docx"))
    r = read_card(tmp_path / "pasted.docx", "docx", KIT_KEY)
    assert (r.method, r.serial, r.is_card) == (ReadMethod.IMAGE, SERIAL, True) and "照片" in r.needs_review
