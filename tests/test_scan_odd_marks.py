"""Marks people really make that the simulator does not draw (``_odd_marks_fixtures``), on our PDF card and
on the Word version, scanned at 200 dpi and photographed: each question is read as the person clearly
meant it, or left to a person naming it; never filed with an answer a person would not give.

- a line struck down the 是 (or 否) column through all ten boxes, straight or wandering: every box holds
  a line as long as a tick's (and the straight one, as long as a rule, was masked as ruling, the rows
  read blank); no row is that line's answer: every row goes to a person, saying why;
- a ✓ on 是 and "否" (or "改为否") written beside the table next to it: the person corrected it in words;
  the row goes to a person (it was filed 是);
- a "—" in every 是 (or 否) box, level or rising 15°: a dash may mean "this one" or "nothing here";
  every row goes to a person, saying so (ten 是 were filed);
- a phone photo of two cards, the one read with its QR scribbled over, the other's QR readable above it:
  only a QR where this card prints its own counts; the card is not filed under the other's serial.

(One ✓ drawn across the rule between two questions, ``_odd_marks_fixtures.tick_across``, is still read
as the lower row's answer: README, issue 12, "Marks the simulator does not draw".)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from _inbox_fixtures import KIT_KEY, SOFFICE
from _odd_marks_fixtures import NO, YES, Capture, Draw, crease, dashes, odd_card, strike, two_cards, written
from _scan_fixtures import printed_cards

from engine.omr import ScanCard, load_layouts, read_scan, record_layout
from engine.readback.common import MarkHow
from engine.readback.image import decode_qr
from engine.simulate_scan import Fmt

SCAN = Capture(dpi=200, noise=2, skew=1.5)
PHONE = Capture(dpi=200, phone=True, perspective=0.05, shadow=0.3, noise=3, blur=0.7, fmt=Fmt.JPEG, quality=85)
ALL = tuple(range(1, 11))
NONE: dict[int, str | None] = {q: None for q in ALL}
ALL_NO: dict[int, str | None] = {q: NO for q in ALL}


@dataclass(frozen=True)
class Odd:
    name: str
    draw: Draw
    ticks: dict[int, str | None]  # the ✓ drawn besides (None: the row left blank)
    to_person: tuple[int, ...]  # questions that must go to a person
    meant: dict[int, str] = field(default_factory=dict)  # what the person meant elsewhere (a filed answer must be it)
    why: MarkHow = MarkHow.ACROSS  # what the rows left to a person say


ODD = [
    Odd("strike-yes-column", strike(YES), NONE, ALL),
    Odd("strike-no-column", strike(NO), NONE, ALL),
    Odd("strike-yes-column-wandering", strike(YES, drift=0.3), NONE, ALL),
    Odd("yes-ticked-no-written-beside", written("否", 2), {**ALL_NO, 2: YES}, (2,), {q: NO for q in ALL if q != 2},
        MarkHow.BESIDE),
    Odd("yes-ticked-note-beside", written("改为否", 7), {**ALL_NO, 7: YES}, (7,), {q: NO for q in ALL if q != 7},
        MarkHow.BESIDE),
    Odd("dash-in-every-yes-box", dashes(YES), NONE, ALL, why=MarkHow.DASH),
    Odd("dash-in-every-no-box", dashes(NO), NONE, ALL, why=MarkHow.DASH),
    Odd("dash-rising-in-every-yes-box", dashes(YES, tilt=15), NONE, ALL, why=MarkHow.DASH),
]
# A fold's crease or a scanner's streak from edge to edge of the sheet, joined to the table's frame
# (the card was not registered at all): scanned, the card is read; a crease through a row's boxes
# leaves that row to a person.  (Photographed, the crease also joins the sheet's outline against the
# desk and the card still goes to a person whole: README, issue 12.)
CREASED = [
    Odd("crease-across-row-5", crease(5, rise=6), ALL_NO, (5,), {q: NO for q in ALL if q != 5}, MarkHow.BOTH),
    Odd("crease-down-the-questions", crease(x_mm=100, rise=4), ALL_NO, (), {q: NO for q in ALL}),
    Odd("crease-down-the-numbers", crease(x_mm=60), ALL_NO, (), {q: NO for q in ALL}),
]
FILES = [(odd, printed, how, cap) for odd in ODD for printed in ("pdf0", "word0")
         for how, cap in (("scan.png", SCAN), ("phone.jpg", PHONE))]
FILES += [(odd, printed, "scan.png", SCAN) for odd in CREASED for printed in ("pdf0", "word0")]


def _name(odd: Odd, printed: str, how: str) -> str:
    return f"{odd.name}-{printed}-{how}"


@pytest.fixture(scope="module")
def read(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[ScanCard]]:
    printed = printed_cards(tmp_path_factory)
    out = tmp_path_factory.mktemp("odd-marks")
    for key in ("pdf0", "pdf1"):  # what ``ruqi generate`` records of our cards
        record_layout(out / "ws", Path(printed[key].layout.pdf))
    layouts = load_layouts(out / "ws")
    got = {}
    for odd, key, how, cap in FILES:
        if key not in printed:
            continue
        path = odd_card(printed[key], odd.ticks, odd.draw, cap, out / _name(odd, key, how))
        got[path.name] = read_scan(path, KIT_KEY, layouts=layouts)
    return got


@pytest.mark.parametrize(("odd", "printed", "how"), [(o, p, h) for o, p, h, _ in FILES],
                         ids=[_name(o, p, h) for o, p, h, _ in FILES])
def test_odd_marks_go_to_a_person_never_filed_wrong(read, odd: Odd, printed: str, how: str) -> None:  # type: ignore[no-untyped-def]
    name = _name(odd, printed, how)
    if name not in read:
        assert printed == "word0" and not SOFFICE
        pytest.skip("LibreOffice (soffice) is not installed: no card printed from the Word version")
    [card] = read[name]
    assert card.registered, card.notes
    for q in card.questions:
        assert q.answer in (None, odd.meant.get(q.number)), (q.number, str(q.how), q.yes_score, q.no_score)
    for q in odd.to_person:
        assert q in card.unresolved and f"第{q}题" in card.reading.needs_review, (q, card.questions[q - 1])
    # the rows say why (not "blank", not a plain tick: the person sees what to look at)
    assert {card.questions[q - 1].how for q in odd.to_person} <= {odd.why}, [str(q.how) for q in card.questions]
    # and every other row is read as meant
    assert {q: card.questions[q - 1].answer for q in odd.meant if q not in odd.to_person} == \
        {q: a for q, a in odd.meant.items() if q not in odd.to_person}, [str(q.how) for q in card.questions]


@pytest.fixture(scope="module")
def two_in_one_photo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A phone photo of two cards: card 0 on top, its QR scribbled over, card 1 under it, only its top
    (and its readable QR) showing above card 0."""
    printed = printed_cards(tmp_path_factory)
    out = tmp_path_factory.mktemp("two-cards")
    path = two_cards(printed["pdf0"], printed["pdf1"], ALL_NO, PHONE, out / "two-cards.jpg")
    return path, printed["pdf0"].layout.serial, printed["pdf1"].layout.serial


def test_a_qr_elsewhere_in_the_photo_is_not_this_cards_serial(two_in_one_photo) -> None:  # type: ignore[no-untyped-def]
    """The card read (the one whose table is whole) shows no readable QR; the other card's QR in the
    same photo is readable but lies off this card's QR place: the card is not filed under its serial
    (before: filed as the other card, with its answers)."""
    from PIL import Image

    path, own, other = two_in_one_photo
    with Image.open(path) as img:
        assert any(other in text for text in decode_qr(img)), "the photo must show the other card's QR"
    [card] = read_scan(path, KIT_KEY)
    assert card.registered, card.notes
    assert card.reading.qr is None and card.reading.serial != other, (card.reading.serial, card.notes)
    assert card.reading.serial in ("", own) and card.reading.needs_review


# The inked inside of a 是 box on seed-12 bench cards (``card-0130.pdf``, ``card-0060.jpg``, 200 dpi scans): a ✓
# drawn low, its V cut by the box's bottom side into a wedge, and a ✓ whose arms the side cuts apart.  Both
# lie along the row, thin enough and long enough to pass for a dash but for how their thickness varies.
WEDGE = """
.......#................#.
.....#####..............#.
....#######............##.
....########..........###.
....#########........####.
.....#########......#####.
......########.....######.
.......########..########.
.......##################.
........#################.
"""
LOW_V = """
.........................#..
........................##..
........................##..
...##..................###..
...#####..............####..
...######............#####..
...########..........#####..
...#########.......#######..
...##########......#######..
...###########....#######...
...######################...
"""


def _ink(art: str) -> np.ndarray:
    return np.array([[c == "#" for c in line] for line in art.strip().splitlines()])


def test_a_tick_cut_off_by_the_box_is_no_dash_and_a_dash_is() -> None:
    from engine.omr.marks import _flat

    assert not _flat(_ink(WEDGE), 31) and not _flat(_ink(LOW_V), 31)
    dash = np.zeros((26, 26), bool)
    for x in range(3, 22):  # a hand's dash: 5 px thick, rising 2 px over its length
        y = 13 - round(2 * (x - 3) / 19)
        dash[y - 2:y + 3, x] = True
    assert _flat(dash, 31)
    assert not _flat(dash.T, 31)  # the same stroke upright: a steep line is read as a tick
