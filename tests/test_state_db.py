"""The database is an index: losing it must never make the engine reissue serials or 档号.

Each case builds a real workspace (plans generated, a returned Word card ingested), then does to
``archive/ruqi.sqlite`` what happens to files: deleted, truncated, emptied, replaced by an old
backup.  The engine must refuse to number anything (CLI and library), ``ruqi archive repair``
must rebuild the audit log, the index (same 档号 and 件号) and the register (same serials,
numbers and card state) from the archive, ``ruqi archive verify`` must pass, and numbering must
continue after the highest already filed.  ``dispose_engine`` stands for the end of a process:
it closes the pooled connections that would otherwise keep the deleted file open.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from _plan_fixtures import GOOD, _plan
from sqlalchemy import select

from engine.archive import IndexCode, ItemMeta, file_item, verify
from engine.archive.journal import COUNTED_NAME, JOURNAL_NAME, line_count
from engine.archive.models import AuditRecord, ItemRecord
from engine.cli import app
from engine.cli.common import run_app
from engine.db import dispose_engine, session
from engine.findings import RuqiError
from engine.generate import RowStatus, generate
from engine.inbox import ingest
from engine.register import Visit
from engine.simulate import fill_docx
from engine.workspace import Workspace

ROW2 = GOOD | {"企业名称": "大同市云州区示例化工有限公司", "统一社会信用代码": "91140200MA0K7L9P1X",
               "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6)}
ROW3 = GOOD | {"企业名称": "大同市新荣区示例煤业有限公司", "统一社会信用代码": "91140200MA0K5B3Q2F",
               "开始日期": date(2025, 6, 9), "结束日期": date(2025, 6, 10)}
ANSWERS = {i: "否" for i in range(1, 11)} | {3: "是"}


def ruqi(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(sys, "argv", ["ruqi", *args])
    with pytest.raises(SystemExit) as ex:
        run_app(app)
    out = capsys.readouterr()
    return int(ex.value.code or 0), out.out + out.err


def state(ws: Workspace) -> dict[str, Any]:
    """What must survive: the register, the index and the audit chain."""
    with session(ws) as s:
        visits = [(v.serial, v.enterprise, v.uscc, v.kind, v.start, v.visit_total, v.visit_kind, v.issue_date,
                   v.card_status, v.card_answers, sorted(v.card_flags or []))
                  for v in s.scalars(select(Visit).order_by(Visit.serial))]
        items = [(r.id, r.archival_code, r.piece, r.rel_path, r.sha256, r.serial, r.form_type, r.flags)
                 for r in s.scalars(select(ItemRecord).order_by(ItemRecord.id))]
        chain = [(a.seq, a.action, a.hash) for a in s.scalars(select(AuditRecord).order_by(AuditRecord.seq))]
    return {"visits": visits, "items": items, "chain": chain}


@pytest.fixture
def filled(ws: Workspace, tmp_path: Path) -> Workspace:
    """Two inspections generated, the first one's card filled in Word and ingested."""
    res = generate(ws, _plan(tmp_path / "plan.xlsx", [GOOD, ROW2]), formats=("docx",), workers=1)
    assert [o.status for o in res.outcomes] == [RowStatus.GENERATED] * 2
    card = res.outcomes[0].forms[("card", "docx")]
    fill_docx(card, ws.inbox / "反馈卡-恒泰.docx", ANSWERS)
    [out] = ingest(ws).outcomes
    assert out.archival_code, out.findings
    dispose_engine(ws)
    return ws


def sqlite(ws: Workspace) -> Path:
    return ws.archive / "ruqi.sqlite"


def remove_db(ws: Workspace) -> None:
    dispose_engine(ws)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{sqlite(ws)}{suffix}").unlink(missing_ok=True)


def assert_rebuilt(ws: Workspace, before: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = ruqi(capsys, monkeypatch, "archive", "repair", "-w", str(ws.root))
    assert code == 0, out
    assert "已从档案中的日志副本恢复审计日志" in out and "已恢复台账中的检查 2 次" in out
    after = state(ws)
    assert after["visits"] == before["visits"] and after["items"] == before["items"]
    assert after["chain"][:-1] == before["chain"] and after["chain"][-1][1] == "repair"
    rep = verify(ws, deep=True)
    assert rep.ok, [str(f) for f in rep.findings if f.is_error]
    # Numbering continues after the highest already filed.
    top_piece = max(p for _, _, p, *_ in before["items"])
    res = generate(ws, _plan(tmp_path / "plan3.xlsx", [ROW3]), formats=("docx",), workers=1)
    [o] = res.outcomes
    assert o.status is RowStatus.GENERATED and o.serial == "140200-2025-0003" and o.inspection.visit_total == 1
    with session(ws) as s:
        pieces = sorted(r.piece for r in s.scalars(select(ItemRecord).where(ItemRecord.serial == o.serial)))
    assert pieces[0] == top_piece + 1


def assert_refused(ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                   monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    plan = _plan(tmp_path / "plan3.xlsx", [ROW3])
    rc, out = ruqi(capsys, monkeypatch, "generate", "--plan", str(plan), "--formats", "docx", "-w", str(ws.root))
    assert rc == 2 and code in out and "ruqi archive repair" in out and "Traceback" not in out
    res = generate(ws, plan, formats=("docx",), workers=1)  # the library refuses as well
    assert res.outcomes == [] and code in {f.code for f in res.plan_findings}
    with pytest.raises(RuqiError) as e:
        file_item(ws, b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", ItemMeta(
            form_type="other", title="说明", responsible="大同市应急管理局", date=date(2025, 7, 1)))
    assert e.value.finding.code == code
    rc, out = ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))
    assert rc == 2 and code in out
    with session(ws) as s:
        assert s.scalars(select(Visit)).all() == []


def test_deleted_database_is_refused_then_rebuilt_from_the_archive(
        filled: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = filled
    before = state(ws)
    assert [v[8] for v in before["visits"]] == ["received", "none"] and len(before["items"]) == 7
    remove_db(ws)
    assert_refused(ws, tmp_path, capsys, monkeypatch, IndexCode.BEHIND)
    assert_rebuilt(ws, before, tmp_path, capsys, monkeypatch)


def test_truncated_database_gets_a_message_and_is_set_aside(
        filled: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = filled
    before = state(ws)
    dispose_engine(ws)
    data = sqlite(ws).read_bytes()
    sqlite(ws).write_bytes(data[: len(data) // 2])
    rc, out = ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))
    assert rc == 2 and "DB_DAMAGED" in out and "ruqi archive repair" in out and "Traceback" not in out
    assert_rebuilt(ws, before, tmp_path, capsys, monkeypatch)
    [kept] = [p for p in ws.root.glob("ruqi.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert kept.read_bytes() == data[: len(data) // 2]  # set aside as it was, never deleted


def test_database_emptied_to_zero_bytes(
        filled: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = filled
    before = state(ws)
    remove_db(ws)
    sqlite(ws).write_bytes(b"")
    assert_refused(ws, tmp_path, capsys, monkeypatch, IndexCode.BEHIND)
    assert_rebuilt(ws, before, tmp_path, capsys, monkeypatch)


def test_old_backup_restored_is_brought_up_to_date(
        ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    generate(ws, _plan(tmp_path / "p1.xlsx", [GOOD]), formats=("docx",), workers=1)
    dispose_engine(ws)
    backup = tmp_path / "backup.sqlite"
    shutil.copy(sqlite(ws), backup)
    generate(ws, _plan(tmp_path / "p2.xlsx", [ROW2]), formats=("docx",), workers=1)
    before = state(ws)
    remove_db(ws)
    shutil.copy(backup, sqlite(ws))
    rc, out = ruqi(capsys, monkeypatch, "generate", "--plan", str(_plan(tmp_path / "p3.xlsx", [ROW3])), "-w",
                   str(ws.root))
    assert rc == 2 and IndexCode.BEHIND in out
    rc, out = ruqi(capsys, monkeypatch, "archive", "repair", "-w", str(ws.root))
    assert rc == 0 and "已恢复台账中的检查 1 次" in out, out
    after = state(ws)
    assert after["visits"] == before["visits"] and after["items"] == before["items"]
    assert verify(ws).ok


def test_everything_gone_but_the_documents_stays_refused(
        filled: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Database, audit head and journal all deleted: nothing to rebuild from, so no number is
    handed out until a backup is restored."""
    ws = filled
    remove_db(ws)
    (ws.archive / ".ruqi-audit-head").unlink()
    (ws.archive / JOURNAL_NAME).unlink()
    assert_refused(ws, tmp_path, capsys, monkeypatch, IndexCode.LOST)
    rc, out = ruqi(capsys, monkeypatch, "archive", "repair", "-w", str(ws.root))
    assert rc == 1 and IndexCode.LOST in out and "没有需要修复的内容" not in out
    assert IndexCode.LOST in {f.code for f in generate(ws, _plan(tmp_path / "p.xlsx", [ROW3]), formats=("docx",),
                                                        workers=1).plan_findings}


def test_journal_is_written_back_for_an_old_workspace(
        filled: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    ws = filled
    before = state(ws)
    journal = ws.archive / JOURNAL_NAME
    lines = journal.read_bytes().splitlines()
    assert len(lines) == len(before["chain"])
    journal.write_bytes(b"\n".join(lines[:2]) + b"\n")  # as a workspace made before the journal, or lines lost
    rc, _ = ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))
    assert rc == 0
    assert sorted(journal.read_bytes().splitlines()) == sorted(lines)


def test_a_line_missing_among_later_ones_is_written_back_and_only_new_bytes_are_counted(
        filled: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed between its commit and its journal line, while another appended after it:
    the journal's last line is the database's last entry, only the count of lines tells.  The count
    goes on from where the previous command stopped (the journal only grows), and starts over when
    the file is not what was counted."""
    ws = filled
    journal = ws.archive / JOURNAL_NAME
    counted = ws.root / COUNTED_NAME
    assert ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))[0] == 0
    size, lines, _mark = counted.read_text(encoding="ascii").split()
    assert (int(size), int(lines)) == (journal.stat().st_size, journal.read_bytes().count(b"\n"))
    res = generate(ws, _plan(tmp_path / "p3.xlsx", [ROW3]), formats=("docx",), workers=1)
    assert res.outcomes[0].status is RowStatus.GENERATED
    dispose_engine(ws)
    whole = journal.read_bytes().splitlines(keepends=True)
    assert len(whole) > int(lines) + 2  # the new inspection's entries, appended after the counted bytes
    lost = whole[int(lines) + 1]
    journal.write_bytes(b"".join(ln for ln in whole if ln != lost))  # one new line gone, later ones kept
    assert ruqi(capsys, monkeypatch, "status", "-w", str(ws.root))[0] == 0
    assert sorted(journal.read_bytes().splitlines(keepends=True)) == sorted(whole)
    assert line_count(ws) == len(whole)  # from the count kept before the line was written back
    size, lines, _mark = counted.read_text(encoding="ascii").split()
    assert (int(size), int(lines)) == (journal.stat().st_size, len(whole))
    # a journal replaced by another of the same length: the cache does not match its bytes, all is counted
    journal.write_bytes(b"".join(whole[:-2]) + b" " * (len(whole[-2]) + len(whole[-1]) - 1) + b"\n")
    assert line_count(ws) == len(whole) - 1
    counted.write_text("garbage", encoding="ascii")
    assert line_count(ws) == len(whole) - 1


def test_nothing_hides_in_the_journal(filled: Workspace) -> None:
    """The journal is skipped by the store check, so verify checks its every line against the log."""
    ws = filled
    assert verify(ws).ok
    journal = ws.archive / JOURNAL_NAME
    original = journal.read_bytes()
    journal.write_bytes(original + "不是日志的内容\n".encode())
    assert "JOURNAL_LINE_BAD" in {f.code for f in verify(ws).findings if f.is_error}
    lines = original.splitlines(keepends=True)
    journal.write_bytes(b"".join([*lines[:-1], lines[-1].replace(b'"actor":"', b'"actor":"x')]))
    assert "JOURNAL_DIFFERS" in {f.code for f in verify(ws).findings if f.is_error}
    journal.write_bytes(b"".join(lines[:-1]))  # a line not copied yet: only a warning
    rep = verify(ws)
    assert rep.ok and "JOURNAL_LAGS" in {f.code for f in rep.findings}
