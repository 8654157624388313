"""Paper cards: the scan reader (engine.omr) on real renderings of generated cards, marked with a pen
drawn by OpenCV, then scanned or photographed (tests/_omr_fixtures.py)."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from _inbox_fixtures import KIT_KEY, kit, new_workspace
from _omr_fixtures import PENCIL, mark, mark_card, photographed, printed, random_answers, save, scanned
from PIL import Image

from engine.inbox import Status, ingest
from engine.inbox.examine import examine
from engine.omr import MarkHow, ScanCard, SerialSource, load_layouts, read_scan, record_layout
from engine.readback import ReadMethod
from engine.simulate_scan import PENS, Ambiguity, Capture, CardTruth, Mark, Pen, paper_card
from engine.workspace import Workspace

S1, S2 = "140200-2025-0001", "140200-2025-0002"
CLEAN = {q: "否" for q in range(1, 11)}
VIOLATION = {**CLEAN, 3: "是", 8: "是"}


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture(scope="module")
def card(cards: Path):  # type: ignore[no-untyped-def]
    return printed(cards / "0.pdf", 200)


def read_one(img: np.ndarray, path: Path, **save_kw) -> ScanCard:  # type: ignore[no-untyped-def]
    (c,) = read_scan(save(img, path, **save_kw), KIT_KEY)
    return c


def answers(c: ScanCard) -> dict[int, str | None]:
    return {q.number: q.answer for q in c.questions}


def test_a_scan_yields_one_card_with_ten_decisions_and_its_qr_serial(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = read_one(mark_card(card, VIOLATION), tmp_path / "scan.png")
    assert isinstance(c, ScanCard) and c.page == 0 and c.registered
    assert [q.number for q in c.questions] == list(range(1, 11))
    assert c.serial_source is SerialSource.QR and c.reading.serial == S1 and c.reading.qr_verified
    assert c.reading.method is ReadMethod.IMAGE and c.image.size[1] > c.image.size[0]
    assert answers(c) == VIOLATION and {q.how for q in c.questions} == {MarkHow.TICK}
    assert c.reading.answers == VIOLATION and c.reading.confidence >= 0.75 and not c.reading.needs_review
    assert set(c.reading.marks) == set(range(1, 11)) and c.reading.marks_json()["3"]["how"] == "tick"
    # The row a person needs to see is where the answer cell is, in the registered image.
    for q in c.questions:
        x0, y0, x1, y1 = q.row_box  # type: ignore[misc]
        assert 0 < x0 < x1 <= c.image.size[0] and 0 < y0 < y1 <= c.image.size[1] and y1 - y0 < 0.06 * c.image.size[1]


@pytest.mark.parametrize("how", ["tick", "cross", "fill", "ring"])
def test_each_kind_of_mark_is_read_on_a_crooked_noisy_scan(card, tmp_path: Path, how: str) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(how)
    for k, color in enumerate([(30, 40, 160), (20, 20, 20), (180, 30, 30)]):
        want = random_answers(rng, 0.3)
        img = scanned(mark_card(card, want, how, color=color, width=0.35 + 0.15 * k, seed=k),
                      angle=rng.uniform(-10, 10), turns=k, noise=8, blur=k % 2)
        c = read_one(img, tmp_path / f"{how}{k}.png")
        assert answers(c) == want, (how, k)
        assert {q.how for q in c.questions} == {MarkHow(how)}
        assert c.reading.serial == S1


def test_light_pencil_is_read_and_said_to_be_faint(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = read_one(mark_card(card, VIOLATION, "tick", color=PENCIL, width=0.3), tmp_path / "pencil.png")
    assert answers(c) == VIOLATION
    assert {q.how for q in c.questions} == {MarkHow.FAINT}


def test_every_ambiguous_row_is_left_to_a_person_naming_the_questions(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    img = mark_card(card, {**CLEAN, 2: "both", 5: None})
    rng = random.Random(3)
    # 7: a tick in 是 scribbled out, then 否 ticked; 9: a stray stroke between the boxes, nothing ticked.
    mark(img, card.boxes[(7, "是")], "scribble", rng=rng)
    mark(img, card.boxes[(9, "是")], "stray", rng=rng)
    img9 = card.boxes[(9, "否")]
    img[img9[1] + 2:img9[3] - 1, img9[0] + 2:img9[2] - 1] = card.image[img9[1] + 2:img9[3] - 1, img9[0] + 2:img9[2] - 1]
    c = read_one(img, tmp_path / "ambiguous.png")
    got = {q.number: q.how for q in c.questions if q.answer is None}
    assert got == {2: MarkHow.BOTH, 5: MarkHow.BLANK, 7: MarkHow.BOTH, 9: MarkHow.UNCLEAR} or \
        (set(got) == {2, 5, 7, 9} and got[2] is MarkHow.BOTH and got[5] is MarkHow.BLANK)
    assert c.reading.confidence < 0.5
    for n in (2, 5, 7, 9):
        assert f"第{n}题" in c.reading.needs_review
    assert all(c.reading.answers[n] == "否" for n in (1, 3, 4, 6, 8, 10))


def test_a_phone_photo_in_perspective_on_a_desk_is_read(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    photo = photographed(mark_card(card, VIOLATION, "tick", width=0.6), tilt=0.06, shadow=0.4)
    c = read_one(photo, tmp_path / "photo.jpg", quality=85)
    assert answers(c) == VIOLATION and c.reading.serial == S1


def test_exif_orientation_is_applied(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    img = Image.fromarray(np.ascontiguousarray(np.rot90(mark_card(card, VIOLATION), 1)))
    exif = Image.Exif()
    exif[0x0112] = 8  # the camera was turned: rotate 90° clockwise to view
    path = tmp_path / "exif.jpg"
    img.save(path, exif=exif, quality=90)
    (c,) = read_scan(path, KIT_KEY)
    assert answers(c) == VIOLATION


@pytest.mark.parametrize("dpi", [150, 300, 600])
def test_resolutions_from_150_to_600_dpi(cards: Path, tmp_path: Path, dpi: int) -> None:
    p = printed(cards / "0.pdf", dpi)
    c = read_one(scanned(mark_card(p, VIOLATION, "tick", width=0.5), angle=3), tmp_path / f"{dpi}.jpg", quality=80)
    assert answers(c) == VIOLATION


def test_a_bilevel_group4_tiff_from_a_fax_scanner(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    img = Image.fromarray(scanned(mark_card(card, VIOLATION, "cross", color=(0, 0, 0)), angle=-2)).convert("L")
    path = tmp_path / "fax.tif"
    img.point(lambda v: 255 if v > 160 else 0).convert("1").save(path, compression="group4", dpi=(200, 200))
    (c,) = read_scan(path, KIT_KEY)
    assert answers(c) == VIOLATION


def test_a_heic_photo(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    path = tmp_path / "IMG_0001.heic"
    Image.fromarray(mark_card(card, VIOLATION)).save(path, quality=90)
    (c,) = read_scan(path, KIT_KEY)
    assert answers(c) == VIOLATION and c.reading.serial == S1


def test_an_image_pdf_of_two_cards_yields_two_cards(cards: Path, card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "two.pdf"
    first = Image.fromarray(scanned(mark_card(card, VIOLATION), turns=2))
    second = Image.fromarray(mark_card(printed(cards / "1.pdf"), CLEAN))
    first.save(path, save_all=True, append_images=[second], resolution=200)
    read = read_scan(path, KIT_KEY, "pdf")
    assert [c.page for c in read] == [0, 1]
    assert [c.reading.serial for c in read] == [S1, S2]
    assert [answers(c) for c in read] == [VIOLATION, CLEAN]


def test_without_a_readable_qr_the_printed_serial_is_read_and_flagged(card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("tesseract") is None:
        pytest.skip("Tesseract (Debian tesseract-ocr) is not installed")
    import cv2

    img = mark_card(card, CLEAN)
    h, w = img.shape[:2]
    for k in range(6):  # the QR scribbled over
        cv2.line(img, (int(w * 0.78), int(h * (0.035 + 0.012 * k))), (int(w * 0.88), int(h * (0.05 + 0.01 * k))), (0, 0, 0), 9)
    c = read_one(img, tmp_path / "noqr.png")
    assert c.serial_source is SerialSource.OCR and c.reading.serial == S1 and not c.reading.qr_verified
    assert c.reading.serial_from_ocr and c.reading.confidence < 0.5 and "签名未核验" in c.reading.needs_review
    assert answers(c) == CLEAN


def test_a_layout_recorded_at_generation_reads_a_card_whose_every_row_is_ringed(cards: Path, card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert record_layout(root, cards / "0.pdf") is not None
    assert record_layout(root, cards / "1.pdf") is not None  # same template version: one file
    (lay,) = load_layouts(root)
    assert lay.boxes[0][0] < lay.boxes[1][0]
    img = mark_card(card, CLEAN, "ring", width=0.9, seed=0)
    path = save(img, tmp_path / "rings.png")
    (c,) = read_scan(path, KIT_KEY, layouts=[lay])
    assert answers(c) == CLEAN and {q.how for q in c.questions} == {MarkHow.RING}


# ---- marks people make that the machine must not misread (the simulator's pens and strokes) ------

MARKER = next(p for p in PENS if p.name == "black marker")


def _paper(cards: Path, path: Path, seed: int, **kw) -> tuple[CardTruth, ScanCard]:  # type: ignore[no-untyped-def]
    """Card 0 answered as ``VIOLATION``, marked by the simulator (engine.simulate_scan), scanned at 200 dpi."""
    truth = paper_card(cards / "0.pdf", path, VIOLATION, Capture(dpi=200, noise=2, skew=1.5), seed, **kw)
    (c,) = read_scan(path, KIT_KEY)
    return truth.cards[0], c


def _never_wrong(truth: CardTruth, c: ScanCard) -> int:
    """How many questions were read right; fails on any answer that differs from the card's."""
    right = 0
    for q in c.questions:
        want = truth.expected[str(q.number)]
        assert q.answer is None or q.answer == want, (q, truth.marks[str(q.number)])
        right += q.answer is not None and q.answer == want
    return right


@pytest.mark.parametrize(("mark", "pen"), [(Mark.RING_LABEL, PENS[0]), (Mark.RING_BOX, MARKER), (Mark.CROSS, MARKER)])
def test_rings_round_the_label_or_the_box_and_bold_crosses_are_read(cards: Path, tmp_path: Path, mark: Mark,  # type: ignore[no-untyped-def]
                                                                   pen: Pen) -> None:
    """A ring round 是/否 or its box is the answer, not a stroke between the options; so is a × whose
    marker arms reach into the gap.  Never a wrong answer; nearly every row read (the benchmark gives
    the exact share)."""
    right, hows = 0, set()
    for seed in range(3):
        truth, c = _paper(cards, tmp_path / f"{mark}-{seed}.png", seed, mark=mark, pen=pen)
        right += _never_wrong(truth, c)
        hows |= {q.how for q in c.questions if q.answer}
    assert right >= 27, right
    # Said as seen (a ring crossing the box may be said to be a tick, a marker's × to black it in).
    assert (MarkHow.RING if mark in (Mark.RING_LABEL, Mark.RING_BOX) else MarkHow.CROSS) in hows
    assert all(h.decided for h in hows)


AMBIGUOUS_ROWS = {2: Ambiguity.STRAY, 5: Ambiguity.CORRECTED, 7: Ambiguity.BOTH, 9: Ambiguity.STRAY}


@pytest.mark.parametrize("mark", [Mark.TICK, Mark.OVERSHOOT, Mark.CROSS, Mark.FILL])
@pytest.mark.parametrize("pen", [MARKER, PENS[0]], ids=["marker", "ballpoint"])
def test_a_stray_stroke_or_a_crossed_out_tick_beside_any_mark_goes_to_a_person(cards: Path, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                              mark: Mark, pen: Pen) -> None:
    """Whatever the mark and the pen, a stroke between the options, a tick scribbled out beside a new
    one, or both ticked leave the question to a person: a bold tick's end and a stray stroke beside it
    cover as many directions round the box as a ring, but enclose nothing."""
    truth, c = _paper(cards, tmp_path / "amb.png", 5, mark=mark, pen=pen, ambiguous=AMBIGUOUS_ROWS)
    _never_wrong(truth, c)
    assert set(AMBIGUOUS_ROWS) <= set(c.unresolved), [(q.number, q.how) for q in c.questions]
    assert {c.questions[q - 1].how for q in AMBIGUOUS_ROWS} <= {MarkHow.BETWEEN, MarkHow.BOTH, MarkHow.UNCLEAR}
    assert all(f"第{q}题" in c.reading.needs_review for q in AMBIGUOUS_ROWS)


# ---- through the inbox -------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=2)


def test_a_ticked_scan_is_filed_like_a_ticked_pdf_and_reports_its_marks(ws: Workspace, card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    save(scanned(mark_card(card, VIOLATION), angle=4, turns=2), ws.inbox / "扫描.jpg", quality=85)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.serial) == (Status.FILED, S1), o.findings.flatten("code", "message")
    assert o.answers == {str(k): v for k, v in VIOLATION.items()} and "VIOLATION" in o.flags
    line = o.to_json()
    assert line["marks"]["3"]["how"] == "tick" and line["marks"]["3"]["confidence"] >= 0.75
    json.dumps(line, ensure_ascii=False)


def test_an_unclear_scan_goes_to_review_naming_the_question(ws: Workspace, card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    save(mark_card(card, {**CLEAN, 4: "both"}), ws.inbox / "扫描.png")
    (o,) = ingest(ws).outcomes
    assert o.status is Status.NEEDS_REVIEW and o.answers["4"] is None and o.answers["1"] == "否"
    assert any("第4题" in m for (m,) in o.findings.flatten("message"))
    assert o.to_json()["marks"]["4"]["how"] == "both"


@pytest.mark.parametrize("what", ["blank", "receipt"])
def test_a_picture_that_is_not_a_card_is_rejected_with_a_reason(ws: Workspace, tmp_path: Path, what: str) -> None:
    import cv2

    img = np.full((2339, 1654, 3), 250, np.uint8)
    if what == "receipt":
        for k in range(30):
            cv2.putText(img, f"ITEM {k:02d} ...... {k * 3.5:6.2f}", (200, 300 + 50 * k), cv2.FONT_HERSHEY_SIMPLEX, 1.2,
                        (40, 40, 40), 2)
    path = save(img, tmp_path / f"{what}.jpg", quality=85)
    ex = examine(path, f"{what}.jpg", ws.root, ws.key, ws.config.limits)
    assert ex.rejected and [f.code for f in ex.findings] == ["NOT_A_CARD"]
    assert "不是入企检查监督反馈卡" in ex.findings[0].message
    shutil.copy(path, ws.inbox / f"{what}.jpg")
    (o,) = ingest(ws).outcomes
    assert o.status is Status.REJECTED and (ws.rejected / f"{what}.jpg").read_bytes() == path.read_bytes()


def test_mark_labels_are_chinese() -> None:
    assert MarkHow.TICK.zh == "打勾" and MarkHow.BOTH.zh == "两项都有标记"
    assert MarkHow.RING.decided and not MarkHow.UNCLEAR.decided


def test_a_heic_photo_is_accepted_and_archived_as_an_original(ws: Workspace, card, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pillow_heif = pytest.importorskip("pillow_heif")
    from engine import archive

    pillow_heif.register_heif_opener()
    path = tmp_path / "IMG_0002.HEIC"
    Image.fromarray(mark_card(card, CLEAN)).save(path, format="HEIF", quality=90)
    shutil.copy(path, ws.inbox / path.name)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.serial) == (Status.FILED, S1), o.findings.flatten("code", "message")
    item = archive.get_item(ws, o.archival_code)
    assert item is not None and item.format == "heic" and item.path.read_bytes() == path.read_bytes()
    assert item.extra["marks"]["1"]["how"] == "tick" and archive.verify(ws, deep=True).ok


def test_a_scan_of_two_cards_files_each_card_against_its_own_inspection(ws: Workspace, cards: Path, card,  # type: ignore[no-untyped-def]
                                                                         tmp_path: Path) -> None:
    path = ws.inbox / "两张.pdf"
    first = Image.fromarray(mark_card(card, CLEAN))
    second = Image.fromarray(mark_card(printed(cards / "1.pdf"), CLEAN))
    first.save(path, save_all=True, append_images=[second], resolution=200)
    outs = ingest(ws).outcomes  # one per card (tests/test_scan_stack.py has the cases of a stack)
    assert [(o.status, o.serial, o.page) for o in outs] == [(Status.FILED, S1, 1), (Status.FILED, S2, 2)]


# ---- hostile pictures: clear rejections, nothing lost, the inbox never blocks ----------------------


def _hostile_pictures(d: Path, card) -> dict[str, tuple[Path, str]]:  # type: ignore[no-untyped-def]
    import io

    out: dict[str, tuple[Path, str]] = {}
    big = d / "一亿像素.jpg"  # a 100-megapixel photo (a uniform one: small on disk)
    Image.new("L", (12_000, 8_400), 235).save(big, quality=50)
    out[big.name] = (big, "IMAGE_TOO_LARGE")
    bomb = d / "解压炸弹.png"  # 400 megapixels of one colour: a few hundred kB compressed
    Image.new("1", (20_000, 20_000), 1).save(bomb, optimize=True)
    out[bomb.name] = (bomb, "IMAGE_TOO_LARGE")
    full = io.BytesIO()
    Image.fromarray(mark_card(card, CLEAN)).save(full, format="JPEG", quality=85)
    cut = d / "截断.jpg"  # a card photo cut off in transfer
    cut.write_bytes(full.getvalue()[: len(full.getvalue()) * 2 // 3])
    out[cut.name] = (cut, "IMAGE_CORRUPT")
    pages = d / "三百页.pdf"  # a 300-page image PDF
    small = Image.fromarray(mark_card(card, CLEAN)).convert("L").resize((165, 234))
    small.save(pages, save_all=True, append_images=[small] * 299, resolution=20)
    out[pages.name] = (pages, "PDF_TOO_MANY_PAGES")
    return out


def test_hostile_pictures_are_rejected_clearly_and_the_good_scan_still_filed(ws: Workspace, card,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    hostile = _hostile_pictures(tmp_path, card)
    for name, (path, _) in hostile.items():
        shutil.copy(path, ws.inbox / name)
    save(scanned(mark_card(card, CLEAN), angle=2), ws.inbox / "正常扫描.png")
    by = ingest(ws).by_file()
    assert by["正常扫描.png"].status is Status.FILED
    for name, (path, code) in hostile.items():
        o = by[name]
        assert (o.status, o.findings.errors[0].code) == (Status.REJECTED, code), (name, o.findings.flatten("code"))
        assert (ws.root / o.location).read_bytes() == path.read_bytes()  # kept byte for byte, with its reason
        assert (ws.root / o.location).with_name(Path(o.location).name + ".reason.txt").exists()
    assert [p.name for p in ws.inbox.iterdir() if p.is_file()] == []
