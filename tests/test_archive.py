"""Filing into the archive: bytes kept, 档号 numbered, layout browsable, metadata searchable."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from _archive_fixtures import USCC, card_meta, docx_bytes, pdf_bytes, unique_pdf, xlsx_bytes
from typer.testing import CliRunner

from engine.archive import (
    ItemMeta,
    StoreCode,
    audit_log,
    file_item,
    find_sha256,
    get_item,
    items_for_serial,
    latest_item,
    log_action,
    repair,
    search,
    verify,
)
from engine.archive.files import TMP_PREFIX, temp_files
from engine.cli import app
from engine.db import session
from engine.findings import RuqiError
from engine.inbox import Flag
from engine.workspace import Workspace

CARD_DIR = "2025/平城区/140200-2025-0001_大同市示例煤业有限公司"


def notice_meta(fmt: str = "pdf", **kw: object) -> ItemMeta:
    return card_meta(form_type="notice", title="大同市示例煤业有限公司入企检查活动通知书", responsible="大同市应急管理局",
                     original_name=f"入企检查活动通知书.{fmt}", **kw)


def stats_meta(county: str = "云州区", **kw: object) -> ItemMeta:
    fields: dict[str, object] = dict(form_type="stats_table", title=f"{county}2025年3月入企检查统计表",
                                     responsible=f"{county}应急管理局", date=date(2025, 4, 2), county=county,
                                     original_name="统计表.xlsx")
    fields.update(kw)
    return ItemMeta(**fields)  # type: ignore[arg-type]


def test_filed_items_keep_their_bytes_and_get_consecutive_codes(ws: Workspace) -> None:
    pdf, docx, xlsx = pdf_bytes(), docx_bytes(), xlsx_bytes()
    a = file_item(ws, pdf, notice_meta())
    b = file_item(ws, docx, notice_meta("docx"))
    c = file_item(ws, xlsx, stats_meta())

    assert [(r.archival_code, r.rel_path, r.format) for r in (a, b, c)] == [
        ("J001-WS·2025-D30-AQJ-0001", f"{CARD_DIR}/入企检查活动通知书.pdf", "pdf"),
        ("J001-WS·2025-D30-AQJ-0002", f"{CARD_DIR}/入企检查活动通知书.docx", "docx"),
        ("J001-WS·2025-D10-AQJ-0003", "2025/统计报表/云州区/云州区2025年3月入企检查统计表.xlsx", "xlsx"),
    ]
    assert [r.path.read_bytes() for r in (a, b, c)] == [pdf, docx, xlsx]
    assert a.sha256 == __import__("hashlib").sha256(pdf).hexdigest() and len(a.sm3) == 64 and a.size == len(pdf)
    assert (a.format_version, b.format_version) == ("PDF/A-3B", "")
    assert (a.version, b.version) == (1, 1)  # the PDF and the docx of one notice are both the first version


def test_pieces_are_continuous_within_a_year_and_restart_each_year(ws: Workspace) -> None:
    codes = [file_item(ws, unique_pdf(i), card_meta(serial=f"140200-{y}-0001", date=date(y, 3, 1), year=y)).archival_code
             for i, y in enumerate([2025, 2026, 2025, 2026, 2025])]
    assert [(c.split("·")[1][:4], c[-4:]) for c in codes] == [
        ("2025", "0001"), ("2026", "0001"), ("2025", "0002"), ("2026", "0002"), ("2025", "0003")]


def test_fonds_org_and_retention_come_from_config_or_override(tmp_path: Path) -> None:
    from engine.workspace import init

    ws = init(tmp_path / "ws")
    toml = ws.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('fonds_code = "J001"', 'fonds_code = "J123"')
                    .replace('card_returned = "D30"', 'card_returned = "Y"'), encoding="utf-8")
    ws = Workspace.open(ws.root)
    assert file_item(ws, pdf_bytes(), card_meta()).archival_code == "J123-WS·2025-Y-AQJ-0001"
    assert file_item(ws, pdf_bytes(), card_meta(retention="D10")).archival_code == "J123-WS·2025-D10-AQJ-0002"
    with pytest.raises(RuqiError) as e:
        file_item(ws, pdf_bytes(), card_meta(retention="D20"))
    assert e.value.finding.code == StoreCode.RETENTION_INVALID


def test_a_second_returned_card_is_version_2_and_supersedes_the_first(ws: Workspace) -> None:
    v1 = file_item(ws, unique_pdf(1), card_meta())
    v2 = file_item(ws, unique_pdf(2), card_meta(flags=["late"]))
    assert (v2.version, v2.supersedes, Path(v2.rel_path).name) == (2, v1.id, "入企检查监督反馈卡（交回）v2.pdf")
    assert latest_item(ws, "140200-2025-0001", "card_returned") == v2
    assert [r.id for r in search(ws, serial="140200-2025-0001", latest_only=True)] == [v2.id]
    assert [r.id for r in items_for_serial(ws, "140200-2025-0001")] == [v1.id, v2.id]


def test_hostile_names_stay_inside_their_folder(ws: Workspace) -> None:
    evil = "../../etc/恶意\x00公司:*?<>|" + "很长" * 200
    row = file_item(ws, pdf_bytes(), card_meta(enterprise=evil, county="../.."))
    assert row.path.resolve().is_relative_to(ws.archive.resolve())
    parts = Path(row.rel_path).parts
    assert parts[0] == "2025" and ".." not in parts and len(parts) == 4
    assert all(len(p.encode()) <= 180 and not any(ch in p for ch in '\x00:*?<>|') for p in parts)
    assert row.path.read_bytes() == pdf_bytes()


@pytest.mark.parametrize(("data", "meta", "code"), [
    (b"%PDF-1.7\n1 0 obj\n", card_meta(), StoreCode.UNREADABLE),  # truncated: no %%EOF
    (b"GIF89a" + b"\0" * 100, card_meta(original_name="card.gif"), StoreCode.FORMAT_NOT_ALLOWED),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, card_meta(original_name="card.png"), StoreCode.UNREADABLE),
    (b"PK\x03\x04broken", card_meta(original_name="x.docx"), StoreCode.UNREADABLE),
    (b"PK\x03\x04broken", card_meta(original_name="x.zip"), StoreCode.FORMAT_NOT_ALLOWED),
    (None, card_meta(form_type="memo"), StoreCode.FORM_TYPE_UNKNOWN),
    (None, card_meta(serial="", uscc=""), StoreCode.META_MISSING),
    (None, card_meta(supersedes=999), StoreCode.SUPERSEDES_UNKNOWN),
])
def test_refused_items_take_no_number_and_leave_nothing(ws: Workspace, data: bytes | None, meta: ItemMeta,
                                                        code: str) -> None:
    with pytest.raises(RuqiError) as e:
        file_item(ws, data if data is not None else pdf_bytes(), meta)
    assert e.value.finding.code == code
    assert list(temp_files(ws.archive)) == [] and search(ws) == []
    assert file_item(ws, pdf_bytes(), card_meta()).archival_code.endswith("-0001")


def test_missing_fields_are_named_in_chinese(ws: Workspace) -> None:
    with pytest.raises(RuqiError) as e:
        file_item(ws, pdf_bytes(), card_meta(serial="", uscc=""))
    assert e.value.finding.message == "归档缺少必填信息：检查编号、统一社会信用代码"


def test_filing_from_a_path_records_the_original_name(ws: Workspace, tmp_path: Path) -> None:
    src = tmp_path / "大同市示例煤业 反馈卡(盖章).pdf"
    src.write_bytes(pdf_bytes())
    row = file_item(ws, src, card_meta(original_name=""), actor="张三")
    assert (row.original_name, row.actor, row.path.read_bytes()) == (src.name, "张三", pdf_bytes())


def test_search_by_each_criterion(ws: Workspace) -> None:
    a = file_item(ws, unique_pdf(1), card_meta(flags=["yes_answer"]))
    b = file_item(ws, unique_pdf(2), card_meta(serial="140200-2025-0002", enterprise="云冈示例化工有限公司",
                                               uscc="91140200MA0K00000X", county="云冈区", date=date(2025, 4, 1)))
    c = file_item(ws, xlsx_bytes(), stats_meta())

    def ids(**kw: object) -> list[int]:
        return [r.id for r in search(ws, **kw)]  # type: ignore[arg-type]

    assert ids() == [a.id, b.id, c.id]
    assert ids(enterprise="示例煤业") == [a.id]
    assert ids(uscc=USCC.lower()) == [a.id]
    assert ids(serial="140200-2025-0002") == [b.id]
    assert ids(county="云州区") == [c.id]
    assert ids(form_type="card_returned") == [a.id, b.id]
    assert ids(date_from=date(2025, 3, 13), date_to=date(2025, 4, 1)) == [b.id]
    assert ids(flag="yes_answer") == [a.id]
    assert ids(enterprise="%") == []  # wildcards in user input are literal
    assert get_item(ws, a.archival_code) == a and get_item(ws, a.id) == a and get_item(ws, str(a.id)) == a
    assert find_sha256(ws, b.sha256) == [b]


def test_every_filing_and_action_is_in_one_unbroken_chain(ws: Workspace) -> None:
    row = file_item(ws, pdf_bytes(), card_meta(), actor="李四")
    log_action(ws, "reject", "垃圾.pdf", actor="李四", details={"sha256": "ab" * 32, "reason": "不是反馈卡"})
    log_action(ws, "export", "纪委审查包", details={"items": [row.archival_code]})
    entries = audit_log(ws)
    assert [(e.seq, e.action, e.object, e.actor) for e in entries][:2] == [
        (1, "file", row.archival_code, "李四"), (2, "reject", "垃圾.pdf", "李四")]
    assert entries[0].details["item"]["sha256"] == row.sha256
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    assert verify(ws).ok
    assert [e.seq for e in audit_log(ws, limit=1)] == [3]


def test_joining_the_callers_transaction(ws: Workspace) -> None:
    """Generation files the forms in the transaction that records the visit: all or nothing."""
    with pytest.raises(RuntimeError), session(ws) as s:
        row = file_item(ws, pdf_bytes(), card_meta(), session=s)
        assert not row.path.exists()  # moved into place only at commit
        raise RuntimeError("rendering failed")
    assert search(ws) == [] and list(temp_files(ws.archive)) == [] and audit_log(ws) == []

    with session(ws) as s:
        row = file_item(ws, pdf_bytes(), card_meta(), session=s)
        log_action(ws, "generate", row.serial, session=s)
    assert row.path.read_bytes() == pdf_bytes() and row.archival_code.endswith("-0001")
    assert [e.action for e in audit_log(ws)] == ["file", "generate"]
    assert verify(ws).ok


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_repair_finishes_a_committed_filing_and_removes_orphans(ws: Workspace) -> None:
    """The two states a kill -9 can leave, built by hand: the row committed but the file still
    under its temporary name, and a temporary file whose transaction never committed."""
    row = file_item(ws, unique_pdf(1), card_meta())
    pid = _dead_pid()
    pending = row.path.with_name(f"{TMP_PREFIX}{pid}-aaaa")
    row.path.rename(pending)
    orphan = row.path.with_name(f"{TMP_PREFIX}{pid}-bbbb")
    orphan.write_bytes(unique_pdf(2))
    live = row.path.with_name(f"{TMP_PREFIX}{__import__('os').getpid()}-cccc")  # ours: in flight
    live.write_bytes(b"partial")

    before = verify(ws)
    assert sorted(before.findings.flatten("code")) == [
        ("ARCHIVE_FILE_MISSING",), ("ARCHIVE_TEMP_LEFTOVER",), ("ARCHIVE_TEMP_LEFTOVER",), ("ARCHIVE_TEMP_LEFTOVER",)]
    rep = repair(ws)
    assert (rep.completed, rep.removed) == ([row.rel_path], [str(Path(CARD_DIR) / orphan.name)])
    assert rep.in_flight == [str(Path(CARD_DIR) / live.name)]
    live.unlink()
    assert row.path.read_bytes() == unique_pdf(1) and not orphan.exists()
    assert verify(ws).ok
    assert audit_log(ws)[-1].action == "repair"


def test_cli_search_show_and_log(ws: Workspace) -> None:
    row = file_item(ws, pdf_bytes(), card_meta(flags=[Flag.LATE]))
    r = CliRunner().invoke(app, ["archive", "search", "-w", str(ws.root), "--flag", "late", "--json"])  # any case
    assert r.exit_code == 0 and [json.loads(x)["archival_code"] for x in r.stdout.splitlines()] == [row.archival_code]
    r = CliRunner().invoke(app, ["archive", "search", "-w", str(ws.root), "-e", "示例"])
    assert r.exit_code == 0 and "检索到 1 件" in r.stdout and row.archival_code in r.stdout
    r = CliRunner().invoke(app, ["archive", "show", row.archival_code, "-w", str(ws.root), "--json"])
    assert json.loads(r.stdout)["sha256"] == row.sha256
    r = CliRunner().invoke(app, ["archive", "search", "-w", str(ws.root), "--from", "2025/3/32"])
    assert r.exit_code == 2 and "“--from”的值不对" in r.output  # tests/test_cli_hostile.py: every date option
    r = CliRunner().invoke(app, ["archive", "log", "-w", str(ws.root), "--json"])
    assert [json.loads(x)["action"] for x in r.stdout.splitlines()] == ["file"]


def test_database_rows_use_portable_types(ws: Workspace) -> None:
    file_item(ws, pdf_bytes(), card_meta(extra={"答案": ["否"] * 10}))
    con = sqlite3.connect(ws.archive / "ruqi.sqlite")
    extra, = con.execute("select extra from archive_items").fetchone()
    assert json.loads(extra) == {"答案": ["否"] * 10}


def test_first_filing_in_a_callers_transaction_repairs_without_waiting_on_itself(ws: Workspace) -> None:
    """The inbox files inside its own transaction; the once-per-process repair must join it."""
    folder = ws.archive / CARD_DIR
    folder.mkdir(parents=True)
    orphan = folder / f"{TMP_PREFIX}{_dead_pid()}-dddd"
    orphan.write_bytes(b"half a card")
    with session(ws) as s:
        row = file_item(ws, pdf_bytes(), card_meta(), session=s)
    assert not orphan.exists() and row.path.exists()
    assert [e.action for e in audit_log(ws)] == ["repair", "file"]


def test_a_rolled_back_savepoint_takes_its_files_with_it(ws: Workspace) -> None:
    with session(ws) as s:
        kept = file_item(ws, unique_pdf(1), card_meta(), session=s)
        with pytest.raises(RuntimeError), s.begin_nested():
            file_item(ws, unique_pdf(2), card_meta(serial="140200-2025-0002"), session=s)
            raise RuntimeError("this card turned out to be unreadable")
        last = file_item(ws, unique_pdf(3), card_meta(serial="140200-2025-0003"), session=s)
    assert [r.archival_code[-4:] for r in search(ws)] == ["0001", "0002"]  # the savepoint's 件号 was reused
    assert (kept.path.exists(), last.path.exists()) == (True, True)
    assert list(temp_files(ws.archive)) == [] and verify(ws).ok
    assert verify(ws).findings.flatten("code") == []  # the audit head did not record the rolled-back entry
