"""The scan reader (engine.omr) against the simulated corpus (tests/_scan_fixtures.py, engine.simulate_scan):
every mark, every ambiguous row, every capture the issue names, cards from our PDF and the Word version.

Never a wrong answer: a question the truth leaves to a person is never answered; a clear question is
answered right or left to a person. Clear cards are filed without a person (a few may be sent to one).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _inbox_fixtures import KIT_KEY
from _scan_fixtures import scan_corpus

from engine.omr import read_scan
from engine.simulate_scan import FileTruth


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, FileTruth]]:
    return scan_corpus(tmp_path_factory)


@pytest.fixture(scope="module")
def read(corpus: list[tuple[Path, FileTruth]]):  # type: ignore[no-untyped-def]
    return {path.name: (truth, read_scan(path, KIT_KEY, "pdf" if path.suffix == ".pdf" else "image"))
            for path, truth in corpus}


def test_no_question_is_ever_answered_wrong(read) -> None:  # type: ignore[no-untyped-def]
    wrong = []
    for name, (truth, cards) in read.items():
        assert len(cards) == len(truth.cards), name
        for t, c in zip(truth.cards, cards, strict=True):
            for q in c.questions:
                want = t.expected[str(q.number)]
                if q.answer is not None and q.answer != want:
                    wrong.append((name, t.page, q.number, q.answer, want, str(q.how)))
    assert wrong == []


def test_every_ambiguous_row_goes_to_a_person_naming_it(read) -> None:  # type: ignore[no-untyped-def]
    for name, (truth, cards) in read.items():
        for t, c in zip(truth.cards, cards, strict=True):
            for n in t.unresolved:
                assert c.questions[n - 1].answer is None, (name, n)
                assert f"第{n}题" in c.reading.needs_review, (name, n, c.reading.needs_review)


def test_clear_cards_are_read_with_their_serial(read) -> None:  # type: ignore[no-untyped-def]
    clear = [(name, t, c) for name, (truth, cards) in read.items() for t, c in zip(truth.cards, cards, strict=True)
             if t.clear]
    filed = [(name, t, c) for name, t, c in clear if not c.unresolved]
    assert len(clear) >= 20
    for name, t, c in clear:
        if "qr-spoiled" in name:  # only the printed serial is left: read by OCR, or by nobody; never another's
            assert c.reading.serial in (t.serial, None), name
        else:
            assert c.reading.serial == t.serial, name
    for name, t, c in filed:
        assert {q.number: q.answer for q in c.questions} == t.answers(), name
    # The corpus is small and hard on purpose (steep phones, 150 dpi grey JPEG, G4 faxes): most clear cards
    # are still filed without a person; bench_scans.py measures the share over hundreds of cards.
    assert len(filed) >= 0.8 * len(clear), [name for name, t, c in clear if c.unresolved]
