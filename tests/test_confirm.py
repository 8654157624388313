"""A person's reading of a paper card: the waiting list, confirming all ten or one question, refusing
to overwrite, correcting with a reason, tying a photo without a readable serial, the audit entries,
and the confirmed card counting exactly like a ticked PDF in the register and the 纪委 review.

The cards are real files: the generated card rendered to a picture the way a scanner gives it,
one with its QR painted over, and a card ticked in a PDF reader, all filed by the inbox."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from _confirm_fixtures import drop, scan_png
from _inbox_fixtures import ANSWERS_CLEAN, ANSWERS_VIOLATION, kit, new_workspace, tick_pdf, visit
from typer.testing import CliRunner

from engine import readings
from engine.archive import Action, audit_log
from engine.cli import app
from engine.confirm import ConfirmCode, confirm, parse_answers, waiting_cards
from engine.db import session
from engine.inbox import Flag, Status
from engine.readback.common import Decided
from engine.review import ReviewFlag, build_review
from engine.workspace import Workspace

S1, S2 = "140200-2025-0001", "140200-2025-0002"
RECEIVED = datetime(2025, 3, 5, 9, 0)  # the day after inspection 1 ended: neither late nor early
TODAY = date(2025, 3, 12)
CLEAN = "否否否否否否否否否否"
THIRD_YES = "否否是否否否否否否否"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture(scope="module")
def pictures(cards: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pictures")
    return {"scan": scan_png(cards / "0.pdf", d / "扫描件.png"),
            "no_qr": scan_png(cards / "1.pdf", d / "手机照片.png", cover_qr=True),
            "ticked": tick_pdf(cards / "0.pdf", d / "ticked.pdf", ANSWERS_CLEAN),
            "ticked_yes": tick_pdf(cards / "1.pdf", d / "ticked_yes.pdf", ANSWERS_VIOLATION)}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=2)


def _sha(ws: Workspace, rel: str) -> str:
    return hashlib.sha256((ws.archive / rel).read_bytes()).hexdigest()


def test_a_scan_waits_then_a_persons_yes_counts_like_a_ticked_pdf(ws: Workspace, pictures: dict[str, Path]) -> None:
    out = drop(ws, pictures["scan"], "扫描件.png", RECEIVED)
    assert out.status is Status.NEEDS_REVIEW and out.serial == S1
    original = _sha(ws, out.location)

    (w,) = waiting_cards(ws, today=TODAY)
    assert (w.serial, w.enterprise, w.days_waiting) == (S1, visit(ws, S1).enterprise, 7)
    assert w.unresolved == tuple(range(1, 11))
    assert all(w.machine[i].answer is None and w.machine[i].how is Decided.MARK and w.machine[i].confidence == 0
               for i in range(1, 11))
    assert build_review(ws, today=TODAY).entry(S1).read_by is readings.ReadBy.WAITING  # type: ignore[union-attr]

    res = confirm(ws, S1, answers=THIRD_YES, by="刘核对", now=datetime(2025, 3, 12, 10, 0))
    assert res.ok, res.findings
    assert res.read_by is readings.ReadBy.PERSON and res.unresolved == [] and res.yes == [3]
    assert waiting_cards(ws, today=TODAY) == []
    v = visit(ws, S1)
    assert (v.card_status, v.card_read_by, v.card_answers["3"]) == ("received", "person", "是")
    assert Flag.VIOLATION in v.card_flags and Flag.NEEDS_REVIEW not in v.card_flags

    review = build_review(ws, today=TODAY)
    e = review.entry(S1)
    assert e is not None and ReviewFlag.VIOLATION in e.flags and ReviewFlag.CARD_UNREAD not in e.flags
    assert [(x.entry.serial, x.questions) for x in review.violations] == [(S1, (3,))]
    assert e.read_by is readings.ReadBy.PERSON and e.read_people == ("刘核对",)

    (entry,) = audit_log(ws, action=Action.CONFIRM)
    assert (entry.actor, entry.object) == ("刘核对", S1)
    assert entry.details["recorded"] == {str(i): a for i, a in enumerate(THIRD_YES, start=1)}
    assert entry.details["machine"]["3"] == {"machine": None, "how": "mark", "confidence": 0.0, "answer": None,
                                             "decided_by": None}
    assert entry.details["before"]["3"] is None and entry.details["sha256"] == original
    assert _sha(ws, out.location) == original  # the archived scan is byte for byte what came in


def test_per_question_then_no_overwrite_without_correct_then_correct_with_reason(
        ws: Workspace, pictures: dict[str, Path]) -> None:
    drop(ws, pictures["scan"], "扫描件.png", RECEIVED)
    res = confirm(ws, S1, questions=["3=是"], by="刘核对")
    assert res.ok and res.recorded == {3: "是"} and res.unresolved == [1, 2, 4, 5, 6, 7, 8, 9, 10]
    (w,) = waiting_cards(ws, today=TODAY)
    assert w.unresolved == (1, 2, 4, 5, 6, 7, 8, 9, 10) and w.now[3].how is Decided.PERSON
    assert visit(ws, S1).card_answers["3"] == "是" and visit(ws, S1).card_status == "needs_review"

    # The other nine, typed as ten: question 3 typed otherwise than recorded is refused, nothing written.
    bad = confirm(ws, S1, answers=CLEAN, by="王二")
    assert bad.findings.codes() == [ConfirmCode.WOULD_OVERWRITE] and "第3题已识读为“是”" in list(bad.findings)[0].message
    assert visit(ws, S1).card_answers["1"] is None
    assert confirm(ws, S1, answers=THIRD_YES, by="王二").ok
    assert visit(ws, S1).card_read_by == "person"

    again = confirm(ws, S1, questions=["3=否"], by="王二")
    assert again.findings.codes() == [ConfirmCode.ALREADY_READ] and "--correct" in list(again.findings)[0].message
    assert confirm(ws, S1, questions=["3=否"], by="王二", correct=True).findings.codes() == [ConfirmCode.REASON_REQUIRED]
    assert confirm(ws, S1, questions=["3=是"], by="王二", correct=True, reason="核对").findings.codes() == [
        ConfirmCode.UNCHANGED]

    fixed = confirm(ws, S1, questions=["3=否"], by="王二", correct=True, reason="复核原件：第3题勾的是“否”")
    assert fixed.ok and fixed.yes == [] and fixed.before[3] == "是"
    v = visit(ws, S1)
    assert v.card_answers["3"] == "否" and Flag.VIOLATION not in v.card_flags
    (corr,) = audit_log(ws, action=Action.CORRECT)
    assert corr.details["reason"] == "复核原件：第3题勾的是“否”" and corr.details["before"]["3"] == "是"
    review = build_review(ws, today=TODAY)
    assert [(c.serial, c.question, c.before, c.after, c.by, c.reason) for c in review.corrections] == [
        (S1, 3, "是", "否", "王二", "复核原件：第3题勾的是“否”")]
    assert ReviewFlag.ANSWER_CORRECTED in review.entry(S1).flags  # type: ignore[union-attr]


def test_a_ticked_pdf_is_read_by_machine_and_changed_only_with_correct(ws: Workspace, pictures: dict[str, Path]) -> None:
    out = drop(ws, pictures["ticked"], "ticked.pdf", RECEIVED)
    assert out.status is Status.FILED
    with session(ws) as s:
        said = readings.current(s, out.item_id or 0)
    assert said is not None and said.read_by is readings.ReadBy.MACHINE
    assert {d.how for d in said.now.values()} == {Decided.FIELD} and all(d.confidence == 1.0 for d in said.now.values())
    assert waiting_cards(ws, today=TODAY) == []
    assert build_review(ws, today=TODAY).entry(S1).read_by is readings.ReadBy.MACHINE  # type: ignore[union-attr]
    assert visit(ws, S1).card_read_by == "machine"

    refused = confirm(ws, S1, answers=THIRD_YES, by="刘核对")
    assert refused.findings.codes() == [ConfirmCode.ALREADY_READ] and "机器识读" in list(refused.findings)[0].message
    fixed = confirm(ws, S1, answers=THIRD_YES, by="刘核对", correct=True, reason="企业来电：第3题勾错")
    assert fixed.ok and fixed.yes == [3]
    e = build_review(ws, today=TODAY).entry(S1)
    assert e is not None and ReviewFlag.VIOLATION in e.flags and e.read_by is readings.ReadBy.PERSON


def test_a_photo_without_a_readable_serial_is_tied_by_a_person(ws: Workspace, pictures: dict[str, Path]) -> None:
    out = drop(ws, pictures["no_qr"], "手机照片.png", datetime(2025, 3, 9, 8, 0))
    assert out.serial is None and out.status is Status.NEEDS_REVIEW
    (w,) = waiting_cards(ws, today=TODAY)
    assert w.needs_serial and w.archival_code == out.archival_code and w.days_waiting == 3

    nothing_yet = confirm(ws, out.archival_code, answers=THIRD_YES, by="刘核对")
    assert nothing_yet.findings.codes() == [ConfirmCode.NEEDS_SERIAL]
    unknown = confirm(ws, out.archival_code, serial="140200-2025-0099", answers=THIRD_YES, by="刘核对")
    assert unknown.findings.codes() == [ConfirmCode.SERIAL_UNKNOWN]
    with session(ws) as s:
        assert readings.ties(s) == {}  # refused: nothing tied

    res = confirm(ws, out.archival_code, serial=S2, answers=THIRD_YES, by="刘核对")
    assert res.ok and res.tied and res.serial == S2 and res.yes == [3]
    v = visit(ws, S2)
    assert (v.card_status, v.card_read_by, v.card_version) == ("received", "person", 1)
    assert Flag.VIOLATION in v.card_flags and Flag.QR_MISSING in v.card_flags
    (tie,) = audit_log(ws, action=Action.TIE)
    assert (tie.object, tie.actor, tie.details["archival_code"]) == (S2, "刘核对", out.archival_code)
    review = build_review(ws, today=TODAY)
    assert [x.entry.serial for x in review.violations] == [S2]
    assert any(c.serial == S2 and c.entry is not None for c in review.qr_missing)
    # Tied once, it stays tied.
    twice = confirm(ws, out.archival_code, serial=S1, by="刘核对")
    assert twice.findings.codes() == [ConfirmCode.ALREADY_TIED]


@pytest.mark.parametrize(("answers", "code", "words"), [
    ("否否是否否否否否否", ConfirmCode.ANSWERS_LENGTH, "现在是9个"),
    ("否否是否否否否否否否否", ConfirmCode.ANSWERS_LENGTH, "现在是11个"),
    ("否否是否否否否否否对", ConfirmCode.ANSWER_INVALID, "第10个字“对”"),
    ("nnynnnnnnn", ConfirmCode.ANSWER_INVALID, "第1个字“n”"),
])
def test_malformed_answers_are_refused_in_chinese(answers: str, code: ConfirmCode, words: str) -> None:
    got, problems = parse_answers(answers)
    assert got == {} and [p.code for p in problems] == [code] and words in problems[0].message


def test_bad_input_through_the_command_line(ws: Workspace, pictures: dict[str, Path]) -> None:
    drop(ws, pictures["scan"], "扫描件.png", RECEIVED)
    run = CliRunner()

    def cli(*args: str) -> tuple[int, str]:
        r = run.invoke(app, ["confirm", *args, "-w", str(ws.root)], env={"COLUMNS": "200"})
        return r.exit_code, r.output

    listed = cli()
    assert listed[0] == 0 and S1 in listed[1] and "等待天数" in listed[1]
    for args, code in [
        ((S1, "--answers", "否否是否否否否否否否否", "--by", "刘"), ConfirmCode.ANSWERS_LENGTH),
        ((S1, "--answers", "否否是否否否否否否x", "--by", "刘"), ConfirmCode.ANSWER_INVALID),
        (("140200-2025-0099", "--answers", THIRD_YES, "--by", "刘"), ConfirmCode.SERIAL_UNKNOWN),
        ((S2, "--answers", THIRD_YES, "--by", "刘"), ConfirmCode.NO_CARD),
        (("不是编号", "--answers", THIRD_YES, "--by", "刘"), ConfirmCode.CARD_UNKNOWN),
        ((S1, "--q", "11=是", "--by", "刘"), ConfirmCode.QUESTION_INVALID),
        ((S1, "--answers", THIRD_YES), ConfirmCode.BY_REQUIRED),
        ((S1, "--by", "刘"), ConfirmCode.NOTHING_GIVEN),
    ]:
        exit_code, text = cli(*args)
        assert exit_code == 1 and code in text and "✗" in text, (args, text)
    assert visit(ws, S1).card_status == "needs_review"  # nothing of the refused calls was recorded
    ok = cli(S1, "--answers", THIRD_YES, "--by", "刘核对")
    assert ok[0] == 0 and "已录入" in ok[1] and "第3题回答“是”" in ok[1]
    assert "没有待核对的反馈卡" in cli()[1]


def test_migration_8_gives_a_filled_workspace_its_readings(ws: Workspace, pictures: dict[str, Path]) -> None:
    """A workspace as release 7 left it (cards filed, no per-question readings, no card_read_by) opens
    with every filed card's answers in the register, a ticked PDF read by machine, a scan waiting."""
    import sqlite3

    from engine.db import dispose_engine, get_engine

    ticked = drop(ws, pictures["ticked_yes"], "ticked_yes.pdf", datetime(2025, 3, 9, 9, 0))
    scan = drop(ws, pictures["scan"], "扫描件.png", RECEIVED)
    dispose_engine(ws)
    db = sqlite3.connect(ws.archive / "ruqi.sqlite")
    db.executescript("DROP TABLE card_readings; DROP TABLE card_ties; ALTER TABLE visits DROP COLUMN card_read_by;"
                     # and what migration 10 (the shared register) added after it
                     "DROP TABLE outside_visits; DROP INDEX ix_visits_year_seq; ALTER TABLE visits DROP COLUMN "
                     "register_state; ALTER TABLE visits DROP COLUMN register_note; ALTER TABLE visits DROP COLUMN "
                     "cross_reason; DROP TABLE card_now; DELETE FROM schema_version WHERE version >= 9;")
    db.close()

    get_engine(ws)  # opening the workspace runs migration 9
    with session(ws) as s:
        pdf = readings.current(s, ticked.item_id or 0)
        png = readings.current(s, scan.item_id or 0)
    assert pdf is not None and pdf.read_by is readings.ReadBy.MACHINE and pdf.yes == [3, 8]
    assert {d.how for d in pdf.now.values()} == {Decided.FIELD}
    assert png is not None and png.unresolved == list(range(1, 11)) and png.now[1].how is Decided.MARK
    assert (visit(ws, S2).card_read_by, visit(ws, S1).card_read_by) == ("machine", "waiting")
    assert [w.serial for w in waiting_cards(ws, today=TODAY)] == [S1]
    assert confirm(ws, S1, answers=CLEAN, by="刘核对").ok
    assert [x.entry.serial for x in build_review(ws, today=TODAY).violations] == [S2]


def test_review_sheets_one_png_per_waiting_card_and_one_pdf(ws: Workspace, pictures: dict[str, Path]) -> None:
    import pdfplumber
    from PIL import Image

    from engine.confirm_sheet import write_sheets

    drop(ws, pictures["scan"], "扫描件.png", RECEIVED)
    photo = drop(ws, pictures["no_qr"], "手机照片.png", datetime(2025, 3, 9, 8, 0))
    r = CliRunner().invoke(app, ["confirm", "-w", str(ws.root)], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "核对单" in r.output
    folder = ws.outbox / "待核对"
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert len(pngs) == 2 and f"核对单-{S1}.png" in pngs
    with Image.open(folder / f"核对单-{S1}.png") as img:
        assert img.width >= 850 and img.height > img.width  # an A4 page, readable printed
    with pdfplumber.open(folder / "待核对反馈卡.pdf") as pdf:
        pages = [re.sub(r"\s+", "", p.extract_text() or "") for p in pdf.pages]
    assert len(pages) == 2
    first = next(p for p in pages if S1 in p)
    assert "反馈卡人工核对单" in first and "待核对的题第1、2、3" in first.replace("全部十题", "第1、2、3")
    assert "二、是否不按规定缴纳伙食费；" in first and f"ruqiconfirm{S1}" in first
    loose = next(p for p in pages if S1 not in p)
    assert "读不出编号" in loose and photo.archival_code.replace(" ", "") in loose and "--serial" in loose

    # Confirmed, a card's sheet goes; the other stays.
    assert confirm(ws, S1, answers=CLEAN, by="刘核对").ok
    res = write_sheets(ws, waiting_cards(ws, today=TODAY))
    assert [p.name for p in res.pngs] == [p.name for p in folder.glob("*.png")] and len(res.pngs) == 1


def test_a_rebuilt_database_gets_the_peoples_readings_back_from_the_audit_log(tmp_path: Path) -> None:
    """The database is lost; ``ruqi archive repair`` rebuilds the register from the archive and replays
    each person's reading, correction and tie from the audit log: the 是 is back on the 纪委 list."""
    from _plan_fixtures import GOOD, _plan

    from engine import workspace
    from engine.db import dispose_engine
    from engine.generate import generate
    from engine.recover import repair_workspace

    ws = workspace.init(tmp_path / "ws")
    row2 = GOOD | {"企业名称": "大同市云州区示例化工有限公司", "统一社会信用代码": "91140200MA0K7L9P1X",
                   "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6)}
    res = generate(ws, _plan(tmp_path / "plan.xlsx", [GOOD, row2]), formats=("pdf",), workers=1)
    first, second = (o.serial for o in res.outcomes)
    pdfs = [o.forms[("card", "pdf")] for o in res.outcomes]
    drop(ws, scan_png(pdfs[0], tmp_path / "scan.png"), "scan.png", datetime(2025, 5, 20))
    photo = drop(ws, scan_png(pdfs[1], tmp_path / "photo.png", cover_qr=True), "photo.png", datetime(2025, 5, 20))
    assert confirm(ws, first, answers=CLEAN, by="刘核对").ok
    assert confirm(ws, first, questions=["3=是"], by="王二", correct=True, reason="复核原件").ok
    assert confirm(ws, photo.archival_code, serial=second, answers=CLEAN, by="刘核对").ok
    before = {s: (visit(ws, s).card_answers, visit(ws, s).card_read_by, sorted(visit(ws, s).card_flags or []))
              for s in (first, second)}

    dispose_engine(ws)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{ws.archive / 'ruqi.sqlite'}{suffix}").unlink(missing_ok=True)
    rep = repair_workspace(ws, actor="管理员")
    assert rep.restored["visits"] == 2
    after = {s: (visit(ws, s).card_answers, visit(ws, s).card_read_by, sorted(visit(ws, s).card_flags or []))
             for s in (first, second)}
    assert after == before and after[first][0]["3"] == "是" and after[second][1] == "person"
    review = build_review(ws, today=date(2025, 6, 1))
    assert [x.entry.serial for x in review.violations] == [first]
    assert [(c.serial, c.question, c.before, c.after) for c in review.corrections] == [(first, 3, "否", "是")]
    assert waiting_cards(ws, today=date(2025, 6, 1)) == []


def test_ingest_tells_the_clerk_where_waiting_cards_go(ws: Workspace, pictures: dict[str, Path]) -> None:
    import os
    import shutil

    target = ws.inbox / "扫描件.png"
    shutil.copy(pictures["scan"], target)
    os.utime(target, (RECEIVED.timestamp(), RECEIVED.timestamp()))
    r = CliRunner().invoke(app, ["ingest", "-w", str(ws.root)], env={"COLUMNS": "300"})
    assert r.exit_code == 0 and "用 ruqi confirm 列出、核对并录入" in r.output and "inbox/needs_review/" not in r.output


def test_a_ticked_scan_with_one_ambiguous_row_waits_for_that_row_only(
        ws: Workspace, cards: Path, tmp_path: Path) -> None:
    """A printed card ticked with a pen (是 on question 3, both boxes on question 5), scanned skewed: the
    machine's nine answers count, question 5 waits; the sheet shows the ten rows cropped from the scan."""
    import pdfplumber

    from engine.confirm_sheet import write_sheets
    from engine.simulate_scan import Ambiguity, Capture, paper_card

    paper_card(cards / "0.pdf", tmp_path / "扫描.png", {3: "是"}, Capture(dpi=200, skew=2.0), 7,
               ambiguous={5: Ambiguity.BOTH})
    out = drop(ws, tmp_path / "扫描.png", "扫描.png", RECEIVED)
    assert out.status is Status.NEEDS_REVIEW and out.serial == S1
    (w,) = waiting_cards(ws, today=TODAY)
    assert w.unresolved == (5,) and w.machine[3].answer == "是" and w.machine[3].how is Decided.MARK
    assert w.machine[3].confidence >= 0.5 and w.machine[5].answer is None and w.machine[5].note == "both"
    assert visit(ws, S1).card_answers["3"] == "是"  # the machine's sure answers count while 5 waits

    res = write_sheets(ws, [w], tmp_path / "sheets")
    with pdfplumber.open(res.pdf) as pdf:
        (page,) = pdf.pages
        text = re.sub(r"\s+", "", page.extract_text() or "")
        assert len(page.images) >= 10  # the ten cropped answer rows
    assert "待核对的题第5题" in text and "原件上的这一行" in text

    assert confirm(ws, S1, questions=["5=否"], by="刘核对").ok
    v = visit(ws, S1)
    assert (v.card_status, v.card_read_by) == ("received", "person") and Flag.VIOLATION in v.card_flags
    e = build_review(ws, today=TODAY).entry(S1)
    assert e is not None and e.yes_questions == (3,) and ReviewFlag.CARD_UNREAD not in e.flags
