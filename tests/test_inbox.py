"""`ruqi ingest` end to end: returned cards filed or explained, the register updated, nothing lost."""

from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from _inbox_fixtures import (
    ANSWERS_BAD,
    ANSWERS_CLEAN,
    ANSWERS_VIOLATION,
    fill_docx,
    kit,
    new_workspace,
    tick_pdf,
    visit,
)
from typer.testing import CliRunner

from engine import archive
from engine.inbox import Flag, Kind, Status, ingest, pending_cards
from engine.workspace import Workspace

S1, S2 = "140200-2025-0001", "140200-2025-0002"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=2)


def drop(ws: Workspace, src: Path, name: str, *, days_after_end: int = 1, serial: str = S1) -> Path:
    """Put a file in the inbox as if it arrived ``days_after_end`` days after that inspection ended."""
    dst = ws.inbox / name
    shutil.copy(src, dst)
    end = visit(ws, serial).end
    t = datetime.combine(end + timedelta(days=days_after_end), datetime.min.time()).timestamp() + 9 * 3600
    os.utime(dst, (t, t))
    return dst


def inbox_files(ws: Workspace) -> list[str]:
    return sorted(p.name for p in ws.inbox.iterdir() if p.is_file())


def test_a_returned_card_is_filed_byte_identical_and_the_register_knows(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    src = fill_docx(cards / "0.docx", tmp_path / "反馈卡.docx", ANSWERS_CLEAN)
    drop(ws, src, "反馈卡.docx")
    (o,) = ingest(ws).outcomes
    assert (o.status, o.kind, o.serial, o.flags) == (Status.FILED, Kind.FEEDBACK_CARD, S1, [])
    assert o.answers == {str(i): "否" for i in range(1, 11)}
    item = archive.get_item(ws, o.archival_code)
    assert item is not None and item.path.read_bytes() == src.read_bytes()
    assert (item.form_type, item.serial, item.original_name) == ("card_returned", S1, "反馈卡.docx")
    v = visit(ws, S1)
    assert (v.card_status, v.card_version, v.card_flags) == ("received", 1, [])
    assert v.card_answers == o.answers and v.card_received_at is not None
    assert inbox_files(ws) == [] and not any((ws.inbox / ".processing").rglob("*.docx"))


def test_a_yes_answer_and_a_late_return_are_flagged_for_the_review(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_VIOLATION), "late.docx", days_after_end=9)
    (o,) = ingest(ws).outcomes
    assert (o.status, sorted(o.flags)) == (Status.FILED, [Flag.LATE, Flag.VIOLATION])
    assert ("VIOLATION", "第3、8题") in o.findings.flatten("code", "where")
    item = archive.get_item(ws, o.archival_code)
    assert item is not None and item.extra["violations"] == [3, 8] and "VIOLATION" in item.flags
    assert sorted(visit(ws, S1).card_flags or []) == ["LATE", "VIOLATION"]


def test_on_time_means_within_late_days_of_the_end(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_CLEAN), "a.docx", days_after_end=3)
    drop(ws, fill_docx(cards / "1.docx", tmp_path / "b.docx", ANSWERS_CLEAN), "b.docx", days_after_end=4, serial=S2)
    flags = {o.serial: o.flags for o in ingest(ws).outcomes}
    assert flags == {S1: [], S2: ["LATE"]}


@pytest.mark.parametrize(
    ("card", "code"),
    [("unknown.docx", "SERIAL_UNKNOWN"), ("forged.docx", "QR_SIGNATURE_INVALID"), ("renamed.docx", "ENTERPRISE_MISMATCH")],
)
def test_suspect_cards_are_filed_and_flagged(ws: Workspace, cards: Path, tmp_path: Path, card: str, code: str) -> None:
    drop(ws, fill_docx(cards / card, tmp_path / card, ANSWERS_CLEAN), card)
    (o,) = ingest(ws).outcomes
    # A QR with a wrong signature is no verifiable QR: QR_MISSING too (see test_qr_missing.py).
    assert (o.status, o.flags) == (Status.FILED, [Flag.SUSPECT] + ([Flag.QR_MISSING] if card == "forged.docx" else []))
    assert code in o.findings.codes()
    item = archive.get_item(ws, o.archival_code)
    assert item is not None and "SUSPECT" in item.flags and code in item.extra["codes"]
    # An unknown serial has no inspection to file under, and nothing in the register changes.
    assert item.form_type == ("other" if card == "unknown.docx" else "card_returned")
    assert visit(ws, S2).card_status == "none"


def test_unclear_answers_go_to_review_naming_each_question(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, tick_pdf(cards / "0.pdf", tmp_path / "t.pdf", ANSWERS_BAD), "ticked.pdf")
    (o,) = ingest(ws).outcomes
    assert (o.status, o.flags) == (Status.NEEDS_REVIEW, [Flag.NEEDS_REVIEW])
    assert [(c, w) for c, w, sev in o.findings.flatten("code", "where", "severity") if sev == "error"] == [
        ("ANSWER_NONE", "第5题"), ("ANSWER_BOTH", "第7题")]
    assert (o.answers["5"], o.answers["7"], o.answers["1"]) == (None, None, "否")
    item = archive.get_item(ws, o.archival_code)
    assert item is not None and "NEEDS_REVIEW" in item.flags and item.extra["status"] == "needs_review"
    assert visit(ws, S1).card_status == "needs_review"


@pytest.mark.parametrize(("name", "fmt"), [("拍照.jpg", "jpeg"), ("扫描.png", "png"), ("扫描.tif", "tiff")])
def test_a_photo_is_filed_in_the_archive_for_review(ws: Workspace, cards: Path, tmp_path: Path, name: str,
                                                    fmt: str) -> None:
    """A scanned or photographed card is an original: filed with NEEDS_REVIEW, not kept in the inbox."""
    import pypdfium2 as pdfium

    photo = tmp_path / name
    img = pdfium.PdfDocument(str(cards / "0.pdf"))[0].render(scale=200 / 72).to_pil().convert("L" if fmt == "tiff" else "RGB")
    img.save(photo)
    drop(ws, photo, name)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.kind, o.serial, o.flags) == (Status.NEEDS_REVIEW, Kind.FEEDBACK_CARD, S1, [Flag.NEEDS_REVIEW])
    assert "SCAN_NEEDS_REVIEW" in o.findings.codes() and set(o.answers.values()) == {None}
    item = archive.get_item(ws, o.archival_code)
    assert item is not None and item.format == fmt and item.form_type == "card_returned"
    assert item.path.read_bytes() == photo.read_bytes() and o.location == item.rel_path
    assert item.flags == ["NEEDS_REVIEW"] and item.extra["status"] == "needs_review" and item.extra["read_method"] == "image"
    assert not (ws.inbox / "needs_review").exists() and inbox_files(ws) == []
    v = visit(ws, S1)
    assert (v.card_status, v.card_flags) == ("needs_review", ["NEEDS_REVIEW"])
    assert archive.verify(ws, deep=True).ok
    # Dropped again: recognised, not filed twice.
    drop(ws, photo, "again-" + name)
    (again,) = ingest(ws).outcomes
    assert (again.status, again.duplicate_of) == (Status.DUPLICATE, o.archival_code)
    assert [r.id for r in archive.find_sha256(ws, o.sha256)] == [item.id]


def test_the_same_bytes_twice_are_a_duplicate_and_a_different_card_a_new_version(
        ws: Workspace, cards: Path, tmp_path: Path) -> None:
    first = fill_docx(cards / "0.docx", tmp_path / "v1.docx", ANSWERS_VIOLATION, phone="13912345678")
    drop(ws, first, "v1.docx")
    ingest(ws)
    drop(ws, first, "v1-copy.docx")
    second = fill_docx(cards / "0.docx", tmp_path / "v2.docx", ANSWERS_CLEAN, phone="13912345678")
    drop(ws, second, "v2.docx", days_after_end=2)
    out = ingest(ws).by_file()
    assert out["v1-copy.docx"].status is Status.DUPLICATE and out["v1-copy.docx"].duplicate_of
    assert out["v2.docx"].status is Status.FILED
    items = [i for i in archive.items_for_serial(ws, S1) if i.form_type == "card_returned"]
    assert [i.original_name for i in items] == ["v1.docx", "v2.docx"]  # both kept
    v = visit(ws, S1)
    # The later card counts; the review still learns that a 是 was withdrawn.
    assert (v.card_version, v.card_answers) == (2, {str(i): "否" for i in range(1, 11)})
    assert set(v.card_flags or []) == {"REVISED", "VIOLATION_WITHDRAWN"}
    assert inbox_files(ws) == []


def test_a_generated_blank_card_dropped_by_mistake_is_rejected(ws: Workspace, cards: Path) -> None:
    from engine.archive import ItemMeta, file_item

    v = visit(ws, S1)
    file_item(ws, cards / "0.pdf", ItemMeta(form_type="card_generated", title="空白反馈卡", responsible=ws.config.name,
                                            date=v.issue_date, serial=S1, enterprise=v.enterprise, uscc=v.uscc,
                                            county=v.county))
    drop(ws, cards / "0.pdf", "blank.pdf")
    (o,) = ingest(ws).outcomes
    assert (o.status, o.findings.codes()) == (Status.REJECTED, ["GENERATED_COPY"])
    assert (ws.rejected / "blank.pdf").read_bytes() == (cards / "0.pdf").read_bytes()


def test_status_lists_cards_not_back_and_overdue(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_CLEAN), "a.docx")
    ingest(ws)
    end2 = visit(ws, S2).end
    assert [p.serial for p in pending_cards(ws, today=end2)] == [S2]
    assert pending_cards(ws, today=end2 + timedelta(days=3), overdue_only=True) == []
    (late,) = pending_cards(ws, today=end2 + timedelta(days=5), overdue_only=True)
    assert (late.serial, late.days_overdue, late.due) == (S2, 2, end2 + timedelta(days=3))


def test_cli_ingest_json_is_one_object_per_file_and_exits_zero(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    from engine.cli import app

    drop(ws, fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_VIOLATION), "a.docx")
    (ws.inbox / "空.pdf").write_bytes(b"")
    res = CliRunner().invoke(app, ["ingest", "--json", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in res.output.splitlines()]
    assert {x["file"]: x["status"] for x in lines} == {"a.docx": "filed", "空.pdf": "rejected"}
    for x in lines:
        assert {"file", "sha256", "status", "kind", "serial", "answers", "flags", "errors"} <= set(x)
        assert list(x["answers"]) == [str(i) for i in range(1, 11)]
        assert all({"code", "message", "where"} <= set(e) for e in x["errors"])
    by = {x["file"]: x for x in lines}
    assert by["a.docx"]["answers"]["3"] == "是" and "VIOLATION" in by["a.docx"]["flags"]
    assert by["空.pdf"]["errors"][0]["code"] == "EMPTY_FILE"
    status = CliRunner().invoke(app, ["status", "--overdue", "--json", "-w", str(ws.root), "--today", "2026-01-01"])
    assert status.exit_code == 0 and [json.loads(x)["serial"] for x in status.output.splitlines()] == [S2]


def test_a_statistics_workbook_goes_to_the_stats_desk(ws: Workspace, tmp_path: Path) -> None:
    from _stats_fixtures import fill_blank

    from engine.stats import write_blanks

    blank = next(f for f in write_blanks(ws, 2, "2025Q2", due=date(2025, 6, 18)).files if "-平城区-" in f.name)
    good = fill_blank(blank, ws.inbox / "平城区附件2.xlsx", {"B6": 12, "C6": 10, "D6": 30, "E6": 25})
    bad = fill_blank(blank, tmp_path / "x.xlsx", {"B6": -5, "C6": 10, "D6": 30, "E6": 25})
    shutil.copy(bad, ws.inbox / "错误的附件2.xlsx")
    out = ingest(ws).by_file()
    ok = out[good.name]
    assert (ok.status, ok.kind) == (Status.FILED, Kind.STATS_TABLE_2) and ok.archival_code
    wrong = out["错误的附件2.xlsx"]
    assert (wrong.status, wrong.kind) == (Status.REJECTED, Kind.STATS_TABLE_2) and wrong.findings.errors
    assert (ws.rejected / "错误的附件2.xlsx").exists()
