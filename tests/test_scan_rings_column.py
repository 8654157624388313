"""Rings round the 否 (or 是) of every row, on cards whose short rows sit one under the other: each ring
bulges over the rule to the next row and touches the next ring.  The column check (``engine.omr.checks``)
took the touching rings for one line struck down the column and sent three rows of clear answers to a
person; each ring is its own row's answer (a line struck down the column is still caught: test_scan_odd_marks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _inbox_fixtures import KIT_KEY
from _scan_fixtures import printed_cards

from engine.omr import load_layouts, read_scan, record_layout
from engine.readback.common import MarkHow
from engine.simulate_scan import NO, PENS, YES, Capture, Fmt, Mark, paper_card

CAPTURES = {"scan.jpg": Capture(dpi=200, noise=2, skew=1.0, fmt=Fmt.JPEG, quality=80),
            "phone.jpg": Capture(dpi=200, phone=True, perspective=0.04, shadow=0.2, noise=2, blur=0.6, fmt=Fmt.JPEG,
                                 quality=85)}
PEN = {"ballpoint": PENS[0], "marker": PENS[4]}
CASES = [(mark, answer, how, pen) for mark in (Mark.RING_LABEL, Mark.RING_BOX) for answer in (NO, YES) for how in CAPTURES
         for pen in PEN]


@pytest.fixture(scope="module")
def layouts(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    printed = printed_cards(tmp_path_factory)
    ws = tmp_path_factory.mktemp("rings-ws")
    record_layout(ws, Path(printed["pdf0"].layout.pdf))
    return printed, load_layouts(ws)


@pytest.mark.parametrize(("mark", "answer", "how", "pen"), CASES, ids=[f"{m}-{a}-{h}-{p}" for m, a, h, p in CASES])
def test_rings_on_every_row_are_each_rows_answer(layouts, tmp_path: Path, mark: Mark, answer: str, how: str,  # type: ignore[no-untyped-def]
                                                 pen: str) -> None:
    printed, known = layouts
    path = tmp_path / f"rings-{how}"
    paper_card(Path(printed["pdf0"].layout.pdf), path, dict.fromkeys(range(1, 11), answer), CAPTURES[how], seed=7,
               mark=mark, pen=PEN[pen])
    [card] = read_scan(path, KIT_KEY, layouts=known)
    assert card.registered, card.notes
    hows = [str(q.how) for q in card.questions]
    assert MarkHow.ACROSS not in {q.how for q in card.questions}, hows
    # never filed with another answer; the rings the machine reads are read as drawn
    assert all(q.answer in (None, answer) for q in card.questions), hows
    assert sum(q.answer == answer for q in card.questions) >= 9, hows
