"""四性检测 of the audit log's end: cutting entries off the end is caught whatever else is removed
with them, a fresh archive still passes, and only a person's recorded acceptance clears it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest
from _archive_fixtures import card_meta, pdf_bytes, unique_pdf
from typer.testing import CliRunner

from engine import db
from engine.archive import ItemRow, audit_log, file_item, log_action, verify
from engine.archive.audit import HEAD_NAME
from engine.archive.journal import JOURNAL_NAME
from engine.cli import app
from engine.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def filed(ws: Workspace) -> list[ItemRow]:
    """Three returned cards filed (entries 1–3), then a rejection and an over-cap override (4–5)."""
    rows = [file_item(ws, unique_pdf(i), card_meta(serial=f"140200-2025-{i:04d}")) for i in (1, 2, 3)]
    log_action(ws, "reject", "照片.jpg", details={"reason": "不是 PDF"})
    log_action(ws, "override", "140200-2025-0003", details={"reason": "上级交办"})
    return rows


@contextmanager
def sql(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """What someone with a SQLite browser can do to the database."""
    with closing(sqlite3.connect(ws.archive / "ruqi.sqlite")) as con:
        yield con
        con.commit()


def found(ws: Workspace) -> set[tuple[str, str]]:
    return set(verify(ws).findings.flatten("code", "where"))


def cli_verify(ws: Workspace) -> int:
    return runner.invoke(app, ["archive", "verify", "-w", str(ws.root)]).exit_code


def test_a_fresh_archive_passes(ws: Workspace) -> None:
    rep = verify(ws)
    assert (rep.ok, rep.entries, list(rep.findings)) == (True, 0, [])
    assert not (ws.archive / HEAD_NAME).exists()
    assert cli_verify(ws) == 0  # the CLI logs its run: entry 1, both witnesses created
    assert cli_verify(ws) == 0 and verify(ws).findings.flatten("code") == []


def test_a_normal_archive_passes_and_both_witnesses_follow_the_log(ws: Workspace, filed: list[ItemRow]) -> None:
    assert verify(ws).findings.flatten("code") == []
    with sql(ws) as con:
        assert con.execute("select seq from archive_audit_head").fetchall() == [(5,)]
    assert json.loads((ws.archive / HEAD_NAME).read_text())["seq"] == 5


def test_last_entries_deleted_with_the_head_file_fail_and_stay_failed(ws: Workspace, filed: list[ItemRow]) -> None:
    """The issue's case: the override and the rejection (entries 4–5) and the head file removed."""
    with sql(ws) as con:
        con.execute("delete from archive_audit where seq > 3")
    (ws.archive / HEAD_NAME).unlink()
    rep = verify(ws)
    assert not rep.ok
    assert found(ws) == {("AUDIT_HEAD_MISSING", HEAD_NAME), ("AUDIT_TRUNCATED", "数据库末条记录")}
    msg = next(f.message for f in rep.findings if f.code == "AUDIT_TRUNCATED")
    assert "应至少有 5 条" in msg and "现有 3 条" in msg
    # Each verify run appends its own entry: that must not launder the cut.
    assert cli_verify(ws) == 1
    assert cli_verify(ws) == 1
    assert not (ws.archive / HEAD_NAME).exists()


def test_both_witnesses_deleted_with_the_entries_still_fail(ws: Workspace, filed: list[ItemRow]) -> None:
    with sql(ws) as con:
        con.execute("delete from archive_audit where seq > 3")
        con.execute("delete from archive_audit_head")
    (ws.archive / HEAD_NAME).unlink()
    assert found(ws) == {("AUDIT_HEAD_MISSING", HEAD_NAME), ("AUDIT_HEAD_MISSING", "数据库末条记录")}
    assert cli_verify(ws) == 1 and cli_verify(ws) == 1


def test_index_rows_prove_filing_entries_that_were_cut_off(ws: Workspace, filed: list[ItemRow]) -> None:
    """Cut back to entry 1 and remove both witnesses: rows 2 and 3 still name entries 2 and 3."""
    with sql(ws) as con:
        con.execute("delete from archive_audit where seq > 1")
        con.execute("delete from archive_audit_head")
    (ws.archive / HEAD_NAME).unlink()
    rep = verify(ws)
    assert ("AUDIT_TRUNCATED", "索引") in found(ws)
    assert {("ARCHIVE_ROW_UNLOGGED", f"{r.archival_code} {r.rel_path}") for r in filed[1:]} <= found(ws)
    msg = next(f.message for f in rep.findings if f.where == "索引")
    assert "第2条至第3条" in msg and "日志只有 1 条" in msg


def test_a_witness_rewritten_to_match_is_caught_by_the_other(ws: Workspace, filed: list[ItemRow]) -> None:
    with sql(ws) as con:
        con.execute("delete from archive_audit where seq > 3")
        seq, h = con.execute("select seq, hash from archive_audit where seq = 3").fetchone()
        con.execute("update archive_audit_head set seq = ?, hash = ?", (seq, h))
    assert found(ws) == {("AUDIT_TRUNCATED", HEAD_NAME)}
    (ws.archive / HEAD_NAME).write_text(json.dumps({"seq": seq, "hash": h}))
    with sql(ws) as con:
        con.execute("update archive_audit_head set seq = 5, hash = ?", ("ab" * 32,))
    assert found(ws) == {("AUDIT_TRUNCATED", "数据库末条记录")}


def test_an_entry_appended_outside_the_engine_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    """A well-formed entry 6 (right seq, prev_hash and hash) written straight into the table."""
    from engine.archive.audit import entry_hash

    with sql(ws) as con:
        prev, = con.execute("select hash from archive_audit where seq = 5").fetchone()
        at = "2025-03-20T09:00:00.000000+08:00"
        h = entry_hash(6, at, "root", "override", "140200-2025-0002", "{}", prev)
        con.execute("insert into archive_audit values (6, ?, 'root', 'override', '140200-2025-0002', '{}', ?, ?)",
                    (at, prev, h))
    assert found(ws) == {("AUDIT_HEAD_BEHIND", "数据库末条记录")}


def test_a_head_file_carrying_other_content_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    head = json.loads((ws.archive / HEAD_NAME).read_text())
    (ws.archive / HEAD_NAME).write_text(json.dumps({**head, "x": pdf_bytes().hex()}))
    rep = verify(ws)
    assert found(ws) == {("AUDIT_HEAD_INVALID", HEAD_NAME)}
    assert "夹带" in rep.findings.items[0].message


def test_a_lost_first_head_write_is_restored_by_the_database_witness(ws: Workspace) -> None:
    """A crash after the first commit but before the head file was written: verify reports the
    missing file; the next entry restores it, because the database's witness vouches for the log."""
    file_item(ws, unique_pdf(1), card_meta())
    (ws.archive / HEAD_NAME).unlink()
    assert not verify(ws).ok and found(ws) == {("AUDIT_HEAD_MISSING", HEAD_NAME)}
    log_action(ws, "export", "纪委审查包")
    assert verify(ws).findings.flatten("code") == []


def test_accepting_the_log_is_recorded_and_clears_the_finding(ws: Workspace, filed: list[ItemRow]) -> None:
    """A database restored from a backup: the clerk states why; the log keeps what was accepted.
    (The archive's journal is cut too: what it still holds, ``repair`` restores instead.)"""
    with sql(ws) as con:
        con.execute("delete from archive_audit where seq > 3")
    (ws.archive / HEAD_NAME).unlink()
    journal = ws.archive / JOURNAL_NAME
    journal.write_bytes(b"".join(ln for ln in journal.read_bytes().splitlines(keepends=True)
                                 if json.loads(ln)["seq"] <= 3))
    r = runner.invoke(app, ["archive", "repair", "-w", str(ws.root), "--accept-audit-log", " "])
    assert r.exit_code != 0 and not verify(ws).ok
    r = runner.invoke(app, ["archive", "repair", "-w", str(ws.root), "--accept-audit-log", "[6月1日] 从备份恢复数据库"])
    assert r.exit_code == 0 and "已在审计日志第 4 条记录" in r.stdout
    assert cli_verify(ws) == 0
    entry = next(e for e in audit_log(ws) if e.seq == 4)
    assert entry.action == "repair" and entry.details["accept_audit_log"] == "[6月1日] 从备份恢复数据库"
    assert entry.details["head_db"]["seq"] == 5 and entry.details["head_file"]["state"] == "absent"


def test_an_old_database_gets_its_witness_from_the_migration(ws: Workspace, filed: list[ItemRow]) -> None:
    """A workspace made before the database witness existed (schema version 4) upgrades cleanly."""
    with sql(ws) as con:
        con.execute("drop table archive_audit_head")
        con.execute("delete from schema_version where version > 4")
    db._ENGINES.pop(ws.database_url).dispose()  # the next session opens the database afresh
    assert verify(ws).findings.flatten("code") == []
    with sql(ws) as con:
        assert con.execute("select seq from archive_audit_head").fetchall() == [(5,)]
