"""The paper-card simulator tells the truth: boxes where the PDF prints them, marks where the truth
says, degradations as named, the same files for the same seed.

These check the simulator against the printed PDF and the pixels it writes, never against the
reader it is meant to test (``engine.omr``).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from _inbox_fixtures import SOFFICE, kit
from _scan_fixtures import SPECS, make_spec, printed_cards, scan_corpus

from engine.simulate_scan import (
    NO,
    PENS,
    QUESTIONS,
    YES,
    Ambiguity,
    Capture,
    CardLayout,
    FileTruth,
    Fmt,
    Mark,
    Printed,
    Rect,
    draw_card,
    find_layout,
    make_corpus,
    plan_card,
    render_page,
)

DPI = 200
PX = DPI / 72


@pytest.fixture(scope="session")
def cards(tmp_path_factory) -> dict[str, Printed]:  # type: ignore[no-untyped-def]
    return printed_cards(tmp_path_factory)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> list[tuple[Path, FileTruth]]:  # type: ignore[no-untyped-def]
    return scan_corpus(tmp_path_factory)


# ---------------------------------------------------------------- where the boxes are


def _widget_rects(pdf: Path) -> dict[tuple[int, str], Rect]:
    """The AcroForm checkbox of each answer, as the renderer placed it (top-left origin)."""
    from pypdf import PdfReader

    page = PdfReader(str(pdf)).pages[0]
    height = float(page.mediabox.height)
    out = {}
    for ref in page.get("/Annots", []):
        a = ref.get_object()
        name = str(a.get("/T", ""))
        if name.startswith("q") and "_" in name:
            q, opt = name[1:].split("_")
            x0, y0, x1, y1 = (float(v) for v in a["/Rect"])
            out[(int(q), YES if opt == "yes" else NO)] = Rect(x0, height - y1, x1, height - y0)
    return out


def test_boxes_found_in_our_pdf_sit_on_its_checkbox_fields(cards: dict[str, Printed]) -> None:
    lay = cards["pdf0"].layout
    widgets = _widget_rects(Path(lay.pdf))
    assert lay.serial == "140200-2025-0001"
    assert len(lay.boxes) == len(widgets) == 2 * QUESTIONS
    for k, box in lay.boxes.items():
        w = widgets[k]
        assert abs(box.cx - w.cx) < 1.5 and abs(box.cy - w.cy) < 1.5, (k, box, w)
        assert 8 < box.w < 14 and abs(box.w - box.h) < 1.5, (k, box)  # the printed □, not its em box


def test_boxes_found_on_the_word_version_printed_by_libreoffice(cards: dict[str, Printed]) -> None:
    if "word0" not in cards:
        pytest.skip("LibreOffice (soffice) is not installed: the Word version cannot be printed to PDF")
    word, ours = cards["word0"].layout, cards["pdf0"].layout
    assert word.serial == ours.serial
    tops = [word.boxes[(q, YES)].y0 for q in range(1, QUESTIONS + 1)]
    assert tops == sorted(tops) and len(set(tops)) == QUESTIONS
    for q in range(1, QUESTIONS + 1):
        yes, no = word.boxes[(q, YES)], word.boxes[(q, NO)]
        assert yes.x1 < word.labels[(q, YES)].x0 <= word.labels[(q, YES)].x1 < no.x0 < word.labels[(q, NO)].x0
        assert abs(yes.cy - no.cy) < 1
    # another layout: the rows do not sit where our PDF prints them
    assert max(abs(word.boxes[(q, YES)].cy - ours.boxes[(q, YES)].cy) for q in range(1, QUESTIONS + 1)) > 5


def test_a_pdf_without_the_ten_rows_is_refused(tmp_path: Path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    from engine.simulate_scan import LayoutError

    notice = next(p for p in (kit(tmp_path_factory) / "r0").glob("*.pdf") if "通知书" in p.name)
    with pytest.raises(LayoutError):
        find_layout(notice)


# ---------------------------------------------------------------- the marks


def _pen_ink(layout: CardLayout, marks: list[Mark] | None = None, amb: dict[int, Ambiguity] | None = None,
             seed: int = 3) -> tuple[np.ndarray, object]:
    """How much darker each pixel got by the marks (0–255), and the plan drawn."""
    rng = np.random.default_rng(seed)
    clean = render_page(Path(layout.pdf), layout.page, DPI)
    plan = plan_card(layout.serial, rng, yes_rate=0.3, ambiguous=amb, pen=PENS[0])
    if marks:
        plan = replace(plan, questions=tuple(replace(q, mark=marks[i % len(marks)]) for i, q in enumerate(plan.questions)))
    marked = draw_card(clean, layout, plan, DPI, rng)
    diff = np.asarray(clean.convert("L"), np.int16) - np.asarray(marked.convert("L"), np.int16)
    return np.clip(diff, 0, 255), plan


def _ink_in(diff: np.ndarray, r: Rect, grow: float = 0.0, shrink: float = 0.0) -> float:
    """Share of pixels inside ``r`` (grown or shrunk by a share of its width) the pen darkened."""
    g = (grow - shrink) * r.w
    x0, y0, x1, y1 = (int(round(v * PX)) for v in (r.x0 - g, r.y0 - g, r.x1 + g, r.y1 + g))
    return float((diff[y0:y1, x0:x1] > 30).mean())


@pytest.mark.parametrize("mark", list(Mark))
def test_each_mark_is_drawn_on_the_intended_option_only(cards: dict[str, Printed], mark: Mark) -> None:
    lay = cards["pdf0"].layout
    diff, plan = _pen_ink(lay, [mark])
    for q in plan.questions:
        other = NO if q.intended == YES else YES
        here = lay.labels[(q.number, q.intended)] if mark is Mark.RING_LABEL else lay.boxes[(q.number, q.intended)]
        assert _ink_in(diff, here, grow=0.5) > 0.02, (mark, q)
        assert _ink_in(diff, lay.boxes[(q.number, other)], shrink=0.1) == 0, (mark, q)
        box = lay.boxes[(q.number, q.intended)]
        if mark is Mark.FILL:
            assert _ink_in(diff, box, shrink=0.15) > 0.6
        if mark in (Mark.RING_BOX, Mark.RING_LABEL):
            assert _ink_in(diff, here, shrink=0.2) == 0  # a ring leaves the inside empty
        if mark is Mark.OVERSHOOT:  # ink well beyond the box's top edge
            x0, x1 = int(box.x0 * PX), int((box.x1 + box.w) * PX)
            assert (diff[int((box.y0 - 0.8 * box.h) * PX):int((box.y0 - 0.3 * box.h) * PX), x0:x1] > 30).any()
    if mark is Mark.PENCIL:  # light: never as dark as a pen
        pen_diff, _ = _pen_ink(lay, [Mark.TICK])
        assert diff.max() < 0.8 * pen_diff.max()


def test_ambiguous_rows_are_drawn_as_named(cards: dict[str, Printed]) -> None:
    lay = cards["pdf0"].layout
    amb = {2: Ambiguity.BOTH, 4: Ambiguity.NONE, 6: Ambiguity.CORRECTED, 8: Ambiguity.STRAY}
    diff, plan = _pen_ink(lay, [Mark.TICK], amb)
    box = lay.boxes
    assert all(_ink_in(diff, box[(2, o)], grow=0.2) > 0.03 for o in (YES, NO))
    assert _ink_in(diff, lay.row(4), grow=0.05) == 0
    q6 = next(q for q in plan.questions if q.number == 6)
    old = box[(6, NO if q6.intended == YES else YES)]
    assert _ink_in(diff, old) > 2 * _ink_in(diff, box[(6, q6.intended)]) > 0  # scribbled over, then a new ✓
    q8 = next(q for q in plan.questions if q.number == 8)
    gap = Rect(lay.labels[(8, YES)].x1, box[(8, NO)].y0, box[(8, NO)].x0, box[(8, NO)].y1)
    assert _ink_in(diff, gap) > 0.05  # the stray stroke between 是 and □否
    assert _ink_in(diff, box[(8, q8.intended)], grow=0.2) > 0.03  # beside a ✓ in the intended box
    assert _ink_in(diff, box[(8, NO if q8.intended == YES else YES)], shrink=0.1) == 0
    for q in plan.questions:
        assert (q.expected is None) == (q.number in amb)


def test_a_spoiled_qr_cannot_be_decoded_and_the_truth_says_so(cards: dict[str, Printed]) -> None:
    import zxingcpp

    for key in ("pdf0", "word0"):
        if key not in cards:
            continue
        lay = cards[key].layout
        assert lay.qr is not None and lay.qr.y1 < lay.boxes[(1, YES)].y0  # the QR, at the top
        rng = np.random.default_rng(2)
        plan = plan_card(lay.serial, rng)
        clean = render_page(Path(lay.pdf), 0, DPI)
        fine = draw_card(clean, lay, plan, DPI, rng)
        spoiled = draw_card(clean, lay, replace(plan, spoil_qr=True), DPI, rng)
        assert [r.text for r in zxingcpp.read_barcodes(fine)]  # the marks leave the QR readable
        assert not zxingcpp.read_barcodes(spoiled), key
        from engine.simulate_scan import card_truth

        assert card_truth(replace(plan, spoil_qr=True), 1, "pdf").qr_spoiled


# ---------------------------------------------------------------- the corpus and its truth


def test_the_corpus_covers_every_mark_ambiguity_and_capture(corpus: list[tuple[Path, FileTruth]]) -> None:
    marks = {m for _, t in corpus for c in t.cards for m in c.marks.values()}
    assert {str(m) for m in Mark} | {str(a) for a in Ambiguity} <= marks
    caps = [t.capture for _, t in corpus]
    assert {c["fmt"] for c in caps} == {str(f) for f in Fmt}
    assert {c["turns"] for c in caps} == {0, 1, 2, 3}
    assert {150, 600} <= {c["dpi"] for c in caps}
    assert max(abs(c["skew"]) for c in caps) == 10
    assert any(c["exif"] for c in caps) and any(c["phone"] for c in caps)
    assert any(len(t.cards) > 1 for _, t in corpus)
    assert any(c.qr_spoiled for _, t in corpus for c in t.cards)
    if SOFFICE:
        assert any(c.source == "word" for _, t in corpus for c in t.cards)
    for path, t in corpus:
        assert path.exists() and t.file == path.name
        for c in t.cards:
            assert set(c.expected) == {str(q) for q in range(1, QUESTIONS + 1)}
            assert {q for q, a in c.expected.items() if a is None} == set(c.why), t.file
            assert all(c.intended[q] == a for q, a in c.expected.items() if a is not None)
            assert c.clear == (not c.unresolved)


def _open(path: Path) -> list:  # type: ignore[type-arg]
    """The pictures a file holds, as a viewer shows them (EXIF orientation applied)."""
    from PIL import Image, ImageOps

    if path.suffix == ".pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        return [doc[i].render(scale=1).to_pil() for i in range(len(doc))]
    if path.suffix == ".heic":
        import pillow_heif

        pillow_heif.register_heif_opener()
    with Image.open(path) as im:
        return [ImageOps.exif_transpose(im).copy()]


def _turns_back(img, clean, margin: float = 0.0) -> int:  # type: ignore[no-untyped-def]
    """How many quarter turns counter-clockwise bring ``img`` closest to the clean page (correlation);
    ``margin``: the share of each side that is not the page (a photo's desk)."""
    def small(a: np.ndarray, m: float = 0.0) -> np.ndarray:
        from PIL import Image

        h, w = a.shape
        a = a[int(m * h):h - int(m * h), int(m * w):w - int(m * w)]
        v = np.asarray(Image.fromarray(a).resize((60, 85)), np.float32)
        return (v - v.mean()) / (v.std() + 1e-6)

    ref = small(np.asarray(clean.convert("L")))
    a = np.asarray(img.convert("L"))
    scores = [float((small(np.rot90(a, k), margin) * ref).mean()) for k in range(4)]
    return int(np.argmax(scores))


def _skew(img) -> float:  # type: ignore[no-untyped-def]
    """The angle (degrees, counter-clockwise) of the page's long horizontal rules."""
    import cv2

    g = np.asarray(img.convert("L"))
    edges = cv2.Canny(g, 50, 150)
    lines = cv2.HoughLinesP(edges, 1, np.pi / 1800, threshold=200, minLineLength=g.shape[1] // 3, maxLineGap=6)
    angles = [np.degrees(np.arctan2(-(y1 - y0), x1 - x0)) if x1 >= x0 else np.degrees(np.arctan2(y1 - y0, x0 - x1))
              for x0, y0, x1, y1 in lines.reshape(-1, 4)]
    return float(np.median([a for a in angles if abs(a) < 15]))


def test_degradations_are_what_the_truth_says(corpus: list[tuple[Path, FileTruth]], cards: dict[str, Printed]) -> None:
    from PIL import Image

    by_serial_source = {(p.layout.serial, p.source): p for p in cards.values()}
    for path, t in corpus:
        cap = Capture(**{**t.capture, "fmt": Fmt(t.capture["fmt"])})
        pages = _open(path)
        assert len(pages) == len(t.cards), t.file
        printed = by_serial_source[(t.cards[0].serial, t.cards[0].source)]
        clean = _rendered_small(printed)
        shown = pages[0]
        back = -(0 if cap.exif else cap.turns) % 4  # a viewer applies EXIF; other files show the turned pixels
        assert _turns_back(shown, clean, 0.1 if cap.phone else 0.0) == back, (t.file, cap.turns)
        upright = shown.rotate(90 * back, expand=True)
        if not cap.phone and cap.fmt is not Fmt.PDF:
            w, h = printed.layout.width * cap.dpi / 72, printed.layout.height * cap.dpi / 72
            assert abs(upright.size[0] - w) <= 1 and abs(upright.size[1] - h) <= 1, t.file
            with Image.open(path) as raw:
                assert round(raw.info["dpi"][0]) == cap.dpi
        if abs(cap.skew) >= 1 and not cap.phone:
            assert abs(_skew(upright) - cap.skew) < 0.6, (t.file, _skew(upright), cap.skew)
        if cap.phone:  # the desk shows round the page: brown, not white paper
            a = np.asarray(upright.convert("RGB"), np.float32)
            corner = a[: a.shape[0] // 40, : a.shape[1] // 40].reshape(-1, 3).mean(axis=0)
            assert corner[0] > corner[2] + 20 and corner.mean() < 200, (t.file, corner)
        if cap.fmt is Fmt.TIFF_G4:
            with Image.open(path) as raw:
                assert raw.mode == "1" and raw.info["compression"] == "group4"
        if cap.fmt is Fmt.PDF:
            import pypdfium2 as pdfium

            doc = pdfium.PdfDocument(str(path))
            for page in doc:
                assert page.get_textpage().count_chars() == 0  # image-only, as scan-to-PDF makes it
                assert {o.type for o in page.get_objects()} == {pdfium.raw.FPDF_PAGEOBJ_IMAGE}
        if cap.fmt is Fmt.HEIC:
            assert path.read_bytes()[4:12] in (b"ftypheic", b"ftypmif1")
        if cap.noise >= 3 and not cap.phone and cap.fmt is Fmt.PNG and not cap.blur:
            a = np.asarray(upright.convert("L"), np.float32)
            assert a[10:60, 10:60].std() > cap.noise / 2  # the blank margin carries the sensor noise


def _rendered_small(p: Printed):  # type: ignore[no-untyped-def]
    return render_page(Path(p.layout.pdf), p.layout.page, 30)


def test_the_same_seed_makes_the_same_files(tmp_path: Path, cards: dict[str, Printed]) -> None:
    spec = next(s for s in SPECS if s.name == "mark-mixed.jpg")
    phone = next(s for s in SPECS if s.name == "phone.jpg")
    for s in (spec, phone):
        a = make_spec(s, cards, tmp_path / "a", seed=5)
        b = make_spec(s, cards, tmp_path / "b", seed=5)
        c = make_spec(s, cards, tmp_path / "c", seed=6)
        assert (tmp_path / "a" / s.name).read_bytes() == (tmp_path / "b" / s.name).read_bytes()
        assert a == b
        assert (tmp_path / "a" / s.name).read_bytes() != (tmp_path / "c" / s.name).read_bytes()
        assert a.cards[0].marks != c.cards[0].marks or a.cards[0].pen != c.cards[0].pen or a.capture == c.capture


def test_a_random_corpus_has_the_count_asked_and_truth_for_each_card(tmp_path: Path, cards: dict[str, Printed]) -> None:
    made = make_corpus([cards["pdf0"], cards["pdf1"]], tmp_path / "c", count=12, seed=4, dpi=100)
    assert sum(len(t.cards) for _, t in made) == 12
    assert all(p.exists() and (tmp_path / "c" / "truth" / f"{p.name}.json").exists() for p, _ in made)
    assert [FileTruth.load(tmp_path / "c" / "truth" / f"{p.name}.json") for p, _ in made] == [t for _, t in made]
    assert any(not c.clear for _, t in made for c in t.cards) and any(c.clear for _, t in made for c in t.cards)
    shutil.rmtree(tmp_path / "c")


def test_paper_card_marks_the_answers_given(tmp_path: Path, cards: dict[str, Printed]) -> None:
    from engine.simulate_scan import paper_card

    t = paper_card(Path(cards["pdf1"].layout.pdf), tmp_path / "card.png", {2: YES}, Capture(dpi=150), seed=1,
                   ambiguous={6: Ambiguity.CORRECTED, 7: Ambiguity.NONE})
    (c,) = t.cards
    assert c.serial == "140200-2025-0002" and c.source == "pdf"
    assert c.expected == {**{str(q): NO for q in range(1, 11)}, "2": YES, "6": None, "7": None}
    assert c.intended["6"] == NO and c.intended["7"] is None and c.unresolved == [6, 7]
    assert (tmp_path / "card.png").exists()


# ---------------------------------------------------------------- what survives in the file is the truth


def _box_ink_in_file(path: Path, layout: CardLayout, dpi: int, q: int, opt: str) -> float:
    """Share of dark pixels inside the inner half of a printed box, read from the file's own pixels
    (an upright, unskewed capture: the PDF's points map straight onto them)."""
    from PIL import Image

    with Image.open(path) as im:
        g = np.asarray(im.convert("L"))
    b = layout.boxes[(q, opt)]
    s = dpi / 72
    x0, x1 = int((b.x0 + 0.25 * b.w) * s), int((b.x1 - 0.25 * b.w) * s)
    y0, y1 = int((b.y0 + 0.25 * b.h) * s), int((b.y1 - 0.25 * b.h) * s)
    return float((g[y0:y1, x0:x1] < 128).mean())


def test_a_pencil_tick_a_group4_fax_cut_away_is_a_row_for_a_person(tmp_path: Path, cards: dict[str, Printed]) -> None:
    from engine.simulate_scan import ERASED_WHY, MIN_SURVIVAL, paper_card

    lay = cards["pdf0"].layout
    cap = Capture(dpi=300, fmt=Fmt.TIFF_G4, blur=0.7)
    t = paper_card(Path(lay.pdf), tmp_path / "fax.tif", {3: YES}, cap, seed=2, mark=Mark.PENCIL)
    (c,) = t.cards
    # The file itself: nothing left inside the ticked boxes, as in the boxes nobody ticked.
    assert _box_ink_in_file(tmp_path / "fax.tif", lay, 300, 3, YES) < 0.02
    assert max(_box_ink_in_file(tmp_path / "fax.tif", lay, 300, q, NO) for q in range(4, 11)) < 0.02
    # …so the truth has nothing ticked there: a person must read every row, nothing is "clear".
    assert not c.clear and c.unresolved == list(range(1, QUESTIONS + 1))
    assert all(c.expected[str(q)] is None and c.why[str(q)] == ERASED_WHY for q in range(1, QUESTIONS + 1))
    assert c.erased == {str(q): str(Mark.PENCIL) for q in range(1, QUESTIONS + 1)}
    assert c.intended["3"] == YES and c.marks["3"] == str(Ambiguity.NONE)
    assert max(c.survival.values()) < MIN_SURVIVAL


def test_a_pen_tick_on_a_group4_fax_stays_clear(tmp_path: Path, cards: dict[str, Printed]) -> None:
    from engine.simulate_scan import MIN_SURVIVAL, paper_card

    lay = cards["pdf0"].layout
    cap = Capture(dpi=300, fmt=Fmt.TIFF_G4, blur=0.7)
    t = paper_card(Path(lay.pdf), tmp_path / "fax.tif", {3: YES}, cap, seed=2, mark=Mark.TICK, pen=PENS[0])
    (c,) = t.cards
    assert _box_ink_in_file(tmp_path / "fax.tif", lay, 300, 3, YES) > 0.05  # the tick is in the file
    assert c.clear and not c.erased
    assert c.expected == {**{str(q): NO for q in range(1, QUESTIONS + 1)}, "3": YES}
    assert min(c.survival.values()) > 2 * MIN_SURVIVAL


@pytest.mark.parametrize("cap", [Capture(dpi=200, gray=True, noise=3, blur=0.6),
                                 Capture(dpi=150, gray=True, fmt=Fmt.JPEG, quality=60, skew=4, turns=2),
                                 Capture(dpi=200, phone=True, perspective=0.05, shadow=0.4, noise=3, blur=0.8,
                                         fmt=Fmt.JPEG, quality=75, skew=-5)],
                         ids=["gray-png", "gray-jpeg-turned", "phone"])
def test_a_pencil_tick_on_a_gray_scan_or_photo_stays_clear(tmp_path: Path, cards: dict[str, Printed],
                                                           cap: Capture) -> None:
    from engine.simulate_scan import MIN_SURVIVAL, paper_card

    lay = cards["pdf0"].layout
    t = paper_card(Path(lay.pdf), tmp_path / f"card.{cap.fmt}", {3: YES}, cap, seed=2, mark=Mark.PENCIL)
    (c,) = t.cards
    assert c.clear and not c.erased
    assert c.expected == {**{str(q): NO for q in range(1, QUESTIONS + 1)}, "3": YES}
    assert min(c.survival.values()) > MIN_SURVIVAL
