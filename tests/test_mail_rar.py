"""RAR attachments: opened like zips (one path, the same limits), filed with their provenance from a real
Dovecot; hostile RARs each get a clear outcome; without a RAR tool the refusal stays clear.

No RAR creator is installable here: the archives come from the test-only STORED writer in ``_rar.py``,
whose output is first checked against Debian's own reader (``lsar``/``unar``) and ``rarfile``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import rarfile
from _mail_fixtures import ENTERPRISE, foxmail, gbk_zip, qqmail
from _rar import rar4, rar5
from test_mail import S1, S2, cards, items, variants, workspace  # noqa: F401 (fixtures)

from engine.inbox import Status
from engine.mail import MailCode, MessageStatus, PartStatus, attention, collect, unpack
from engine.mail.unpack import MAX_DEPTH, MAX_ZIP_MEMBERS, rar_backend
from engine.workspace import Limits

needs_lsar = pytest.mark.skipif(not (shutil.which("lsar") and shutil.which("unar")),
                                reason="unar (Debian package unar) is not installed")
needs_backend = pytest.mark.skipif(not rar_backend(), reason="no RAR tool for rarfile (Debian unar or libarchive-tools)")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def no_rar_tool(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """rarfile pointed at tools that do not exist: the machine as it is without unar/bsdtar."""
    for attr in ("UNRAR_TOOL", "UNAR_TOOL", "BSDTAR_TOOL", "SEVENZIP_TOOL", "SEVENZIP2_TOOL"):
        monkeypatch.setattr(rarfile, attr, f"/nonexistent/ruqi-test-{attr.lower()}")
    monkeypatch.setattr(rarfile, "CURRENT_SETUP", None)  # restored afterwards: the real tool for the tests that follow
    yield


# ---------------------------------------------------------------- the fixture writer is a real RAR writer


@needs_lsar
@pytest.mark.parametrize("kind", ["rar4-gbk", "rar4-utf8", "rar5"])
def test_the_test_rar_writer_reads_back_with_unar_and_rarfile(tmp_path: Path, kind: str) -> None:
    members = [("恒泰化工/反馈卡.pdf", PDF), ("说明（盖章）.docx", b"PK\x03\x04 not really a docx" * 20)]
    blob = {"rar4-gbk": lambda: rar4(members), "rar4-utf8": lambda: rar4(members, utf8=True),
            "rar5": lambda: rar5(members)}[kind]()
    path = tmp_path / "a.rar"
    path.write_bytes(blob)
    enc = ["-e", "GBK"] if kind == "rar4-gbk" else []
    test = subprocess.run(["lsar", "-t", *enc, str(path)], capture_output=True, text=True, timeout=60)
    assert test.returncode == 0 and "2 passed, 0 failed" in test.stdout, test.stdout + test.stderr  # CRCs checked
    out = tmp_path / "out"
    subprocess.run(["unar", "-q", "-D", *enc, "-o", str(out), str(path)], check=True, timeout=60)
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == dict(members)
    rf = rarfile.RarFile(io.BytesIO(blob), errors="strict")
    assert [rf.read(i) for i in rf.infolist()] == [d for _, d in members]
    assert rf.infolist()[0].file_size == len(PDF)


# ---------------------------------------------------------------- RARs the way Chinese senders send them


@needs_backend
def test_rar_returns_from_chinese_clients_are_filed_with_provenance(tmp_path: Path, server, cards: Path) -> None:  # noqa: F811
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    # 好压/WinRAR 4 on Chinese Windows: GBK names, sent by Foxmail as octet-stream with a GBK RFC 2047 name.
    old = rar4([("恒泰化工/反馈卡（已勾选）.pdf", v["pdf0"]), ("恒泰化工/入企检查监督反馈卡.docx", v["docx1"])])
    # WinRAR 5 (UTF-8 names), sent by QQ mail with an RFC 2231 UTF-8 name.
    new = rar5([("晋华化工/反馈卡.pdf", v["pdf1"]), ("晋华化工/反馈卡.docx", v["docx0"]), ("说明.txt", b"see")])
    server.deliver(foxmail([("反馈卡.rar", old)], subject="恒泰化工反馈卡"))
    server.deliver(qqmail([("晋华化工 反馈卡.rar", new)], subject="晋华化工反馈卡"))
    report = collect(ws)
    assert not report.problems
    parts = {p.original_name: (m, p) for m in report.messages for p in m.parts}
    cards_in = {"反馈卡.rar/恒泰化工/反馈卡（已勾选）.pdf", "反馈卡.rar/恒泰化工/入企检查监督反馈卡.docx",
                "晋华化工 反馈卡.rar/晋华化工/反馈卡.pdf", "晋华化工 反馈卡.rar/晋华化工/反馈卡.docx"}
    assert set(parts) == cards_in | {"晋华化工 反馈卡.rar/说明.txt"}
    assert parts["晋华化工 反馈卡.rar/说明.txt"][1].status is PartStatus.SKIPPED
    for name in cards_in:
        p = parts[name][1]
        assert p.status is PartStatus.SAVED and p.inbox is not None and p.inbox.status is Status.FILED, (name, p)
    assert all(m.status is MessageStatus.PROCESSED for m in report.messages)
    filed = {r.extra["mail"]["original_name"]: r for r in items(ws)}
    assert set(filed) == cards_in
    mail = filed["反馈卡.rar/恒泰化工/反馈卡（已勾选）.pdf"].extra["mail"]
    assert mail["sender"] == f"大同市恒泰化工有限公司 <{ENTERPRISE}>" and mail["subject"] == "恒泰化工反馈卡"
    assert mail["message_id"].startswith("<") and mail["received_at"]
    assert {filed[n].serial for n in cards_in} == {S1, S2}
    assert all("RuqiProcessed" in f for f in server.flags())


@needs_backend
def test_rar_opens_with_the_zip_limits() -> None:
    limits = Limits()
    inner = gbk_zip([("内层/反馈卡.pdf", PDF)])
    u = unpack(qqmail([("外层.rar", rar5([("a/内层.zip", inner)]))]).as_bytes(), limits)
    assert [(p.original_name, p.status) for p in u.parts] == [("外层.rar/a/内层.zip/内层/反馈卡.pdf", PartStatus.SAVED)]
    nested = PDF
    for level in range(MAX_DEPTH + 1):  # rar in zip in rar …: stops where zips stop
        nested = (rar4 if level % 2 else rar5)([(f"第{level}层.rar" if level else "卡.pdf", nested)])
    deep = unpack(qqmail([("套娃.rar", nested)]).as_bytes(), limits)
    assert [p.code for p in deep.parts] == [MailCode.NESTED_TOO_DEEP]
    crowd = rar5([(f"{i}.pdf", PDF + str(i).encode()) for i in range(MAX_ZIP_MEMBERS + 1)])
    many = unpack(qqmail([("很多.rar", crowd)]).as_bytes(), limits)
    assert [(p.status, p.code) for p in many.parts] == [(PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE)]
    # Sizes declared smaller than the data (to slip under the limit): the CRC does not match what that size
    # gives, so the member is refused as damaged, never filed cut short.
    small = Limits(max_unzipped_mb=0.001)  # 1,048 bytes
    half = PDF + b"x" * 600
    liar = rar4([("1.pdf", half), ("2.pdf", half + b"2")], declare={"1.pdf": 1, "2.pdf": 1})
    over = unpack(qqmail([("两份.rar", liar)]).as_bytes(), small)
    assert [(p.status, p.code) for p in over.parts] == [(PartStatus.REFUSED, MailCode.ARCHIVE_CORRUPT)] * 2
    honest = unpack(qqmail([("两份.rar", rar4([("1.pdf", half), ("2.pdf", half + b"2")]))]).as_bytes(), small)
    assert [(p.status, p.code) for p in honest.parts] == [(PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE)]


# ---------------------------------------------------------------- hostile RARs


@needs_backend
def test_hostile_rars_each_get_an_outcome_and_the_fetch_goes_on(tmp_path: Path, server, cards: Path) -> None:  # noqa: F811
    ws = workspace(tmp_path, server)
    v = variants(cards, tmp_path / "v")
    bomb = rar5([("反馈卡.pdf", v["pdf0"])], declare={"反馈卡.pdf": 50 << 30})  # claims 50 GB
    traversal = rar4([("../x.pdf", v["pdf1"]), ("..\\..\\Windows\\反馈卡.docx", v["docx0"])], utf8=True)
    whole = rar5([("反馈卡.pdf", v["pdf0b"]), ("反馈卡.docx", v["docx1"])])
    truncated = whole[: len(whole) * 2 // 3]
    for subject, blob in [("bomb", bomb), ("traversal", traversal), ("truncated", truncated)]:
        server.deliver(foxmail([(f"{subject}.rar", blob)], subject=subject))
    server.deliver(foxmail([("反馈卡.docx", v["docx0b"])], subject="after"))  # the fetch goes on past them
    report = collect(ws)
    assert not report.problems
    by = {m.subject: m for m in report.messages}
    assert set(by) == {"bomb", "traversal", "truncated", "after"}
    assert [(p.status, p.code) for p in by["bomb"].parts] == [(PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE)]
    assert "51,200 MB" in by["bomb"].parts[0].message and by["bomb"].status is MessageStatus.ATTENTION
    trav = by["traversal"].parts
    assert [p.saved_as for p in trav] == ["x.pdf", "反馈卡.docx"]
    assert all(p.inbox is not None and p.inbox.status is Status.FILED for p in trav)
    assert [p.original_name for p in trav][0] == "traversal.rar/../x.pdf"  # the provenance keeps what was sent
    assert not Path("/Windows").exists() and not (ws.root.parent / "x.pdf").exists()
    trunc = by["truncated"]
    assert trunc.status is MessageStatus.ATTENTION and trunc.note
    assert MailCode.ARCHIVE_CORRUPT in {p.code for p in trunc.parts}
    assert by["after"].status is MessageStatus.PROCESSED and by["after"].parts[0].inbox.status is Status.FILED
    assert len(items(ws)) == 3
    assert {m.subject for m in attention(ws)} == {"bomb", "truncated"}
    assert all("RuqiProcessed" in f for f in server.flags())


@needs_backend
def test_a_truncated_rar_is_refused_where_it_breaks() -> None:
    good, long = PDF + b"good", PDF + b"y" * 4000
    # Cut inside the second member's data.  RAR 4: the listing ends there, the first member is whole and taken,
    # the second refused as damaged.  RAR 5: rarfile notices the missing end while listing, the whole is refused.
    blob = rar4([("好.pdf", good), ("坏.pdf", long)])
    u = unpack(qqmail([("半截.rar", blob[:-1500])]).as_bytes(), Limits())
    assert [(p.original_name, p.status, p.code) for p in u.parts] == [
        ("半截.rar/好.pdf", PartStatus.SAVED, ""), ("半截.rar/坏.pdf", PartStatus.REFUSED, MailCode.ARCHIVE_CORRUPT)]
    assert u.parts[0].data == good and "已损坏" in u.parts[1].message
    blob = rar5([("好.pdf", good), ("坏.pdf", long)])
    u = unpack(qqmail([("半截.rar", blob[:-1500])]).as_bytes(), Limits())
    assert [(p.original_name, p.status, p.code) for p in u.parts] == [
        ("半截.rar", PartStatus.REFUSED, MailCode.ARCHIVE_CORRUPT)]
    # Cut inside a header: nothing can be trusted, the archive as a whole is refused.
    head = unpack(qqmail([("半截.rar", blob[:30])]).as_bytes(), Limits())
    assert [(p.original_name, p.status, p.code) for p in head.parts] == [
        ("半截.rar", PartStatus.REFUSED, MailCode.ARCHIVE_CORRUPT)]
    assert "损坏或不完整" in head.parts[0].message


# ---------------------------------------------------------------- no RAR tool, and 7z


def test_without_a_rar_tool_the_refusal_stays_clear(no_rar_tool: None) -> None:
    assert not rar_backend()
    blob = rar5([("反馈卡.pdf", PDF)])
    u = unpack(foxmail([("反馈卡.rar", blob)]).as_bytes(), Limits())
    assert [(p.original_name, p.status, p.code) for p in u.parts] == [("反馈卡.rar", PartStatus.REFUSED,
                                                                        MailCode.RAR_UNSUPPORTED)]
    assert "unar" in u.parts[0].message and "收件箱" in u.parts[0].message and u.parts[0].data == blob


def test_without_a_rar_tool_the_message_is_listed_for_a_person(tmp_path: Path, server, no_rar_tool: None) -> None:  # noqa: F811
    ws = workspace(tmp_path, server)
    server.deliver(foxmail([("反馈卡.rar", rar4([("反馈卡.pdf", PDF)]))], subject="rar"))
    report = collect(ws)
    m = report.messages[0]
    assert m.status is MessageStatus.ATTENTION and "RAR" in m.note
    assert [p.code for p in m.parts] == [MailCode.RAR_UNSUPPORTED]
    assert [a.subject for a in attention(ws)] == ["rar"]


def test_7z_stays_refused_with_its_own_message() -> None:
    u = unpack(qqmail([("反馈卡.7z", b"7z\xbc\xaf\x27\x1c" + b"\0" * 40)]).as_bytes(), Limits())
    assert [(p.status, p.code) for p in u.parts] == [(PartStatus.REFUSED, MailCode.RAR_UNSUPPORTED)]
    assert u.parts[0].message.startswith("7z")


@pytest.mark.skipif(shutil.which("bsdtar") is None, reason="bsdtar (Debian libarchive-tools) is not installed")
def test_bsdtar_alone_is_a_rar_tool_too(monkeypatch: pytest.MonkeyPatch) -> None:
    for attr in ("UNRAR_TOOL", "UNAR_TOOL", "SEVENZIP_TOOL", "SEVENZIP2_TOOL"):
        monkeypatch.setattr(rarfile, attr, f"/nonexistent/ruqi-test-{attr.lower()}")
    monkeypatch.setattr(rarfile, "CURRENT_SETUP", None)
    assert rar_backend()
    u = unpack(foxmail([("反馈卡.rar", rar4([("恒泰/反馈卡.pdf", PDF)]))]).as_bytes(), Limits())
    assert [(p.original_name, p.status, p.data) for p in u.parts] == [("反馈卡.rar/恒泰/反馈卡.pdf", PartStatus.SAVED, PDF)]
