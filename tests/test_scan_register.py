"""Registration of hard pictures: soft 150 dpi photos and scans, the Word version's hairline rules,
steep phone photos, and cards whose every row carries the same mark.

Each file is a card printed from the kit (our PDF or the Word version via LibreOffice), marked and
captured by ``engine.simulate_scan`` with the degradations of a card the benchmark's corpus once
sent to a person although it is clear (``benchmarks/bench_scans.py --misses``).  Each must now be
registered and filed with the card's answers and its QR-signed serial; a picture that holds no card
says which step failed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from _inbox_fixtures import KIT_KEY, SOFFICE, kit
from _scan_fixtures import Spec, make_spec, printed_cards

from engine.omr import CardLayout, ScanCard, load_layouts, read_scan, record_layout
from engine.omr.locate import Miss
from engine.omr.read import Step
from engine.simulate_scan import Capture, FileTruth, Fmt, Mark, Sheet, make_file

SOFT_150 = Capture(dpi=150, blur=0.98, noise=1.7, skew=-4.1)
PHONE = Capture(phone=True, fmt=Fmt.JPEG)

SPECS = [
    # The Word version's hairline rules break at the usual ink level in a soft 150 dpi picture.
    Spec("word-150-soft.png", SOFT_150, cards=("word0",), marks=(Mark.TICK, Mark.OVERSHOOT), pen=1),
    Spec("word-150-soft-ring.png", replace(SOFT_150, blur=0.74, noise=3.7, skew=3.4), cards=("word0",),
         marks=(Mark.OVERSHOOT, Mark.RING_LABEL), pen=0, yes=(4,)),
    Spec("word-150-soft.pdf", Capture(dpi=150, blur=1.0, noise=0.6, skew=0.7, fmt=Fmt.PDF), cards=("word0",),
         marks=(Mark.CROSS,), pen=0),
    Spec("word-phone-150.jpg", replace(PHONE, dpi=150, skew=-7.6, noise=4.0, blur=0.83, quality=77,
                                       perspective=0.039, shadow=0.2), cards=("word0",), marks=(Mark.TICK,), pen=0),
    Spec("word-phone-150-steep.jpg", replace(PHONE, dpi=150, skew=-10.0, noise=2.2, blur=0.92, quality=81,
                                             perspective=0.051, shadow=0.42), cards=("word0",),
         marks=(Mark.FILL, Mark.TICK), pen=5),
    # A blurred (σ 1.2 px) 150 dpi phone photo of the Word version: its hairline rules are ~0.15 dark on the
    # registered page, below the usual rule ink (the benchmark's seed-12 ``card-0400.jpg``).
    Spec("word-phone-150-blurred.jpg", replace(PHONE, dpi=150, skew=4.5, noise=5.2, blur=1.18, quality=88,
                                               perspective=0.075, shadow=0.35), cards=("word0",),
         marks=(Mark.CROSS,), pen=5),
    # The Word version with the same bold tick over every row's 否 box: the box is found by its four sides.
    Spec("word-every-row-overshoot.jpg", Capture(dpi=300, skew=-4.8, noise=1.0, blur=0.32, fmt=Fmt.JPEG, quality=67,
                                                 gray=True), cards=("word0",), marks=(Mark.OVERSHOOT,), pen=4),
    # A steep photo: the table's frame found a little too tall takes in the next table's top rule.
    Spec("phone-250-steep.jpg", replace(PHONE, dpi=250, skew=6.2, noise=2.1, blur=0.16, quality=63,
                                        perspective=0.08, shadow=0.18), marks=(Mark.TICK,), pen=1),
    # A soft 150 dpi photo: the QR's modules are a few grey pixels.
    Spec("phone-150-soft-qr.jpg", replace(PHONE, dpi=150, skew=-8.0, turns=1, noise=4.7, blur=1.05, quality=79,
                                          perspective=0.077, shadow=0.44), marks=(Mark.OVERSHOOT,), pen=5),
    # Every row ringed in a soft scan: the recorded layout must still fit the faint print.
    Spec("ring-every-row-soft.png", Capture(dpi=200, skew=3.7, turns=2, noise=1.7, blur=0.82, gray=True),
         marks=(Mark.RING_LABEL,), pen=4),
]


# Seeds whose pen strokes and noise make the case (the others fail on the old reader with any seed).
SEEDS = {"phone-250-steep.jpg": 32, "word-every-row-overshoot.jpg": 1, "phone-150-soft-qr.jpg": 1, "ring-every-row-soft.png": 6}


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory) -> list[CardLayout]:
    """What ``ruqi generate`` records of the kit's card."""
    root = tmp_path_factory.mktemp("layouts")
    record_layout(root, kit(tmp_path_factory) / "0.pdf")
    return load_layouts(root)


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory, layouts: list[CardLayout]
         ) -> dict[str, tuple[FileTruth, list[ScanCard]]]:
    out = tmp_path_factory.mktemp("scan-register")
    cards = printed_cards(tmp_path_factory)
    got = {}
    for i, spec in enumerate(SPECS):
        if all(c in cards for c in spec.cards):
            truth = make_spec(spec, cards, out, seed=SEEDS.get(spec.name, 4100 + i))
            got[spec.name] = (truth, read_scan(out / spec.name, KIT_KEY, layouts=layouts))
    return got


@pytest.mark.parametrize("name", [s.name for s in SPECS])
def test_hard_picture_is_registered_and_filed(read, name: str) -> None:  # type: ignore[no-untyped-def]
    if name not in read:
        assert not SOFFICE
        pytest.skip("LibreOffice (soffice) is not installed: no card printed from the Word version")
    truth, cards = read[name]
    (ct,), (card,) = truth.cards, cards
    assert ct.clear
    assert card.registered, (name, card.notes)
    got = {q.number: q.answer for q in card.questions}
    assert got == {int(q): a for q, a in ct.expected.items()}, (name, card.notes, [
        (q.number, q.how, q.yes_score, q.no_score) for q in card.questions if q.answer is None])
    assert card.reading.serial == ct.serial and card.reading.qr is not None, (name, card.notes)
    assert not card.reading.needs_review and not card.notes


def test_a_page_without_a_card_says_which_step_failed(tmp_path: Path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """A covering note scanned with the cards: no ruled frame, no QR; the notes say so (for developers)."""
    cards = printed_cards(tmp_path_factory)
    path = tmp_path / "letter.png"
    make_file([Sheet.LETTER, (cards["pdf0"], _plan(cards))], Capture(dpi=150, fmt=Fmt.PDF), path.with_suffix(".pdf"), 3)
    letter, card = read_scan(path.with_suffix(".pdf"), KIT_KEY)
    assert not letter.registered
    assert letter.notes[0] == f"{Step.NOT_REGISTERED}: {Miss.NO_FRAME}" and Step.NO_QR in letter.notes
    assert card.registered and card.notes == []


def _plan(cards):  # type: ignore[no-untyped-def]
    import numpy as np

    from engine.simulate_scan import plan_card

    return plan_card(cards["pdf0"].layout.serial, np.random.default_rng(5), marks=(Mark.TICK,), yes_rate=0.0)


def test_rings_lined_up_down_the_answers_column_are_not_a_column_rule(tmp_path: Path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """A soft 150 dpi phone photo of the Word version, a bold marker ring round 否 on nine rows (the
    benchmark's seed-99 ``card-0215.jpg``): the rings touch from row to row into a vertical run as long
    as a rule.  Taken for the answers column's left rule, it cut the column in two and no boxes were
    found; a column rule runs through the header row too, the rings never do."""
    import numpy as np

    from engine.omr.locate import locate
    from engine.omr.pages import load_pages
    from engine.simulate_scan import NO, PENS, YES, CardPlan, QuestionPlan

    cards = printed_cards(tmp_path_factory)
    if "word0" not in cards:
        assert not SOFFICE
        pytest.skip("LibreOffice (soffice) is not installed: no card printed from the Word version")
    word = cards["word0"]
    cap = Capture(dpi=150, phone=True, skew=1.8, noise=5.0, blur=0.53, fmt=Fmt.JPEG, quality=61, perspective=0.022,
                  shadow=0.1)
    marker = replace(PENS[4], width_mm=1.134)
    rings = CardPlan(word.layout.serial, tuple(QuestionPlan(n, YES if n == 5 else NO, Mark.RING_BOX)
                                               for n in range(1, 11)), marker)
    truth = make_file([(word, rings)], cap, tmp_path / "rings.jpg", seed=1)
    make_file([(word, CardPlan(word.layout.serial, (), marker))], cap, tmp_path / "bare.jpg", seed=1)  # nothing drawn

    def columns(path: Path) -> list[int]:
        reg = locate(np.asarray(load_pages(path)[0].image))
        assert not isinstance(reg, Miss), (path.name, reg)
        return reg.rules_x

    ringed, unmarked = columns(tmp_path / "rings.jpg"), columns(tmp_path / "bare.jpg")
    assert len(ringed) == len(unmarked) and max(abs(a - b) for a, b in zip(ringed, unmarked, strict=True)) <= 4
    (card,) = read_scan(tmp_path / "rings.jpg", KIT_KEY)
    (ct,) = truth.cards
    assert ct.clear and card.registered and Step.NO_BOXES not in card.notes, card.notes
    decided = {q.number: q.answer for q in card.questions if q.answer is not None}
    assert len(decided) >= 8 and all(a == ct.expected[str(q)] for q, a in decided.items()), (decided, ct.expected)
