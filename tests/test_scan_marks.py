"""Deciding a box's mark (``engine.omr.marks``) where the plain measures fall short, on simulated paper cards.

Each file is one card printed from our PDF (or the Word version), every question marked the same way
(a few answered 是), then scanned or photographed (``engine.simulate_scan``); the truth comes from the
PDF, not from the reader.

- a box blacked in with a marker, whose ink runs on into the gap between 是 and □否: the ink is the
  box's, the question is answered (it was taken for a stroke between the options);
- a light pencil ✓: counted down to the page's own paper, not at a pen's threshold; but on a
  Group-4 fax whose threshold left a few dots of it (less than 20 % of the stroke: the simulator's
  truth calls the row ambiguous), the question goes to a person (the benchmark's seed 7 card-0053);
- a ring round the 是/否 label (or the box) that reaches past the middle of the gap, or merges with
  the printed boxes: a closed ring is all its option's;
- a bold × whose arm runs on out of the 否 box over the gap to the 是 label (a phone photo): the
  end of a diagonal through the box is that box's ink, not a stroke between the options;
- a ✓ drawn low at 600 dpi, its corner under the box and its long arm out through the side: the
  strokes reaching the box's middle are counted over its whole inside;
- and the rows a machine must not decide stay with a person: a stroke between the options drawn with
  a bold pen beside a ✓ (touching the 否 box, reaching the 是 label; on a Word-version card, turned
  and skewed, a marker's stray stroke from rule to rule joined to the ✓ shuts paper in with the
  print round the 否 box: no ring), both or neither ticked in pencil, a scribbled-out tick beside a
  ring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from _inbox_fixtures import KIT_KEY, SOFFICE
from _scan_fixtures import printed_cards

from engine.omr import ScanCard, load_layouts, read_scan, record_layout
from engine.readback.common import MarkHow
from engine.simulate_scan import (
    PENS,
    Ambiguity,
    Capture,
    CardPlan,
    FileTruth,
    Fmt,
    Mark,
    Pen,
    QuestionPlan,
    make_file,
)

MARKER = replace(PENS[4], width_mm=1.1)  # a black marker, pressed a little
GEL = replace(PENS[1], width_mm=0.6)  # a black gel pen
PHONE_150 = Capture(dpi=150, phone=True, perspective=0.05, shadow=0.3, noise=4, blur=1.0, fmt=Fmt.JPEG, quality=75)


@dataclass(frozen=True)
class Card:
    name: str
    cap: Capture
    mark: Mark
    pen: Pen = PENS[0]
    printed: str = "pdf0"
    yes: tuple[int, ...] = (3, 8)
    ambiguous: dict[int, Ambiguity] = field(default_factory=dict)
    how: MarkHow | None = None  # how every clear question must be read (None: any decided mark)
    seed: int = 4200
    odd: dict[int, Mark] = field(default_factory=dict)  # questions marked another way than ``mark``


CARDS = [
    # ink spilling into the gap from the 否 box
    Card("fill-marker-150.pdf", Capture(dpi=150, fmt=Fmt.PDF, noise=3, blur=0.8, skew=-2), Mark.FILL, MARKER, seed=4202),
    # light pencil
    Card("pencil-300.pdf", Capture(dpi=300, fmt=Fmt.PDF, noise=2, blur=0.5, skew=3, gray=True), Mark.PENCIL, seed=4203),
    Card("pencil-phone-250.jpg", replace(PHONE_150, dpi=250, blur=0.6, noise=3), Mark.PENCIL, seed=4204),
    # rings round the label or the box
    Card("ring-label-300.pdf", Capture(dpi=300, fmt=Fmt.PDF, noise=2, skew=-4), Mark.RING_LABEL, GEL, seed=4205),
    Card("ring-label-g4-200.tif", Capture(dpi=200, fmt=Fmt.TIFF_G4, skew=1.2), Mark.RING_LABEL, seed=4206),
    Card("ring-label-phone-200.jpg", replace(PHONE_150, dpi=200), Mark.RING_LABEL, PENS[2], seed=4207),
    Card("ring-box-word-200.png", Capture(dpi=200, noise=3, skew=1), Mark.RING_BOX, GEL, printed="word0",
         how=MarkHow.RING, seed=4208),
    # what must stay with a person
    Card("stray-gel-600.png", Capture(dpi=600, skew=-1), Mark.TICK, GEL, seed=4209,
         ambiguous={2: Ambiguity.STRAY, 5: Ambiguity.STRAY, 7: Ambiguity.STRAY, 10: Ambiguity.STRAY}),
    Card("stray-marker-300.jpg", Capture(dpi=300, fmt=Fmt.JPEG, quality=70, noise=3), Mark.TICK, MARKER, seed=4210,
         ambiguous={1: Ambiguity.STRAY, 4: Ambiguity.STRAY, 6: Ambiguity.STRAY, 9: Ambiguity.STRAY}),
    Card("stray-marker-phone-150.jpg", PHONE_150, Mark.CROSS, MARKER, seed=4211,
         ambiguous={2: Ambiguity.STRAY, 3: Ambiguity.STRAY, 7: Ambiguity.STRAY, 8: Ambiguity.STRAY}),
    Card("pencil-ambiguous-300.png", Capture(dpi=300, noise=2, blur=0.5), Mark.PENCIL, seed=4212,
         ambiguous={2: Ambiguity.NONE, 5: Ambiguity.BOTH, 9: Ambiguity.NONE}),
    Card("ring-ambiguous-200.png", Capture(dpi=200, noise=2, skew=2), Mark.RING_LABEL, GEL, seed=4213,
         ambiguous={1: Ambiguity.CORRECTED, 4: Ambiguity.STRAY, 6: Ambiguity.BOTH}),
    # the card of the benchmark's seed 99 (card-0275) whose stray stroke beside a ✓ was taken for a ring
    Card("stray-marker-word-turned-200.png", Capture(dpi=200, skew=8.2129857609964, turns=1, noise=4.316775216707717,
                                                     blur=0.5384210877165961), Mark.RING_LABEL,
         replace(PENS[4], width_mm=1.139), printed="word0", yes=(3,), odd={3: Mark.TICK}, seed=512696626,
         ambiguous={6: Ambiguity.STRAY, 9: Ambiguity.CORRECTED}),
    # a bold × reaching over the gap to the 是 label; a ✓ drawn low at 600 dpi
    Card("cross-marker-phone-150.jpg", Capture(dpi=150, phone=True, skew=-8.0, perspective=0.059, shadow=0.385,
                                               noise=3.1, blur=0.38, fmt=Fmt.JPEG, quality=86), Mark.CROSS,
         replace(PENS[4], width_mm=0.866), yes=(4,), seed=4323),
    Card("overshoot-red-600.png", Capture(dpi=600, skew=-7.3, noise=4.4, blur=0.43), Mark.OVERSHOOT,
         replace(PENS[2], width_mm=0.411), yes=(2,), seed=4327),
]


# Pencil ✓s that a 200 dpi Group-4 fax, skewed as seed 7's card-0053, cut down to 10–21 % of their
# stroke: the old reader took the dots' blurred rims for faint ticks and decided 4 of these rows.
ERASED = Card("pencil-nearly-erased-g4-200.tif", Capture(dpi=200, fmt=Fmt.TIFF_G4, skew=-8.7, noise=2.7, blur=0.51),
              Mark.PENCIL, seed=3)


def _plan(card: Card, serial: str) -> CardPlan:
    qs = []
    for n in range(1, 11):
        amb = card.ambiguous.get(n)
        intended = None if amb is Ambiguity.NONE else ("是" if n in card.yes else "否")
        qs.append(QuestionPlan(n, intended, card.odd.get(n, card.mark), amb))
    return CardPlan(serial, tuple(qs), card.pen)


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[FileTruth, list[ScanCard]]]:
    printed = printed_cards(tmp_path_factory)
    out = tmp_path_factory.mktemp("scan-marks")
    # What ``ruqi generate`` records of our cards (the Word version has none: its boxes are found in the image).
    for key in ("pdf0", "pdf1"):
        record_layout(out / "layouts", Path(printed[key].layout.pdf))
    layouts = load_layouts(out / "layouts")
    got = {}
    for card in [*CARDS, ERASED]:
        if card.printed not in printed:
            continue
        p = printed[card.printed]
        truth = make_file([(p, _plan(card, p.layout.serial))], card.cap, out / card.name, seed=card.seed)
        got[card.name] = (truth, read_scan(out / card.name, KIT_KEY, layouts=layouts))
    return got


def _get(read: dict[str, tuple[FileTruth, list[ScanCard]]], name: str) -> tuple[FileTruth, ScanCard]:
    if name not in read:
        assert not SOFFICE, name
        pytest.skip("LibreOffice (soffice) is not installed: no card printed from the Word version")
    truth, cards = read[name]
    assert len(cards) == 1 and cards[0].registered, name
    return truth, cards[0]


CLEAR = [c for c in CARDS if not c.ambiguous]
AMBIGUOUS = [c for c in CARDS if c.ambiguous]


@pytest.mark.parametrize("card", CLEAR, ids=[c.name for c in CLEAR])
def test_every_question_is_read_with_its_mark(read, card: Card) -> None:  # type: ignore[no-untyped-def]
    truth, scan = _get(read, card.name)
    ct = truth.cards[0]
    got = {q.number: q.answer for q in scan.questions}
    assert got == {int(q): a for q, a in ct.expected.items()}, [
        (q.number, str(q.how), round(q.yes_score, 2), round(q.no_score, 2)) for q in scan.questions if q.answer is None]
    assert all(q.confidence >= 0.75 for q in scan.questions)
    if card.how is not None:
        assert {q.how for q in scan.questions} == {card.how}
    assert all(q.how.decided for q in scan.questions) and not scan.unresolved
    assert scan.reading.serial == ct.serial  # from the QR, or from the printed 检查编号 where a blurred photo hides it


@pytest.mark.parametrize("card", AMBIGUOUS, ids=[c.name for c in AMBIGUOUS])
def test_rows_a_machine_must_not_decide_go_to_a_person(read, card: Card) -> None:  # type: ignore[no-untyped-def]
    truth, scan = _get(read, card.name)
    ct = truth.cards[0]
    for q in ct.unresolved:
        assert q in scan.unresolved, (q, ct.marks[str(q)], scan.questions[q - 1])
        assert f"第{q}题" in scan.reading.needs_review
    for q in scan.questions:  # the others: answered right, or left to a person too, never wrong
        assert q.answer in (None, ct.expected[str(q.number)]), (q, ct.marks[str(q.number)])


def test_a_pencil_tick_a_fax_nearly_erased_goes_to_a_person(read) -> None:  # type: ignore[no-untyped-def]
    truth, scan = _get(read, ERASED.name)
    ct = truth.cards[0]
    assert len(ct.erased) >= 5  # the fax really cut most ticks down to a few dots
    for q in scan.questions:
        expected = ct.expected[str(q.number)]
        if expected is None:  # a few dots: a person looks at the paper, the machine does not guess
            assert q.answer is None and f"第{q.number}题" in scan.reading.needs_review, (q, ct.survival[str(q.number)])
        else:
            assert q.answer in (None, expected), q


def test_a_black_and_white_scan_is_told_from_a_grey_one(tmp_path: Path) -> None:
    """``Page.bilevel`` (the rule above applies to it only): a Group-4 TIFF, and a scan-to-PDF page that
    is one 1-bit picture, are bilevel; a grey scan, as PNG or PDF, is not."""
    from PIL import Image

    from engine.omr.pages import iter_pages

    bw, grey = Image.new("1", (850, 1100), 1), Image.new("L", (850, 1100), 235)
    bw.save(tmp_path / "fax.tif", compression="group4", dpi=(100, 100))
    bw.save(tmp_path / "fax.pdf", resolution=100)
    grey.save(tmp_path / "scan.png", dpi=(100, 100))
    grey.save(tmp_path / "scan.pdf", resolution=100)
    got = {name: [p.bilevel for p in iter_pages(tmp_path / name)] for name in ("fax.tif", "fax.pdf", "scan.png", "scan.pdf")}
    assert got == {"fax.tif": [True], "fax.pdf": [True], "scan.png": [False], "scan.pdf": [False]}
