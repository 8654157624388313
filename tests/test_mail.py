"""`ruqi mail fetch` against a real Dovecot started by the tests: messages built the way Chinese mail
clients build them, delivered with IMAP APPEND, fetched, filed by the inbox with their provenance."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime, timedelta
from email.mime.application import MIMEApplication
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
)
from _mail_fixtures import (
    ENTERPRISE,
    FOXMAIL_BODY,
    Dovecot,
    b2047,
    card_photo,
    connect_workspace,
    forwarded,
    foxmail,
    gbk_zip,
    needs_dovecot,
    outlook_tnef,
    pasted_photo,
    qqmail,
    raw_gbk_name,
    text_only,
)
from sqlalchemy import select
from typer.testing import CliRunner

from engine.archive.models import ItemRecord
from engine.cli import app
from engine.db import session
from engine.inbox import Status
from engine.mail import MailCode, MessageStatus, PartStatus, collect, unpack
from engine.register import by_serial
from engine.review.collect import build_review
from engine.workspace import Limits, Workspace

S1, S2 = "140200-2025-0001", "140200-2025-0002"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


def workspace(tmp_path: Path, server: Dovecot, users: tuple[str, ...] = ("zfjd",), **extra: object) -> Workspace:
    ws = new_workspace(tmp_path / "ws", inspections=2)
    connect_workspace(ws.root, server, users, **extra)
    return Workspace.open(ws.root)


def end_of(ws: Workspace, serial: str) -> datetime:
    with session(ws) as s:
        v = by_serial(s, serial)
        assert v is not None
        return datetime.combine(v.end, datetime.min.time())


def items(ws: Workspace) -> list[ItemRecord]:
    with session(ws) as s:
        return list(s.scalars(select(ItemRecord).where(ItemRecord.form_type.in_(("card_returned", "other")))
                              .order_by(ItemRecord.id)))


def variants(cards: Path, tmp: Path) -> dict[str, bytes]:
    """Distinct returned cards (different bytes): ticked PDFs and filled Word cards of serials 0001/0002."""
    tmp.mkdir(exist_ok=True)
    return {
        "pdf0": tick_pdf(cards / "0.pdf", tmp / "p0.pdf", ANSWERS_CLEAN).read_bytes(),
        "pdf1": tick_pdf(cards / "1.pdf", tmp / "p1.pdf", ANSWERS_VIOLATION).read_bytes(),
        "docx0": fill_docx(cards / "0.docx", tmp / "d0.docx", ANSWERS_VIOLATION).read_bytes(),
        "docx1": fill_docx(cards / "1.docx", tmp / "d1.docx", ANSWERS_CLEAN).read_bytes(),
        "docx0b": fill_docx(cards / "0.docx", tmp / "d0b.docx", ANSWERS_CLEAN, mark="√").read_bytes(),
        "docx1b": fill_docx(cards / "1.docx", tmp / "d1b.docx", ANSWERS_BAD).read_bytes(),
        "pdf0b": tick_pdf(cards / "0.pdf", tmp / "p0b.pdf", ANSWERS_VIOLATION).read_bytes(),
    }


# ---------------------------------------------------------------- the clients in the wild


@needs_dovecot
def test_mail_from_chinese_clients_is_filed_with_provenance(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    day1 = end_of(ws, S1) + timedelta(days=1, hours=9)
    inner = foxmail([("反馈卡-转发.docx", v["docx1"])], sender="other@126.com")
    msgs = {
        "foxmail": foxmail([("反馈卡（恒泰化工）.pdf", v["pdf0"])]),
        "outlook": outlook_tnef([("入企检查监督反馈卡.docx", v["docx0"])]),
        "qq": qqmail([("反馈卡 第二份.pdf", v["pdf1"])]),
        "raw": raw_gbk_name("反馈卡原始名.docx", v["docx0b"]),
        "forward": forwarded(inner),
        "zip": qqmail([("反馈卡打包.zip", gbk_zip([("晋华化工/反馈卡.docx", v["docx1b"]), ("说明.txt", b"see card")]))]),
        "photo": pasted_photo(card_photo(cards / "0.pdf")),
    }
    for m in msgs.values():
        server.deliver(m, day1)
    report = collect(ws)
    assert not report.problems
    by_name = {p.original_name: (m, p) for m in report.messages for p in m.parts}
    expected = {
        "反馈卡（恒泰化工）.pdf", "winmail.dat/入企检查监督反馈卡.docx", "反馈卡 第二份.pdf", "反馈卡原始名.docx",
        "反馈卡-转发.docx", "反馈卡打包.zip/晋华化工/反馈卡.docx", "正文图片1.jpg",
    }
    forwarded_names = [n for n in by_name if n.endswith("/反馈卡-转发.docx")]
    assert len(forwarded_names) == 1 and forwarded_names[0].startswith("转发邮件")
    assert expected - {"反馈卡-转发.docx"} <= set(by_name)
    # Every card was saved and then handled by the inbox; the text file in the zip is not a return.
    assert by_name["反馈卡打包.zip/说明.txt"][1].status is PartStatus.SKIPPED
    for name in expected - {"反馈卡-转发.docx"} | set(forwarded_names):
        _, p = by_name[name]
        assert p.status is PartStatus.SAVED, (name, p)
        assert p.inbox is not None and p.inbox.status in (Status.FILED, Status.NEEDS_REVIEW), (name, p.inbox)
    assert by_name["正文图片1.jpg"][1].inbox.status is Status.NEEDS_REVIEW  # a photo: read by its QR code only
    assert all(m.status is MessageStatus.PROCESSED for m in report.messages)
    # Provenance is filed with each archived item.
    filed = items(ws)
    assert len(filed) == 7  # the photo too: filed for review
    by_original = {r.extra["mail"]["original_name"]: r for r in filed}
    fox = by_original["反馈卡（恒泰化工）.pdf"].extra["mail"]
    assert fox["sender"] == f"大同市恒泰化工有限公司 <{ENTERPRISE}>"
    assert fox["recipients"] == ["zfjd@dtyjj.gov.cn"] and fox["subject"] == "反馈卡"
    assert fox["received_at"] == day1.isoformat(timespec="seconds") and fox["message_id"].startswith("<")
    assert fox["date"] and fox["mailbox"].startswith("zfjd@127.0.0.1")
    assert by_original["反馈卡原始名.docx"].original_name == "反馈卡原始名.docx"
    assert by_original[forwarded_names[0]].extra["mail"]["sender"].endswith("<clerk@dtyjj.gov.cn>")
    # The photo is filed with its provenance like the others, flagged for review.
    photo = by_original["正文图片1.jpg"]
    assert photo.format == "jpeg" and "NEEDS_REVIEW" in photo.flags and photo.extra["mail"]["sender"].endswith(ENTERPRISE + ">")
    # Every message is marked on the server; nothing left in the inbox or the staging area.
    assert all("RuqiProcessed" in f for f in server.flags())
    assert not [p for p in ws.inbox.iterdir() if p.is_file()]
    assert not list((ws.root / ".mail-staging").glob("*"))
    # A second fetch finds nothing new.
    again = collect(ws)
    assert again.messages == [] and len(items(ws)) == 7


def test_unpack_decodes_names_and_gb2312_bodies() -> None:
    """The same messages without a server: names in every encoding, a GB2312 body with GBK characters."""
    limits = Limits()
    u = unpack(foxmail([("反馈卡（恒泰化工）.pdf", b"%PDF-1.7 x")]).as_bytes(), limits)
    assert [p.original_name for p in u.parts] == ["反馈卡（恒泰化工）.pdf"]
    assert FOXMAIL_BODY.strip() in u.body_text
    assert u.envelope.sender == f"大同市恒泰化工有限公司 <{ENTERPRISE}>"
    raw = unpack(raw_gbk_name("统计表（附件2）.xlsx", b"PK\x03\x04 not really"), limits)
    assert raw.parts[0].original_name == "统计表（附件2）.xlsx"
    qq = unpack(qqmail([("附件1 统计表.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 xls")]).as_bytes(), limits)
    assert qq.parts[0].original_name == "附件1 统计表.xls" and qq.parts[0].status is PartStatus.SAVED
    # Outlook splits a long name into several encoded words over folded lines.
    long = "大同市平城区晋华化工有限公司入企检查监督反馈卡（已填写）.pdf"
    words = f"{b2047(long[:15], 'gb2312')} {b2047(long[15:], 'gb2312')}"
    ol = foxmail([])
    part = MIMEApplication(b"%PDF-1.4 x", "octet-stream")
    del part["Content-Type"]
    part["Content-Type"] = f'application/octet-stream;\r\n\tname="{words}"'
    part["Content-Disposition"] = f'attachment;\r\n\tfilename="{words}"'
    ol.attach(part)
    assert [p.original_name for p in unpack(ol.as_bytes(), limits).parts] == [long]
    tn = unpack(outlook_tnef([("反馈卡.pdf", b"%PDF-1.4 card")]).as_bytes(), limits)
    assert [(p.original_name, p.data) for p in tn.parts] == [("winmail.dat/反馈卡.pdf", b"%PDF-1.4 card")]


@needs_dovecot
def test_late_rule_uses_the_servers_received_time(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    # Card 0001 reached the server the day after the inspection; card 0002 eight days after.
    # Both are fetched today, long after: the file time would make both late.
    server.deliver(foxmail([("卡1.pdf", v["pdf0"])]), end_of(ws, S1) + timedelta(days=1, hours=10))
    server.deliver(foxmail([("卡2.pdf", v["pdf1"])]), end_of(ws, S2) + timedelta(days=8, hours=10))
    collect(ws)
    t1, t2 = end_of(ws, S1) + timedelta(days=1, hours=10), end_of(ws, S2) + timedelta(days=8, hours=10)
    with session(ws) as s:
        v1, v2 = by_serial(s, S1), by_serial(s, S2)
        assert v1 is not None and v2 is not None
        assert "LATE" not in v1.card_flags and "LATE" in v2.card_flags
        assert (v1.card_received_at, v2.card_received_at) == (t1, t2)
    # The review list shows the server's time, and counts only card 0002 as late.
    review = build_review(ws)
    e2 = review.entry(S2)
    assert e2 is not None and e2.card_received_at == t2
    assert [c.entry.serial for c in review.cards if c.state == "late"] == [S2]
    # The 纪委's export names who mailed each card and when the server received it.
    from openpyxl import load_workbook

    from engine.review.export import export_bundle

    res = export_bundle(ws, tmp_path / "bag")
    sh = load_workbook(res.bag_dir / "data" / "index.xlsx").active
    h = [c.value for c in sh[1]]
    rows = {r[0]: r for r in sh.iter_rows(min_row=2, values_only=True)}
    assert ENTERPRISE in rows[S2][h.index("邮件来源")] and f"{t2:%Y-%m-%d %H:%M}" in rows[S2][h.index("邮件来源")]


@needs_dovecot
def test_messages_without_usable_attachments_are_listed_for_a_person(tmp_path: Path, server: Dovecot) -> None:
    ws = workspace(tmp_path, server)
    server.deliver(text_only("反馈卡已经填好了，明天送过去。", subject="关于反馈卡"))
    server.deliver(qqmail([], subject="超大附件：反馈卡",
                          html='<a href="https://wx.mail.qq.com/ftn/download?func=3&k=abc">反馈卡.pdf</a>'))
    report = collect(ws)
    assert [m.status for m in report.messages] == [MessageStatus.ATTENTION, MessageStatus.ATTENTION]
    assert [f.code for f in report.messages[0].findings] == [MailCode.NO_ATTACHMENT]
    assert MailCode.CLOUD_LINK in [f.code for f in report.messages[1].findings]
    out = CliRunner().invoke(app, ["mail", "list", "-w", str(ws.root)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "关于反馈卡" in out.output and "超大附件" in out.output and ENTERPRISE in out.output
    assert "wx.mail.qq.com" in out.output
    assert all("RuqiProcessed" in f for f in server.flags())


@needs_dovecot
def test_a_message_sent_to_both_mailboxes_is_processed_once(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server, users=("zfjd", "jw"))
    v = variants(cards, tmp_path / "v")
    msg = foxmail([("反馈卡.pdf", v["pdf0"])], to="zfjd@dtyjj.gov.cn, jw@dtyjj.gov.cn")
    server.deliver(msg, user="zfjd")
    server.deliver(msg, user="jw")
    report = collect(ws)
    assert sorted(str(m.status) for m in report.messages) == ["processed", "seen_before"]
    assert len(items(ws)) == 1
    assert all("RuqiProcessed" in f for u in ("zfjd", "jw") for f in server.flags(u))


@needs_dovecot
def test_processed_messages_move_to_a_chinese_folder(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server, processed_folder="ruqi/已收")
    v = variants(cards, tmp_path / "v")
    server.deliver(foxmail([("反馈卡.pdf", v["pdf0"])]))
    server.deliver(text_only("只有正文"))
    collect(ws)
    assert server.count() == 0
    m = server.imap()
    try:
        names = [line.decode() for line in m.list()[1]]
    finally:
        m.logout()
    # The child folder 已收 under ruqi, in IMAP's modified UTF-7 with the server's separator.
    folder = max((n.rsplit(" ", 1)[-1].strip('"') for n in names if "ruqi" in n), key=len)
    from imapclient import imap_utf7

    assert folder.endswith("." + imap_utf7.encode("已收").decode())
    assert server.count(folder=folder) == 2
    assert len(items(ws)) == 1


@needs_dovecot
def test_cli_json_prints_one_line_per_message_and_attachment(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    server.deliver(foxmail([("卡.pdf", v["pdf0"]), ("签名.p7s", b"0\x82 sig")]))
    out = CliRunner().invoke(app, ["mail", "fetch", "--json", "-w", str(ws.root)])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines() if line.strip()]
    assert [d["type"] for d in lines] == ["message", "attachment", "attachment"]
    assert lines[1]["inbox"]["status"] == "filed" and lines[1]["inbox"]["archival_code"]
    assert lines[2]["status"] == "skipped" and lines[2]["code"] == MailCode.NOT_A_RETURN


@needs_dovecot
def test_nested_zips_open_and_hostile_member_names_stay_inside(tmp_path: Path, server: Dovecot,
                                                                       cards: Path) -> None:
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    nested = gbk_zip([("内层/反馈卡.pdf", v["pdf1"])])
    outer = gbk_zip([("../../../../tmp/evil/反馈卡.docx", v["docx0"]), ("内层.zip", nested)])
    server.deliver(qqmail([("../../etc/cron.d/卡.zip", outer)]))
    report = collect(ws)
    parts = {p.original_name: p for p in report.messages[0].parts}
    assert {p.status for p in parts.values()} == {PartStatus.SAVED}
    assert {p.saved_as for p in parts.values()} == {"反馈卡.docx", "反馈卡.pdf"}
    assert len(items(ws)) == 2
    assert not Path("/tmp/evil").exists()
    with zipfile.ZipFile(__import__("io").BytesIO(outer)) as z:
        assert any(".." in n for n in z.namelist())  # the hostile name really was in the zip


@needs_dovecot
def test_watch_with_mail_fetches_and_files_as_mail_arrives(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    from engine.inbox import watch
    from engine.mail import MailPoller

    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    reports = []
    t = [0.0]
    poller = MailPoller(ws, 60, reports.append, clock=lambda: t[0])

    def sleep(seconds: float) -> None:
        t[0] += 61  # the next poll is due
        if len(reports) == 1:
            server.deliver(foxmail([("第二张.pdf", v["pdf1"])]))  # arrives while watching

    server.deliver(foxmail([("第一张.pdf", v["pdf0"])]))
    watch(ws, max_cycles=2, each_cycle=poller, sleep=sleep, interval=0)
    assert [len(r.messages) for r in reports] == [1, 1]
    assert [r.ingest.outcomes[0].status for r in reports if r.ingest] == [Status.FILED, Status.FILED]
    assert len(items(ws)) == 2


@needs_dovecot
def test_cli_fetch_prints_a_chinese_summary(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    server.deliver(foxmail([("卡.pdf", v["pdf0"])]))
    server.deliver(text_only("只有正文", subject="没有附件的邮件"))
    out = CliRunner().invoke(app, ["mail", "fetch", "-w", str(ws.root)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "已归档" in out.output and "需人工处理" in out.output and "共 2 封邮件" in out.output


@needs_dovecot
def test_a_county_workbook_by_mail_goes_to_the_stats_desk_with_the_servers_time(tmp_path: Path,
                                                                                server: Dovecot) -> None:
    from datetime import date

    from _stats_fixtures import fill_blank

    from engine.stats import write_blanks
    from engine.stats.submissions import current

    ws = workspace(tmp_path, server)
    blank = next(f for f in write_blanks(ws, 2, "2025Q2", due=date(2025, 6, 18)).files if "-平城区-" in f.name)
    book = fill_blank(blank, tmp_path / "平城区附件2.xlsx", {"B6": 12, "C6": 10, "D6": 30, "E6": 25})
    sent = datetime(2025, 6, 17, 16, 30)
    server.deliver(foxmail([("平城区附件2（二季度）.xlsx", book.read_bytes())], subject="平城区二季度统计表",
                           sender="pcq@dtyjj.gov.cn"), sent)
    report = collect(ws)
    part = report.messages[0].parts[0]
    assert part.inbox is not None and part.inbox.status is Status.FILED and part.inbox.kind == "stats_table_2"
    with session(ws) as s:
        rows = current(s, 2, "2025Q2")
        assert [r.received_at for r in rows] == [sent]
        item = s.scalars(select(ItemRecord).where(ItemRecord.form_type == "stats_table")).one()
        assert item.extra["mail"]["sender"].endswith("<pcq@dtyjj.gov.cn>")
        assert item.extra["mail"]["original_name"] == "平城区附件2（二季度）.xlsx"


def test_nesting_stops_at_a_sane_depth() -> None:
    limits = Limits()
    inner = b"%PDF-1.4 card"
    for level in range(5):
        inner = gbk_zip([(f"第{level}层.zip" if level else "卡.pdf", inner)])
    u = unpack(qqmail([("套娃.zip", inner)]).as_bytes(), limits)
    assert [(p.status, p.code) for p in u.parts] == [(PartStatus.REFUSED, MailCode.NESTED_TOO_DEEP)]
    msg = foxmail([("卡.pdf", b"%PDF-1.4 fwd")])
    for _ in range(4):
        msg = forwarded(msg)
    fw = unpack(msg.as_bytes(), limits)
    assert [(p.status, p.code) for p in fw.parts] == [(PartStatus.REFUSED, MailCode.NESTED_TOO_DEEP)]
    heic = unpack(qqmail([("IMG_0001.HEIC", b"\0\0\0\x18ftypheic\0\0\0\0mif1heic")]).as_bytes(), limits)
    assert heic.parts[0].status is PartStatus.SAVED
