"""四性检测: a clean archive passes; each kind of tampering is caught with its own code."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from _archive_fixtures import card_meta, docx_bytes, pdf_bytes, unique_pdf, xlsx_bytes
from typer.testing import CliRunner

from engine.archive import ItemMeta, ItemRow, file_item, log_action, verify
from engine.archive.audit import HEAD_NAME
from engine.cli import app
from engine.workspace import Workspace


@pytest.fixture
def filed(ws: Workspace) -> list[ItemRow]:
    """A small archive: two inspections' forms, a returned card, a county workbook, some actions."""
    rows = [
        file_item(ws, pdf_bytes("入企检查活动通知书"), card_meta(form_type="notice", title="通知书", responsible="大同市应急管理局")),
        file_item(ws, docx_bytes(), card_meta(form_type="notice", title="通知书", responsible="大同市应急管理局",
                                              original_name="通知书.docx")),
        file_item(ws, unique_pdf(1), card_meta()),
        file_item(ws, unique_pdf(2), card_meta(serial="140200-2025-0002", enterprise="乙公司")),
        file_item(ws, xlsx_bytes(), ItemMeta(form_type="stats_table", title="云州区3月统计表", responsible="云州区应急管理局",
                                             date=card_meta().date, county="云州区")),
    ]
    log_action(ws, "reject", "照片.jpg", details={"reason": "不是 PDF"})
    log_action(ws, "export", "纪委审查包")
    return rows


@contextmanager
def db(ws: Workspace) -> Iterator[sqlite3.Connection]:
    """What someone with a SQLite browser could do to the index."""
    with closing(sqlite3.connect(ws.archive / "ruqi.sqlite")) as con:
        yield con
        con.commit()


def codes(ws: Workspace, **kw: bool | int) -> list[tuple[str, str]]:
    return sorted(set(verify(ws, **kw).findings.flatten("code", "where")))


def where(r: ItemRow) -> str:
    return f"{r.archival_code} {r.rel_path}"


def test_a_clean_archive_passes_all_four_checks(ws: Workspace, filed: list[ItemRow]) -> None:
    rep = verify(ws, deep=True)
    assert (rep.ok, rep.items, rep.entries, rep.parsed, list(rep.findings)) == (True, 5, 7, 5, [])
    assert rep.to_dict()["checks"] == {"真实性": True, "完整性": True, "可用性": True, "安全性": True}
    assert rep.bytes == sum(r.size for r in filed)


def test_a_changed_byte_in_a_file_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    p = filed[2].path
    data = bytearray(p.read_bytes())
    data[100] ^= 1
    p.write_bytes(bytes(data))
    assert codes(ws) == [("ARCHIVE_HASH_MISMATCH", where(filed[2]))]
    f = verify(ws).findings.items[0]
    assert f.message.startswith("真实性：SHA-256 为 ") and "文件内容被改动" in f.message


def test_a_truncated_file_is_caught_by_size_hash_and_usability(ws: Workspace, filed: list[ItemRow]) -> None:
    p = filed[0].path
    p.write_bytes(p.read_bytes()[:-2000])
    assert {c for c, _ in codes(ws)} == {"ARCHIVE_SIZE_MISMATCH", "ARCHIVE_HASH_MISMATCH", "ARCHIVE_UNREADABLE"}


def test_a_file_replaced_by_another_format_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    filed[2].path.write_bytes(docx_bytes())
    assert {c for c, _ in codes(ws)} == {"ARCHIVE_SIZE_MISMATCH", "ARCHIVE_HASH_MISMATCH", "ARCHIVE_FORMAT_MISMATCH"}


def test_missing_and_unindexed_files_are_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    filed[3].path.unlink()
    stray = filed[0].path.parent / "补充材料.pdf"
    stray.write_bytes(pdf_bytes())
    (filed[0].path.parent / "Thumbs.db").write_bytes(b"")  # empty litter is tolerated (see test_archive_verify_store)
    assert codes(ws) == [("ARCHIVE_FILE_MISSING", where(filed[3])),
                         ("ARCHIVE_FILE_UNINDEXED", str(stray.relative_to(ws.archive)))]


def test_an_edited_index_row_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("update archive_items set enterprise = '丙公司' where id = ?", (filed[3].id,))
    rep = verify(ws)
    assert rep.findings.flatten("code", "where") == [("ARCHIVE_ROW_ALTERED", where(filed[3]))]
    assert rep.findings.items[0].message == "真实性：索引记录与归档时的记录不一致：企业名称 现为“丙公司”，归档时为“乙公司”。"


def test_a_swapped_file_with_a_matching_forged_row_is_still_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    """Replacing the file *and* updating its hash, size and SM3 in the index: the audit entry disagrees."""
    import hashlib

    forged = unique_pdf(99)
    filed[2].path.write_bytes(forged)
    with db(ws) as con:
        con.execute("update archive_items set sha256 = ?, sm3 = ?, size = ? where id = ?",
                    (hashlib.sha256(forged).hexdigest(), hashlib.new("sm3", forged).hexdigest(), len(forged), filed[2].id))
    assert codes(ws, deep=True) == [("ARCHIVE_ROW_ALTERED", where(filed[2]))]


def test_a_deleted_index_row_leaves_a_gap_and_an_unindexed_file(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("delete from archive_items where id = ?", (filed[1].id,))
    assert codes(ws) == [("ARCHIVE_FILE_UNINDEXED", filed[1].rel_path), ("ARCHIVE_PIECE_GAP", "2025 年度"),
                         ("ARCHIVE_ROW_DELETED", "日志第2条")]
    messages = {f.code: f.message for f in verify(ws).findings}
    assert "缺少：0002" in messages["ARCHIVE_PIECE_GAP"]
    assert messages["ARCHIVE_ROW_DELETED"] == "完整性：审计日志第2条记载归档了 J001-WS·2025-D30-AQJ-0002，但索引中已没有这一件。"


def test_a_renumbered_row_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("update archive_items set piece = 9 where id = ?", (filed[4].id,))
    assert {c for c, _ in codes(ws)} == {"ARCHIVE_ROW_ALTERED", "ARCHIVE_CODE_MISMATCH", "ARCHIVE_PIECE_GAP"}


def test_a_row_without_its_filing_entry_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("update archive_items set audit_seq = 6 where id = ?", (filed[0].id,))
    assert codes(ws) == [("ARCHIVE_ROW_UNLOGGED", where(filed[0]))]


def test_an_edited_log_entry_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("""update archive_audit set details = '{"reason":"已处理"}' where seq = 6""")
    assert codes(ws) == [("AUDIT_ENTRY_ALTERED", "日志第6条")]


def test_an_edited_filing_entry_is_caught_even_with_a_matching_row(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        details, = con.execute("select details from archive_audit where seq = 4").fetchone()
        d = json.loads(details)
        d["item"]["enterprise"] = "丙公司"
        con.execute("update archive_audit set details = ? where seq = 4", (json.dumps(d, ensure_ascii=False),))
        con.execute("update archive_items set enterprise = '丙公司' where id = ?", (filed[3].id,))
    assert codes(ws) == [("AUDIT_ENTRY_ALTERED", "日志第4条")]


def test_a_deleted_log_entry_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("delete from archive_audit where seq = 6")
    assert codes(ws) == [("AUDIT_CHAIN_BROKEN", "日志第7条"), ("AUDIT_SEQ_GAP", "日志第7条")]


def test_reordered_log_entries_are_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    """Swap two entries' positions (each keeps its own hash and prev_hash)."""
    with db(ws) as con:
        con.execute("update archive_audit set seq = -6 where seq = 6")
        con.execute("update archive_audit set seq = 6 where seq = 7")
        con.execute("update archive_audit set seq = 7 where seq = -6")
    found = {c for c, _ in codes(ws)}
    assert {"AUDIT_CHAIN_BROKEN", "AUDIT_ENTRY_ALTERED"} <= found


def test_an_inserted_log_entry_is_caught(ws: Workspace, filed: list[ItemRow]) -> None:
    """Insert a forged entry after seq 5, renumbering the later ones and recomputing its own hash."""
    from engine.archive.audit import entry_hash

    with db(ws) as con:
        prev, = con.execute("select hash from archive_audit where seq = 5").fetchone()
        con.execute("update archive_audit set seq = seq + 100 where seq > 5")
        con.execute("update archive_audit set seq = seq - 99 where seq > 100")
        at = "2025-03-12T10:00:00.000000+08:00"
        h = entry_hash(6, at, "root", "override", "140200-2025-0009", "{}", prev)
        con.execute("insert into archive_audit values (6, ?, 'root', 'override', '140200-2025-0009', '{}', ?, ?)",
                    (at, prev, h))
    found = {c for c, _ in codes(ws)}
    assert "AUDIT_ENTRY_ALTERED" in found and "AUDIT_CHAIN_BROKEN" in found


def test_a_cut_off_log_tail_is_caught_by_the_head_record(ws: Workspace, filed: list[ItemRow]) -> None:
    with db(ws) as con:
        con.execute("delete from archive_audit where seq = 7")
    assert codes(ws) == [("AUDIT_TRUNCATED", HEAD_NAME), ("AUDIT_TRUNCATED", "数据库末条记录")]
    (ws.archive / HEAD_NAME).unlink()  # hiding the head file too: see test_archive_verify_audit


def test_deep_check_opens_each_file_with_its_parser(ws: Workspace) -> None:
    """A PDF with a sound header and trailer but a broken body passes the container check; the
    parser (every file with deep, a sample otherwise) finds it."""
    hollow = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    row = file_item(ws, hollow, card_meta())
    assert codes(ws, sample=0) == []
    assert codes(ws, deep=True) == codes(ws) == [("ARCHIVE_UNREADABLE", where(row))]  # 1 item: always sampled


def test_generated_pdf_not_in_pdfa_is_a_warning(ws: Workspace) -> None:
    row = file_item(ws, pdf_bytes(pdfa=False), card_meta(form_type="card_generated", responsible="大同市应急管理局"))
    rep = verify(ws)
    assert rep.ok and rep.findings.flatten("code", "where", "severity") == [("ARCHIVE_NOT_PDFA", where(row), "warning")]


def test_cli_exit_code_and_json(ws: Workspace, filed: list[ItemRow]) -> None:
    r = CliRunner().invoke(app, ["archive", "verify", "-w", str(ws.root)])
    assert r.exit_code == 0 and "四性检测全部通过" in r.stdout
    filed[0].path.write_bytes(b"%PDF-1.7\n%%EOF\n")
    r = CliRunner().invoke(app, ["archive", "verify", "-w", str(ws.root), "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 1 and out["ok"] is False and out["checks"]["真实性"] is False
    assert {(f["code"], f["check"]) for f in out["findings"]} == {
        ("ARCHIVE_SIZE_MISMATCH", "真实性"), ("ARCHIVE_HASH_MISMATCH", "真实性"), ("ARCHIVE_UNREADABLE", "可用性")}
    r = CliRunner().invoke(app, ["archive", "log", "-w", str(ws.root), "--json", "--action", "verify"])
    assert [json.loads(x)["details"]["ok"] for x in r.stdout.splitlines()] == [True, False]


def test_verify_only_reads(ws: Workspace, filed: list[ItemRow]) -> None:
    before = sorted((p, p.stat().st_mtime_ns) for p in ws.archive.rglob("*") if p.is_file() and "sqlite" not in p.name)
    verify(ws, deep=True)
    after = sorted((p, p.stat().st_mtime_ns) for p in ws.archive.rglob("*") if p.is_file() and "sqlite" not in p.name)
    assert before == after and all(isinstance(p, Path) for p, _ in after)
