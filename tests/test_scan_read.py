"""The paper-card reader (``engine.omr.read_scan``) against the simulator's ground truth.

Each file of ``_scan_fixtures.SPECS`` is a card printed (from our PDF or the Word version), marked
with a pen and scanned or photographed; its truth comes from the PDF, not from the reader.  For
every file: no answer is ever wrong, every row a machine must not decide goes to a person naming
the question, every clear card is filed with the right answers and serial.
"""

from __future__ import annotations

import pytest
from _inbox_fixtures import KIT_KEY, SOFFICE
from _scan_fixtures import SPECS, scan_corpus

from engine.omr import ScanCard, read_scan
from engine.simulate_scan import FileTruth


@pytest.fixture(scope="session")
def read(tmp_path_factory) -> dict[str, tuple[FileTruth, list[ScanCard]]]:  # type: ignore[no-untyped-def]
    """Every corpus file read once: ``{name: (truth, cards)}``."""
    return {path.name: (truth, read_scan(path, KIT_KEY)) for path, truth in scan_corpus(tmp_path_factory)}


def _get(read: dict[str, tuple[FileTruth, list[ScanCard]]], name: str) -> tuple[FileTruth, list[ScanCard]]:
    if name not in read:
        assert name.startswith("word-") and not SOFFICE, name
        pytest.skip("LibreOffice (soffice) is not installed: no card printed from the Word version")
    truth, cards = read[name]
    assert len(cards) == len(truth.cards), f"{name}: {len(cards)} cards read, {len(truth.cards)} in the file"
    return truth, cards


NAMES = [s.name for s in SPECS]
AMBIGUOUS = [s.name for s in SPECS if s.ambiguous]
CLEAR_ONLY = [s.name for s in SPECS if not s.ambiguous]


# What the reader does not do yet (a miss, never a wrong answer, except where said): each listed case
# is an expected failure until engine.omr reads it; the reason says what is missing.
# (None today: the bold marker × of phone-steep-dark.jpg reaching across the gap to the 是 label is read as
# the 否 box's own diagonal since helper marks' work.)
MISSES: dict[tuple[str, str], str] = {}


def _cases(test: str, names: list[str]) -> list:  # type: ignore[type-arg]
    return [pytest.param(n, marks=pytest.mark.xfail(reason=MISSES[(test, n)], strict=False)) if (test, n) in MISSES
            else n for n in names]


@pytest.mark.parametrize("name", NAMES)
def test_no_answer_and_no_serial_is_ever_wrong(read, name: str) -> None:  # type: ignore[no-untyped-def]
    """Where the card is clear, an answer the machine gives is the one the person meant; a serial is the card's."""
    truth, cards = _get(read, name)
    for ct, card in zip(truth.cards, cards, strict=True):
        for q in card.questions:
            want = ct.expected[str(q.number)]
            if q.answer is not None and want is not None:
                assert q.answer == want, (name, ct.page, q, ct.marks[str(q.number)])
        assert card.reading.serial in (None, ct.serial), (name, card.reading.serial)


@pytest.mark.parametrize("name", _cases("ambiguous", AMBIGUOUS))
def test_every_ambiguous_row_goes_to_a_person_naming_the_question(read, name: str) -> None:  # type: ignore[no-untyped-def]
    truth, cards = _get(read, name)
    for ct, card in zip(truth.cards, cards, strict=True):
        for q in ct.unresolved:
            assert q in card.unresolved, (name, q, ct.marks[str(q)], card.questions[q - 1])
            assert card.reading.answers.get(q) is None
            assert f"第{q}题" in card.reading.needs_review, (name, card.reading.needs_review)


@pytest.mark.parametrize("name", _cases("clear", CLEAR_ONLY + AMBIGUOUS))
def test_every_clear_card_is_filed_with_the_right_answers(read, name: str) -> None:  # type: ignore[no-untyped-def]
    truth, cards = _get(read, name)
    for ct, card in zip(truth.cards, cards, strict=True):
        if not ct.clear:
            continue
        got = {q.number: q.answer for q in card.questions}
        assert got == {int(q): a for q, a in ct.expected.items()}, (name, ct.page, card.notes,
                                                                   [(q.number, q.how, round(q.confidence, 2))
                                                                    for q in card.questions if q.answer is None])
        assert all(0 < q.confidence <= 1 for q in card.questions)
        if ct.qr_spoiled:  # only the printed 检查编号 is left: read it (and say no signature was checked) or ask
            assert card.reading.serial in (None, ct.serial)
            assert card.reading.serial is None or card.reading.serial_from_ocr
            continue
        assert card.reading.serial == ct.serial
        assert not card.reading.needs_review


def test_each_decision_says_where_its_row_is(read) -> None:  # type: ignore[no-untyped-def]
    truth, cards = _get(read, "clean-200.png")
    card = cards[0]
    boxes = [q.row_box for q in card.questions]
    assert all(boxes)
    tops = [b[1] for b in boxes]  # type: ignore[index]
    assert tops == sorted(tops)  # the rows, top to bottom, as printed
    assert all(b[0] < b[2] <= card.image.width and b[1] < b[3] <= card.image.height for b in boxes)  # type: ignore[index]


INGESTED = ["clean-200.png", "fax-g4-200.tif", "phone.jpg", "exif-90.jpg", "ambiguous-both.png", "ambiguous-corrected.png"]


def test_ingest_files_clear_scans_and_hands_ambiguous_rows_to_a_person(tmp_path, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Through the inbox: a clear scan is filed with its answers in the register (a 是 flags VIOLATION),
    an ambiguous one is filed as needs_review naming the question; ``--json`` carries the marks."""
    import os
    import shutil

    from _inbox_fixtures import new_workspace

    from engine.inbox import ingest
    from engine.inbox.codes import Status

    corpus = dict((p.name, (p, t)) for p, t in scan_corpus(tmp_path_factory))
    ws = new_workspace(tmp_path / "ws", inspections=2)
    for name in INGESTED:
        dst = shutil.copy(corpus[name][0], ws.inbox / name)
        os.utime(dst, (os.path.getmtime(dst) - 10, os.path.getmtime(dst) - 10))  # settled: not still copying
    report = ingest(ws, actor="测试")
    got = report.by_file()
    for name in INGESTED:
        truth = corpus[name][1].cards[0]
        o = got[name]
        assert o.serial == truth.serial, (name, o.to_json())
        js = o.to_json()
        assert js["marks"] and set(js["marks"]) == {str(q) for q in range(1, 11)}, name
        if truth.clear:
            assert o.status is Status.FILED, (name, js)
            assert o.answers == truth.expected, name
            assert ("VIOLATION" in o.flags) == ("是" in truth.expected.values()), (name, o.flags)
        else:
            assert o.status is Status.NEEDS_REVIEW, (name, js)
            text = " ".join(f.message for f in o.findings)
            for q in truth.unresolved:
                assert o.answers[str(q)] is None and f"第{q}题" in text, (name, q, text)
