"""Pluggable inbox handlers: each kind of return has one handler, chosen once; readers report a
confidence that validation uses; an outcome is built once and never changed afterwards."""

from __future__ import annotations

import ast
import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
from _inbox_fixtures import ANSWERS_CLEAN, fill_docx, kit, libreoffice_pdfs, new_workspace, tick_pdf
from _stats_fixtures import clerk_table2

from engine.inbox import Flag, Kind, Status, check_card, ingest
from engine.inbox.examine import examine
from engine.inbox.handlers import HANDLERS, handler_for
from engine.inbox.validate import REVIEW_BELOW
from engine.readback import ReadMethod, read_card
from engine.readback.common import FIELD_VALUES, NOT_READ, TEXT_EXTRACTED
from engine.workspace import Workspace

S1 = "140200-2025-0001"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture(scope="module")
def lo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return libreoffice_pdfs(tmp_path_factory)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=2)


def photo(cards: Path, dst: Path) -> Path:
    import pypdfium2 as pdfium

    pdfium.PdfDocument(str(cards / "0.pdf"))[0].render(scale=200 / 72).to_pil().convert("RGB").save(dst)
    return dst


def returns(cards: Path, lo: dict[str, Path], d: Path) -> dict[str, tuple[Path, str, float | None]]:
    """One real file of each kind a clerk receives: (path, the handler it must reach, its confidence)."""
    table = clerk_table2(d / "云州区调度表.xlsx", [{"unit": "云州区应急管理局", "staff_expected": 15, "staff_actual": 12,
                                                     "ent_expected": 20, "ent_actual": 18}], submitter="云州区应急管理局")
    return {
        "ticked.pdf": (tick_pdf(cards / "0.pdf", d / "ticked.pdf", ANSWERS_CLEAN), "form_card", FIELD_VALUES),
        "exported.pdf": (lo["check"], "form_card", TEXT_EXTRACTED),
        "filled.docx": (fill_docx(cards / "0.docx", d / "filled.docx", ANSWERS_CLEAN), "form_card", FIELD_VALUES),
        "photo.jpg": (photo(cards, d / "photo.jpg"), "scanned_card", NOT_READ),
        "table.xlsx": (table, "workbook", None),
    }


def test_each_kind_of_return_reaches_exactly_one_handler(ws: Workspace, cards: Path, lo: dict[str, Path],
                                                        tmp_path: Path) -> None:
    for name, (path, expected, confidence) in returns(cards, lo, tmp_path).items():
        ex = examine(path, name, ws.root, ws.key, ws.config.limits)
        assert not ex.rejected, (name, [f.code for f in ex.findings])
        assert [h.name for h in HANDLERS if h.accepts(ex)] == [expected], name
        h = handler_for(ex)
        assert h is not None and h.name == expected
        assert h.savepoint is (expected != "workbook")  # the stats desk commits on its own
        if confidence is not None:
            assert ex.reading is not None and ex.reading.confidence == confidence, name


def test_a_rejected_examination_has_no_handler(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    notice = tmp_path / "empty.pdf"
    notice.write_bytes(b"")
    assert handler_for(examine(notice, "empty.pdf", ws.root, ws.key, ws.config.limits)) is None


def test_validation_follows_the_readers_confidence_not_its_method(cards: Path, ws: Workspace, tmp_path: Path) -> None:
    """The same typed reading is checked answer by answer when trusted, and sent to a person when not."""
    from engine.db import session
    from engine.register import by_serial

    reading = read_card(tick_pdf(cards / "0.pdf", tmp_path / "t.pdf", ANSWERS_CLEAN), "pdf", ws.key)
    assert reading.method is ReadMethod.PDF_FORM and reading.confidence >= REVIEW_BELOW
    with session(ws) as s:
        visit = by_serial(s, S1)
        received = datetime.combine(visit.end, datetime.min.time())  # type: ignore[union-attr]
        trusted = check_card(reading, visit, received, 3)
        reading.confidence = REVIEW_BELOW / 2  # e.g. a future OMR reader unsure of its ticks
        doubtful = check_card(reading, visit, received, 3)
    assert Flag.NEEDS_REVIEW not in trusted.flags and "SCAN_NEEDS_REVIEW" not in trusted.findings.codes()
    assert Flag.NEEDS_REVIEW in doubtful.flags and "SCAN_NEEDS_REVIEW" in doubtful.findings.codes()


def test_an_outcome_is_final_once_built(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    fill_docx(cards / "0.docx", ws.inbox / "卡.docx", ANSWERS_CLEAN)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.kind) == (Status.FILED, Kind.FEEDBACK_CARD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.status = Status.REJECTED  # type: ignore[misc]


def status_rewrites(root: Path) -> list[str]:
    """``dataclasses.replace(outcome, status=…)`` in the inbox: an outcome built with one status and turned into
    another afterwards (the frozen dataclass does not stop ``replace``)."""
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and ast.unparse(node.func).rsplit(".", 1)[-1] == "replace"
                    and any(k.arg == "status" for k in node.keywords)):
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_outcome_changes_its_status_after_it_is_built() -> None:
    """A file seen before is a duplicate, or (a killed run filed it) what that run decided: each outcome is
    built with its status, never built as a duplicate and rewritten."""
    assert status_rewrites(Path(__file__).resolve().parent.parent / "engine" / "inbox") == []
