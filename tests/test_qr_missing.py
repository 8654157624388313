"""Cards without a verifiable QR: flagged QR_MISSING and listed for the 纪委; their printed serial
must agree with the register's enterprise and dates, or they are SUSPECT.

The doctored cards are made the way a person does it in Word: the generated card is filled in, the
QR picture is deleted (Word then drops the image from the file), and the printed serial, enterprise
and, in one case, the dates are retyped to another inspection's.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import docx
import pytest
from _inbox_fixtures import (
    ANSWERS_CLEAN,
    SOFFICE,
    fill_docx,
    kit,
    new_workspace,
    to_pdf_with_libreoffice,
    visit,
)
from docx.oxml.ns import qn
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine import archive
from engine.cli import app
from engine.inbox import Flag, Status, ingest
from engine.inspection import format_range
from engine.review import FLAG_ZH, ReviewFlag, SuspectReason, build_review
from engine.review.report import render_html, write_xlsx
from engine.workspace import Workspace

S1, S2 = "140200-2025-0001", "140200-2025-0002"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=2)


def doctor(src: Path, dst: Path, *, remove_qr: bool = True, replace: dict[str, str] | None = None) -> Path:
    """Delete the QR picture and retype texts, with python-docx as Word would save it."""
    d = docx.Document(str(src))
    for section in d.sections:
        part = section.header.part
        for drawing in list(part.element.iter(qn("w:drawing"))):
            if not remove_qr:
                continue
            blip = next(drawing.iter(qn("a:blip")))
            run = drawing.getparent()
            run.getparent().remove(run)
            part.drop_rel(blip.get(qn("r:embed")))  # no picture left, no image part saved
    parts = [d.element.body, *(s.header.part.element for s in d.sections)]
    for old, new in (replace or {}).items():
        hits = [t for el in parts for t in el.iter(qn("w:t")) if t.text and old in t.text]
        assert hits, f"{old!r} is not printed on the card"
        for t in hits:
            t.text = t.text.replace(old, new)
    d.save(str(dst))
    return dst


def drop(ws: Workspace, src: Path, name: str, serial: str) -> None:
    """Into the inbox, arriving the day after that inspection ended (neither early nor late)."""
    dst = ws.inbox / name
    shutil.copy(src, dst)
    t = datetime.combine(visit(ws, serial).end + timedelta(days=1), datetime.min.time()).timestamp() + 9 * 3600
    os.utime(dst, (t, t))


def filled(cards: Path, tmp_path: Path) -> Path:
    return fill_docx(cards / "0.docx", tmp_path / "filled.docx", ANSWERS_CLEAN)


def relabelled(ws: Workspace, cards: Path, tmp_path: Path, *, dates_too: bool = False) -> Path:
    """Card 0001 filled in, QR deleted, serial and enterprise retyped to 0002's (dates too if asked)."""
    v1, v2 = visit(ws, S1), visit(ws, S2)
    replace = {S1: S2, v1.enterprise: v2.enterprise}
    if dates_too:
        replace[format_range(v1.start, v1.end)] = format_range(v2.start, v2.end)
    return doctor(filled(cards, tmp_path), tmp_path / "card.docx", replace=replace)


def test_a_relabelled_word_card_without_its_qr_is_suspect(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    """The issue's case: filed, but QR_MISSING and SUSPECT, with the dates that give it away."""
    card = relabelled(ws, cards, tmp_path)
    assert not any(p.startswith("word/media/") for p in zipfile.ZipFile(card).namelist())
    drop(ws, card, "反馈卡.docx", S2)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.serial) == (Status.FILED, S2)
    assert set(o.flags) == {Flag.SUSPECT, Flag.QR_MISSING}
    codes = {f.code for f in o.findings}
    assert {"QR_MISSING", "CARD_DATES_MISMATCH"} <= codes and "ENTERPRISE_MISMATCH" not in codes
    msg = next(f.message for f in o.findings if f.code == "CARD_DATES_MISMATCH")
    v1, v2 = visit(ws, S1), visit(ws, S2)
    assert format_range(v1.start, v1.end) in msg and format_range(v2.start, v2.end) in msg
    (item,) = archive.search(ws, serial=S2, form_type="card_returned")
    assert {"SUSPECT", "QR_MISSING"} <= set(item.flags)
    assert item.extra["printed_dates"] == [v1.start.isoformat(), v1.end.isoformat()]
    assert {"SUSPECT", "QR_MISSING"} <= set(visit(ws, S2).card_flags or [])

    r = build_review(ws, today=date(2025, 6, 30))
    e = r.entry(S2)
    assert e is not None and {ReviewFlag.SUSPECT, ReviewFlag.QR_MISSING} <= set(e.flags)
    (sus,) = r.suspects
    assert SuspectReason.DATES_MISMATCH in sus.reasons and "检查日期与台账不符" in sus.reasons_zh
    (qr,) = r.qr_missing
    assert qr.entry is e and qr.reasons == sus.reasons


def test_a_word_card_with_only_its_qr_deleted_is_listed_not_suspect(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    card = doctor(filled(cards, tmp_path), tmp_path / "card.docx")
    drop(ws, card, "反馈卡.docx", S1)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.serial, o.flags) == (Status.FILED, S1, [Flag.QR_MISSING])
    r = build_review(ws, today=date(2025, 6, 30))
    e = r.entry(S1)
    assert e is not None and ReviewFlag.QR_MISSING in e.flags and FLAG_ZH[ReviewFlag.QR_MISSING] == "反馈卡无可核验二维码"
    assert not r.suspects and [c.entry for c in r.qr_missing] == [e]
    # The reviewer's workbook: a sheet of its own, and the Chinese label among the inspection's flags.
    wb = load_workbook(write_xlsx(r, tmp_path / "审查清单.xlsx"))
    sheet = wb["无可核验二维码的反馈卡"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    cells = {str(v) for row in rows for v in row if v is not None}
    assert S1 in cells and "企业名称、检查日期与台账一致" in cells and "Word 文档" in cells
    assert ["无可核验二维码的反馈卡", 1] in [[c.value for c in row][:2] for row in wb["概况"].iter_rows()]
    # The PDF report: the inspection's flags in Chinese, and a note under it.
    html = render_html(r)
    assert "反馈卡无可核验二维码" in html and "只凭卡上印刷的检查编号" in html
    out = CliRunner().invoke(app, ["review", "-w", str(ws.root)])
    assert out.exit_code == 0 and "无可核验二维码的反馈卡" in out.stdout


def test_retyped_dates_too_leave_it_on_the_list(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    """Serial, enterprise and dates all retyped: nothing printed contradicts the register any more,
    so it is not SUSPECT; the missing QR still puts it in front of the 纪委."""
    drop(ws, relabelled(ws, cards, tmp_path, dates_too=True), "反馈卡.docx", S2)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.flags) == (Status.FILED, [Flag.QR_MISSING])
    assert [c.serial for c in build_review(ws, today=date(2025, 6, 30)).qr_missing] == [S2]


def test_a_card_without_qr_or_enterprise_cannot_be_confirmed(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    card = doctor(filled(cards, tmp_path), tmp_path / "card.docx", replace={visit(ws, S1).enterprise: ""})
    drop(ws, card, "反馈卡.docx", S1)
    (o,) = ingest(ws).outcomes
    assert set(o.flags) == {Flag.SUSPECT, Flag.QR_MISSING}
    f = next(f for f in o.findings if f.code == "CARD_IDENTITY_UNCONFIRMED")
    assert "被检查单位" in f.message and S1 in f.message
    (sus,) = build_review(ws, today=date(2025, 6, 30)).suspects
    assert sus.reasons == (SuspectReason.UNCONFIRMED,)


def test_a_forged_qr_is_no_verifiable_qr(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, fill_docx(cards / "forged.docx", tmp_path / "forged.docx", ANSWERS_CLEAN), "forged.docx", S1)
    (o,) = ingest(ws).outcomes
    assert set(o.flags) == {Flag.SUSPECT, Flag.QR_MISSING}
    assert "二维码签名不符" in next(f.message for f in o.findings if f.code == "QR_MISSING")


def test_the_genuine_card_carries_no_flag(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, filled(cards, tmp_path), "反馈卡.docx", S1)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.flags) == (Status.FILED, [])
    assert build_review(ws, today=date(2025, 6, 30)).qr_missing == []


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice exports the doctored Word card to PDF")
def test_a_text_pdf_without_the_qr_is_checked_the_same_way(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    """The relabelled Word card saved as PDF (a text PDF with no QR in it)."""
    (pdf,) = to_pdf_with_libreoffice([relabelled(ws, cards, tmp_path)], tmp_path / "pdf")
    drop(ws, pdf, "反馈卡.pdf", S2)
    (o,) = ingest(ws).outcomes
    assert (o.status, o.serial) == (Status.FILED, S2)
    assert set(o.flags) == {Flag.SUSPECT, Flag.QR_MISSING}
    assert "CARD_DATES_MISMATCH" in {f.code for f in o.findings}


def test_the_clerk_sees_the_flag_in_chinese_when_ingesting(ws: Workspace, cards: Path, tmp_path: Path) -> None:
    drop(ws, doctor(filled(cards, tmp_path), tmp_path / "card.docx"), "反馈卡.docx", S1)
    out = CliRunner().invoke(app, ["ingest", "-w", str(ws.root)])
    assert out.exit_code == 0, out.stdout
    assert "无可核验二维码" in out.stdout  # the 标记 column; the 说明 column explains it
