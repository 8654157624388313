"""A clerk scans a stack of ticked cards into one PDF (the office scanner does that): one outcome per card.

Real files: cards printed from the engine's PDFs (three inspections), ticked and scanned by
``engine.simulate_scan``, the pages of a stack concatenated into one image PDF as a scanner writes
it, with the blank backs of a duplex scan and a covering note among them.  Each card must reach its
own inspection with its own answers; the original is archived once, byte-identical; nothing is
filed twice, not after a duplicate, not after a crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from _confirm_fixtures import scan_png
from _inbox_fixtures import new_workspace, render_card, visit
from typer.testing import CliRunner

from engine import readings
from engine.archive import get_item, search, verify
from engine.archive.models import ItemRecord
from engine.cli import app
from engine.confirm import confirm, waiting_cards
from engine.confirm_sheet import sheet_context, write_sheets
from engine.db import session
from engine.forms import FormType
from engine.inbox import Reason, Status, ingest
from engine.inbox.outcome import Outcome
from engine.register import by_serial
from engine.review.export import export_bundle
from engine.simulate_scan import (
    Ambiguity,
    Capture,
    CardPlan,
    FileTruth,
    Fmt,
    Mark,
    Printed,
    Sheet,
    make_file,
    plan_card,
    write_capture,
)
from engine.workspace import Workspace

S1, S2, S3 = (f"140200-2025-{n:04d}" for n in (1, 2, 3))
RECEIVED = datetime(2025, 3, 14, 9, 0)
TODAY = date(2025, 3, 20)
SCANNER = Capture(dpi=200, fmt=Fmt.PDF, skew=-1.5, noise=2)


def _plan(printed: Printed, seed: int, yes: tuple[int, ...] = (), ambiguous: dict[int, Ambiguity] | None = None
          ) -> CardPlan:
    import numpy as np

    plan = plan_card(printed.layout.serial, np.random.default_rng(seed), marks=(Mark.TICK,), yes_rate=0.0,
                     ambiguous=ambiguous)
    return replace(plan, questions=tuple(replace(q, intended="是") if q.number in yes and q.intended else q
                                         for q in plan.questions))


@pytest.fixture(scope="module")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, FileTruth | None]]:
    """The stacks, made once: each file with its ground truth."""
    base = tmp_path_factory.mktemp("stacks")
    ws = new_workspace(base / "ws", inspections=3)
    with session(ws) as s:
        insps = [by_serial(s, sn).to_inspection() for sn in (S1, S2, S3)]  # type: ignore[union-attr]
    pdfs = [render_card(ws, insp, base / f"r{i}", ("pdf",))["pdf"] for i, insp in enumerate(insps)]
    c1, c2, c3 = (Printed.of(p) for p in pdfs)
    out: dict[str, tuple[Path, FileTruth | None]] = {}

    def make(name: str, pages: list, seed: int) -> None:  # type: ignore[type-arg]
        out[name] = (base / name, make_file(pages, SCANNER, base / name, seed))

    make("三张.pdf", [(c1, _plan(c1, 1, yes=(3,))), (c2, _plan(c2, 2)), (c3, _plan(c3, 3, yes=(7, 9)))], 11)
    make("双面.pdf", [(c1, _plan(c1, 4)), Sheet.BLANK, (c2, _plan(c2, 5, ambiguous={5: Ambiguity.BOTH})),
                      Sheet.LETTER, (c3, _plan(c3, 6, yes=(1,))), Sheet.BLANK], 12)
    twice = _plan(c1, 7, yes=(2,))
    make("重复.pdf", [(c1, twice), (c1, twice), (c2, _plan(c2, 8))], 13)
    out["传真.tif"] = (base / "传真.tif", make_file([(c3, _plan(c3, 15, yes=(10,))), Sheet.BLANK, (c1, _plan(c1, 16))],
                                                  Capture(dpi=200, fmt=Fmt.TIFF_G4, skew=1.0), base / "传真.tif", 15))
    make("一张带背面.pdf", [Sheet.BLANK, (c1, _plan(c1, 9, yes=(4,)))], 14)
    # A card whose QR and printed serial are painted over: nothing on it says its serial.
    from PIL import Image

    nameless = Image.open(scan_png(pdfs[1], base / "nameless.png", dpi=200, cover_qr=True))
    pages = [Image.open(p) for p in _pages_of(base / "三张.pdf")]
    write_capture([pages[0], nameless, pages[2]], replace(SCANNER, dpi=200), base / "无编号.pdf")
    out["无编号.pdf"] = (base / "无编号.pdf", None)
    write_capture([Image.new("RGB", nameless.size, "white"), nameless], replace(SCANNER, dpi=200),
                  base / "背面在前无编号.pdf")
    out["背面在前无编号.pdf"] = (base / "背面在前无编号.pdf", None)
    return out


def _pages_of(pdf: Path) -> list[Path]:
    """The pages of an image PDF as PNGs (to restack them)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    paths = []
    for k in range(len(doc)):
        p = pdf.with_name(f"{pdf.stem}-p{k}.png")
        doc[k].render(scale=200 / 72).to_pil().convert("RGB").save(p)
        paths.append(p)
    doc.close()
    return paths


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=3)


def drop(ws: Workspace, src: Path, name: str | None = None) -> list[Outcome]:
    target = ws.inbox / (name or src.name)
    shutil.copy(src, target)
    os.utime(target, (RECEIVED.timestamp(), RECEIVED.timestamp()))
    return ingest(ws, names=[target.name], workers=1).outcomes


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def originals(ws: Workspace) -> list:  # type: ignore[type-arg]
    return search(ws, form_type=FormType.CARD_SCAN)


def expected(truth: FileTruth, serial: str) -> dict[str, str | None]:
    (card, *twice) = [c for c in truth.cards if c.serial == serial]
    assert all(c.expected == card.expected for c in twice)
    return card.expected


def test_three_cards_of_three_inspections_give_three_filed_outcomes(ws: Workspace, stacks: dict) -> None:  # type: ignore[type-arg]
    path, truth = stacks["三张.pdf"]
    outs = drop(ws, path)
    assert [(o.serial, o.status, o.page) for o in outs] == [(S1, Status.FILED, 1), (S2, Status.FILED, 2),
                                                            (S3, Status.FILED, 3)], [o.findings.codes() for o in outs]
    (orig,) = originals(ws)
    assert orig.sha256 == sha(path) and orig.path.read_bytes() == path.read_bytes()  # the original, once, as sent
    assert orig.retention == get_item(ws, outs[0].archival_code).retention  # kept as long as its cards
    for o in outs:
        assert o.answers == expected(truth, o.serial)  # type: ignore[arg-type]
        item = get_item(ws, o.archival_code)
        assert item is not None and item.form_type == FormType.CARD_RETURNED and item.serial == o.serial
        assert item.extra["source"]["archival_code"] == orig.archival_code and item.extra["page"] == o.page - 1
        assert item.path.read_bytes()[:5] == b"%PDF-" and _page_count(item.path) == 1
        j = o.to_json()
        assert (j["page"], j["original"]["archival_code"], j["original"]["cards"], j["original"]["pages"]) == (
            o.page, orig.archival_code, 3, 3)
        # What the card says is data in the register, like a single return.
        with session(ws) as s:
            said = readings.current(s, item.id)
        assert said is not None and said.answers_json() == o.answers
        v = visit(ws, o.serial)  # type: ignore[arg-type]
        assert (v.card_status, v.card_version, v.card_answers) == ("received", 1, o.answers)
    assert "VIOLATION" in visit(ws, S1).card_flags and "VIOLATION" in visit(ws, S3).card_flags
    assert "VIOLATION" not in visit(ws, S2).card_flags
    rep = verify(ws, deep=True)
    assert rep.ok, [str(f) for f in rep.findings]
    assert rep.items == 4  # the original and three cards


def _page_count(p: Path) -> int:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(p))
    try:
        return len(doc)
    finally:
        doc.close()


def test_ingest_json_reports_one_record_per_card(ws: Workspace, stacks: dict) -> None:  # type: ignore[type-arg]
    path, _ = stacks["三张.pdf"]
    shutil.copy(path, ws.inbox / "扫描.pdf")
    r = CliRunner().invoke(app, ["ingest", "-w", str(ws.root), "--json"])
    lines = [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    assert [(x["file"], x["serial"], x["page"], x["status"]) for x in lines] == [
        ("扫描.pdf", S1, 1, "filed"), ("扫描.pdf", S2, 2, "filed"), ("扫描.pdf", S3, 3, "filed")], r.output[-2000:]
    assert len({x["original"]["archival_code"] for x in lines}) == 1
    shutil.copy(path, ws.inbox / "扫描2.pdf")
    table = CliRunner().invoke(app, ["ingest", "-w", str(ws.root)]).output
    assert "共 1 个文件（含多卡扫描件，共 3 项）" in table.replace("\n", "")


def test_blank_backs_are_skipped_a_foreign_page_said_and_an_unclear_card_waits_alone(ws: Workspace,
                                                                                      stacks: dict) -> None:  # type: ignore[type-arg]
    path, truth = stacks["双面.pdf"]
    outs = drop(ws, path)
    assert [(o.serial, o.status, o.page) for o in outs] == [(S1, Status.FILED, 1), (S2, Status.NEEDS_REVIEW, 3),
                                                            (S3, Status.FILED, 5)]
    notes = [(f.code, str(f.severity), f.where) for f in outs[0].findings if f.code in set(Reason)]
    assert notes == [(Reason.BLANK_PAGE, "info", "第2页"), (Reason.PAGE_NOT_A_CARD, "warning", "第4页"),
                     (Reason.BLANK_PAGE, "info", "第6页")]  # said once, on the first card
    assert not any(f.code in set(Reason) for o in outs[1:] for f in o.findings)
    skipped = outs[0].to_json()["original"]["skipped_pages"]
    assert [(x["page"], x["code"]) for x in skipped] == [(2, "BLANK_PAGE"), (4, "PAGE_NOT_A_CARD"), (6, "BLANK_PAGE")]
    assert outs[1].answers["5"] is None and "第5题" in " ".join(f.message for f in outs[1].findings)
    assert outs[0].answers == expected(truth, S1) and outs[2].answers == expected(truth, S3)
    (w,) = waiting_cards(ws, today=TODAY)
    assert (w.serial, w.unresolved) == (S2, (5,))
    assert visit(ws, S1).card_status == "received" and visit(ws, S3).card_status == "received"


def test_the_same_card_twice_in_a_stack_and_the_same_stack_twice_are_filed_once(ws: Workspace,
                                                                                 stacks: dict) -> None:  # type: ignore[type-arg]
    path, truth = stacks["重复.pdf"]
    outs = drop(ws, path)
    assert [(o.serial, o.status, o.page) for o in outs] == [(S1, Status.FILED, 1), (S1, Status.DUPLICATE, 2),
                                                            (S2, Status.FILED, 3)]
    assert outs[1].duplicate_of == outs[0].archival_code and Reason.DUPLICATE_PAGE in outs[1].findings.codes()
    assert visit(ws, S1).card_version == 1 and outs[0].answers == expected(truth, S1)
    before = len(search(ws))
    again = drop(ws, path, "又扫了一遍.pdf")
    assert [(o.serial, o.status, o.page) for o in again] == [(S1, Status.DUPLICATE, 1), (S2, Status.DUPLICATE, 3)]
    assert [o.duplicate_of for o in again] == [outs[0].archival_code, outs[2].archival_code]
    assert len(search(ws)) == before and visit(ws, S1).card_version == 1
    assert not list(ws.inbox.glob("*.pdf"))


def test_a_card_without_a_readable_serial_waits_for_a_person_the_rest_are_filed(ws: Workspace,
                                                                                stacks: dict) -> None:  # type: ignore[type-arg]
    path, _ = stacks["无编号.pdf"]
    outs = drop(ws, path)
    assert [(o.serial, o.status, o.page) for o in outs] == [(S1, Status.FILED, 1), (None, Status.NEEDS_REVIEW, 2),
                                                            (S3, Status.FILED, 3)]
    (w,) = waiting_cards(ws, today=TODAY)
    assert w.needs_serial and w.archival_code == outs[1].archival_code and w.page == 0
    sheet = sheet_context(ws, w)
    assert sheet["rows"] and sheet["page"]  # rows cropped from this card's own page, and the page to read the serial
    res = confirm(ws, outs[1].archival_code, serial=S2, answers="否否否否否否是否否否", by="刘核对")
    assert res.ok and res.tied and res.yes == [7]
    v = visit(ws, S2)
    assert (v.card_status, v.card_read_by) == ("received", "person") and "VIOLATION" in v.card_flags
    assert waiting_cards(ws, today=TODAY) == []


def test_review_sheets_work_per_card_of_a_stack(ws: Workspace, stacks: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    drop(ws, stacks["双面.pdf"][0])
    drop(ws, stacks["无编号.pdf"][0], "无编号2.pdf")
    waiting = waiting_cards(ws, today=TODAY)
    assert sorted(w.serial for w in waiting) == ["", S2]
    res = write_sheets(ws, waiting, tmp_path / "sheets")
    assert res.pdf is not None and len(res.pngs) == 2 and all(p.stat().st_size > 10_000 for p in res.pngs)
    for w in waiting:
        assert sheet_context(ws, w)["rows"]  # each card's rows cut from its own page


def test_a_multi_page_fax_tiff_stack_files_each_frame_as_a_lossless_png(ws: Workspace, stacks: dict) -> None:  # type: ignore[type-arg]
    path, truth = stacks["传真.tif"]
    outs = drop(ws, path)
    # Bilevel fax pages: a card may go to a person, never with a wrong answer; each is filed on its own.
    assert [(o.serial, o.page) for o in outs] == [(S3, 1), (S1, 3)]
    assert all(o.status in (Status.FILED, Status.NEEDS_REVIEW) for o in outs)
    (orig,) = originals(ws)
    assert orig.format == "tiff" and orig.sha256 == sha(path)
    for o in outs:
        want = expected(truth, o.serial)  # type: ignore[arg-type]
        assert all(a is None or a == want[q] for q, a in o.answers.items())
        assert (o.status is Status.FILED) == (None not in o.answers.values())
        item = get_item(ws, o.archival_code)
        assert item is not None and item.format == "png" and item.extra["source"]["sha256"] == orig.sha256
    assert verify(ws, deep=True).ok


def test_one_card_after_a_blank_page_is_one_card_on_its_page(ws: Workspace, stacks: dict) -> None:  # type: ignore[type-arg]
    path, truth = stacks["一张带背面.pdf"]
    (out,) = drop(ws, path)
    assert (out.serial, out.status, out.page, out.original) == (S1, Status.FILED, 2, None)
    assert out.answers == expected(truth, S1) and out.findings.codes()[0] == Reason.BLANK_PAGE
    assert originals(ws) == [] and get_item(ws, out.archival_code).sha256 == sha(path)  # type: ignore[union-attr]


def test_a_serialless_card_after_a_blank_page_gets_its_sheet_from_its_own_page(ws: Workspace,
                                                                               stacks: dict) -> None:  # type: ignore[type-arg]
    (out,) = drop(ws, stacks["背面在前无编号.pdf"][0])
    assert (out.serial, out.status, out.page) == (None, Status.NEEDS_REVIEW, 2)
    (w,) = waiting_cards(ws, today=TODAY)
    assert w.page == 1 and sheet_context(ws, w)["rows"]


def test_the_bag_for_the_jiwei_carries_the_original_scan_byte_identical(ws: Workspace, stacks: dict,
                                                                        tmp_path: Path) -> None:  # type: ignore[type-arg]
    path, _ = stacks["三张.pdf"]
    drop(ws, path)
    (orig,) = originals(ws)
    res = export_bundle(ws, tmp_path / "bag", today=TODAY)
    assert res.ok, res.findings
    copies = [p for p in (res.bag_dir / "data").rglob(Path(orig.rel_path).name)]
    assert len(copies) == 3 and all(sha(p) == sha(path) for p in copies)  # beside each card cut from it


# ---- crash safety

_KILL = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from engine.inbox import ingest
from engine.workspace import Workspace

moment = sys.argv[2]
inserts = 0

@event.listens_for(Engine, "before_cursor_execute")
def _count(conn, cursor, statement, params, context, executemany):
    global inserts
    if statement.lstrip().upper().startswith("INSERT INTO ARCHIVE_ITEMS"):
        inserts += 1
        if moment == "between_cards" and inserts == 4:  # the original, card 1 and card 2 are filed
            os.kill(os.getpid(), signal.SIGKILL)

@event.listens_for(Session, "after_commit")
def _committed(session):
    if session.get_nested_transaction() is None and moment == "after_commit" and inserts >= 4:
        os.kill(os.getpid(), signal.SIGKILL)

ingest(Workspace.open(sys.argv[1]), workers=1)
"""


@pytest.mark.parametrize("moment", ["between_cards", "after_commit"])
def test_a_crash_while_filing_a_stack_loses_no_card_and_files_none_twice(ws: Workspace, stacks: dict,
                                                                         moment: str) -> None:  # type: ignore[type-arg]
    path, truth = stacks["三张.pdf"]
    shutil.copy(path, ws.inbox / "扫描.pdf")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    r = subprocess.run([sys.executable, "-c", _KILL, str(ws.root), moment], capture_output=True, text=True,
                       env=env, timeout=300, check=False)
    assert r.returncode == -9, r.stderr[-2000:]
    with session(ws) as s:
        filed = s.query(ItemRecord).count()
    assert filed == (0 if moment == "between_cards" else 4)  # all of the file's items, or none
    outs = ingest(ws, workers=1).outcomes
    assert [(o.serial, o.status, o.page) for o in outs] == [(S1, Status.FILED, 1), (S2, Status.FILED, 2),
                                                            (S3, Status.FILED, 3)]
    assert all(o.recovered for o in outs) == (moment == "after_commit")
    cards = search(ws, form_type=FormType.CARD_RETURNED)
    assert sorted(c.serial for c in cards) == [S1, S2, S3] and len(originals(ws)) == 1
    for o in outs:
        assert o.answers == expected(truth, o.serial)  # type: ignore[arg-type]
        assert visit(ws, o.serial).card_version == 1  # type: ignore[arg-type]
    assert not [p for p in ws.inbox.rglob("*.pdf")] and not list(ws.archive.rglob(".ruqi-tmp-*"))
    rep = verify(ws)
    assert rep.ok, [str(f) for f in rep.findings]
