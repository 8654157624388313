"""Mail that goes wrong: hostile messages, kill -9 in the middle of a fetch, receipts that must not
leak, and mailbox configurations that must be refused.  Real Dovecot, real SMTP receiver (aiosmtpd)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from pathlib import Path

import pytest
from _inbox_fixtures import ANSWERS_CLEAN, encrypted_pdf, kit, new_workspace, tick_pdf
from _mail_fixtures import (
    ENTERPRISE,
    PASSWORD,
    Dovecot,
    SmtpSink,
    connect_workspace,
    foxmail,
    needs_dovecot,
    qqmail,
    text_only,
)
from sqlalchemy import func, select

from engine.archive.models import ItemRecord
from engine.db import session
from engine.findings import RuqiError
from engine.inbox import Reason, Status
from engine.mail import ConfigCode, MailCode, MessageStatus, PartStatus, accounts, collect, password
from engine.provenance import MailSource
from engine.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


def workspace(tmp_path: Path, server: Dovecot, **extra: object) -> Workspace:
    ws = new_workspace(tmp_path / "ws", inspections=2)
    connect_workspace(ws.root, server, **extra)
    return Workspace.open(ws.root)


def card(cards: Path, tmp: Path, n: int, answers: dict[int, str] = ANSWERS_CLEAN) -> bytes:
    """A returned PDF card of serial 000(n+1); ``answers`` varied by the caller for distinct bytes."""
    tmp.mkdir(exist_ok=True)
    return tick_pdf(cards / f"{n}.pdf", tmp / f"{n}-{sorted(answers.items())!s:.40}.pdf".replace("/", "_"),
                    answers).read_bytes()


def filed(ws: Workspace) -> int:
    with session(ws) as s:
        return int(s.scalar(select(func.count(ItemRecord.id)).where(ItemRecord.form_type == "card_returned")) or 0)


# ---------------------------------------------------------------- hostile mail


def _many_attachments(n: int) -> MIMEMultipart:
    msg = foxmail([])
    for i in range(n):
        part = MIMEApplication(b"%PDF-1.4 tiny " + str(i).encode(), "pdf")
        part.add_header("Content-Disposition", "attachment", filename=f"{i}.pdf")
        msg.attach(part)
    return msg


def _zip_bomb(mb: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z, z.open("反馈卡.pdf", "w") as f:
        f.write(b"%PDF-1.4\n")
        chunk = b"\0" * (1 << 20)
        for _ in range(mb):
            f.write(chunk)
    return buf.getvalue()


MALFORMED = (b"From: =?GBK?B?broken <x@y.cn>\r\nTo: zfjd@dtyjj.gov.cn\r\nSubject: =?UTF-8?Q?=E5=8F?=\r\n"
             b"Message-ID: <malformed@y.cn>\r\nMIME-Version: 1.0\r\nthis line has no colon\r\n"
             b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
             b"--outer\r\nContent-Type: multipart/alternative\r\n\r\nno boundary here\r\n"
             b"--outer\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             b"!!!not base64@@@\r\n"
             b"--outer\r\nContent-Type: message/rfc822\r\n\r\nnot a message at all\r\n")  # never closed


@needs_dovecot
def test_hostile_mail_each_gets_an_outcome_and_the_fetch_goes_on(tmp_path: Path, server: Dovecot, cards: Path) -> None:
    ws = workspace(tmp_path, server)
    good = card(cards, tmp_path / "c", 0)
    crowd = foxmail([("反馈卡.pdf", good)], to=", ".join(f"u{i}@example.cn" for i in range(10_000)))
    big = b"%PDF-1.4\n" + os.urandom(50 * 1024 * 1024)
    server.deliver(qqmail([("大文件.pdf", big)], subject="50MB"))
    server.deliver(qqmail([("bomb.zip", _zip_bomb(300))], subject="bomb"))
    server.deliver(_many_attachments(5000).as_bytes())
    server.deliver(qqmail([("..\\..\\Windows\\System32\\反馈卡.pdf", card(cards, tmp_path / "c", 1))], subject="traversal"))
    server.deliver(MALFORMED)
    server.deliver(crowd)
    report = collect(ws)
    assert not report.problems
    by_subject = {m.subject: m for m in report.messages}
    assert len(report.messages) == 6
    big_m = by_subject["50MB"]
    assert big_m.status is MessageStatus.ATTENTION
    assert [(p.status, p.code) for p in big_m.parts] == [(PartStatus.REFUSED, Reason.TOO_LARGE)]
    bomb = by_subject["bomb"]
    assert [(p.status, p.code) for p in bomb.parts] == [(PartStatus.REFUSED, MailCode.ARCHIVE_TOO_LARGE)]
    many = next(m for m in report.messages if any(f.code == MailCode.TOO_MANY_PARTS for f in m.findings))
    assert many.status is MessageStatus.ATTENTION and many.parts == []
    trav = by_subject["traversal"]
    assert trav.parts[0].saved_as == "反馈卡.pdf" and trav.parts[0].inbox is not None
    assert trav.parts[0].inbox.status is Status.FILED
    bad = next(m for m in report.messages if m.message_id == "<malformed@y.cn>")
    assert bad.status is MessageStatus.ATTENTION and bad.note
    crowded = next(m for m in report.messages if any(f.code == MailCode.MANY_RECIPIENTS for f in m.findings))
    assert crowded.status is MessageStatus.PROCESSED and crowded.parts[0].inbox.status is Status.FILED
    with session(ws) as s:
        src = s.scalars(select(MailSource).where(MailSource.sha256 == crowded.parts[0].sha256)).one()
        assert src.recipient_count == 10_000 and len(src.recipients) == 50
    assert filed(ws) == 2
    # Nothing outside the workspace, every message marked, the attention list names them all.
    assert not Path("/Windows").exists()
    assert len(server.flags()) == 6 and all("RuqiProcessed" in f for f in server.flags())
    from engine.mail import attention

    assert len(attention(ws)) == 4


# ---------------------------------------------------------------- kill -9


def _fetch(ws: Workspace, fault: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUQI_MAIL_FAULT": fault} if fault else {k: v for k, v in os.environ.items()
                                                                   if k != "RUQI_MAIL_FAULT"}
    return subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "mail", "fetch", "--json", "-w", str(ws.root)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


@needs_dovecot
@pytest.mark.slow
@pytest.mark.parametrize("point", ["after_save", "before_ingest"])
def test_kill_9_between_saving_and_marking_loses_nothing_and_files_nothing_twice(
        tmp_path: Path, server: Dovecot, cards: Path, point: str) -> None:
    ws = workspace(tmp_path, server)
    c0, c1 = card(cards, tmp_path / "c", 0), card(cards, tmp_path / "c", 1)
    server.deliver(foxmail([("卡0.pdf", c0)]))
    server.deliver(qqmail([("卡1.pdf", c1), ("卡0-again.pdf", c0)]))
    killed = _fetch(ws, point)
    assert killed.returncode == -9, killed.stderr
    # Killed after the first message's attachment reached the inbox (after_save) or after both
    # messages were marked (before_ingest): either way it waits in the inbox with its provenance.
    assert (ws.inbox / "卡0.pdf").exists()
    assert filed(ws) == 0
    again = _fetch(ws)
    assert again.returncode == 0, again.stderr
    assert filed(ws) == 2
    assert not [p for p in ws.inbox.iterdir() if p.is_file()]
    assert not [p for p in ws.rejected.iterdir() if p.is_file()]
    assert all("RuqiProcessed" in f for f in server.flags()) and len(server.flags()) == 2
    with session(ws) as s:
        srcs = s.scalars(select(MailSource)).all()
        assert sorted(r.original_name for r in srcs) == ["卡0-again.pdf", "卡0.pdf", "卡1.pdf"]
        rows = s.scalars(select(ItemRecord).where(ItemRecord.form_type == "card_returned")).all()
        assert all(r.extra.get("mail", {}).get("sender", "").endswith(f"<{ENTERPRISE}>") or
                   r.extra.get("mail", {}).get("sender", "").endswith("<12345678@qq.com>") for r in rows)
    # A third run has nothing to do.
    third = _fetch(ws)
    assert third.returncode == 0 and third.stdout.strip() == "" and filed(ws) == 2


# ---------------------------------------------------------------- receipts


@needs_dovecot
def test_receipts_say_what_became_of_each_file_and_only_to_the_sender(tmp_path: Path, server: Dovecot,
                                                                       cards: Path) -> None:
    with SmtpSink() as sink:
        ws = workspace(tmp_path, server, receipts=True, smtp_host="127.0.0.1", smtp_port=sink.port,
                       smtp_security="none", receipt_from="zfjd@dtyjj.gov.cn", receipts_per_day=2)
        good = card(cards, tmp_path / "c", 0)
        locked = encrypted_pdf(card(cards, tmp_path / "c", 1))
        a = foxmail([("反馈卡.pdf", good), ("加密的卡.pdf", locked)])
        a["Cc"] = "boss@hengtai.cn"
        a["Reply-To"] = "attacker@evil.example"
        server.deliver(a)
        renamed = (kit_dir := cards) / "renamed.docx"
        server.deliver(qqmail([("我们的卡.docx", renamed.read_bytes())], sender="someone@qq.com"))
        auto = text_only("我不在办公室", subject="自动回复：反馈卡")
        auto["Auto-Submitted"] = "auto-replied"
        server.deliver(auto)
        for i in range(3):
            server.deliver(text_only(f"第{i}次：卡在网盘", sender="pester@163.com"))
        report = collect(ws)
        assert not report.problems
        got = sink.bodies()
    to = sorted(t[0] for t, _, _ in got)
    assert to == [ENTERPRISE, "pester@163.com", "pester@163.com", "someone@qq.com"]
    text = {t[0]: body for t, body, _ in got}
    hengtai = text[ENTERPRISE]
    assert "反馈卡.pdf：已收到并归档" in hengtai
    assert "加密的卡.pdf：已退回，未归档" in hengtai and "密码" in hengtai
    # The SUSPECT card: the sender learns nothing the register knows about that inspection.
    other = text["someone@qq.com"]
    assert "与本局登记不一致" in other
    assert "晋华" not in other and "140200-2025" not in other and "J001" not in other
    assert "没有找到附件" in text["pester@163.com"]
    headers = next(m for t, _, m in got if t == [ENTERPRISE])
    assert headers["Auto-Submitted"] == "auto-replied" and headers["In-Reply-To"] == a["Message-ID"]
    notes = [m.receipt for m in report.messages]
    assert any("上限" in n for n in notes) and any("自动发送" in n for n in notes)
    assert kit_dir.exists()


# ---------------------------------------------------------------- configuration


def _ws_with(tmp_path: Path, toml: str) -> Workspace:
    ws = new_workspace(tmp_path / "ws", inspections=0)
    cfg = ws.root / "ruqi.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + toml, encoding="utf-8")
    return Workspace.open(ws.root)


def test_mailbox_configuration_is_checked(tmp_path: Path) -> None:
    with pytest.raises(RuqiError) as e:
        _ws_with(tmp_path, '[[mail]]\nhost = "imap.qq.com"\nuser = "a@qq.com"\npassword = "x"\n'
                           '[[mail]]\nhost = "127.0.0.1"\nuser = "c"\nsecurity = "none"\nfoldr = "INBOX"\n'
                           '[[mail]]\nuser = "c"\nsecurity = "ssl"\n')
    wheres = {f.where: f for f in e.value.findings}
    assert "chmod 600" in wheres["ruqi.toml 第1个 [[mail]] password"].message
    assert "folder" in wheres["ruqi.toml 第2个 [[mail]] foldr"].message
    assert {"ruqi.toml 第3个 [[mail]] host", "ruqi.toml 第3个 [[mail]] security"} <= set(wheres)
    ws = _ws_with(tmp_path / "ok", '[[mail]]\nhost = "imap.163.com"\nuser = "b@163.com"\nsecurity = "none"\n'
                                    '[[mail]]\nhost = "imap.exmail.qq.com"\nuser = "d@x.cn"\n')
    accts, problems = accounts(ws)
    assert [a.user for a in accts] == ["d@x.cn"] and accts[0].port == 993 and accts[0].security == "tls"
    assert [(f.code, f.where) for f in problems] == [(ConfigCode.INSECURE, "ruqi.toml 第1个 [[mail]] security")]


def test_password_file_must_be_owner_only_and_inside_the_workspace(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ws = _ws_with(tmp_path, '[[mail]]\nhost = "127.0.0.1"\nuser = "c"\nsecurity = "none"\npassword_file = "m.secret"\n'
                            '[[mail]]\nhost = "127.0.0.1"\nuser = "d"\nsecurity = "none"\npassword_file = "../x"\n'
                            '[[mail]]\nhost = "127.0.0.1"\nuser = "e"\nsecurity = "none"\n')
    a, b, c = accounts(ws)[0]
    secret = ws.root / "m.secret"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o644)
    with pytest.raises(RuqiError) as e:
        password(ws, a)
    assert e.value.finding.code == ConfigCode.PASSWORD_FILE_OPEN and "chmod 600" in e.value.finding.message
    secret.chmod(0o600)
    assert password(ws, a) == PASSWORD
    with pytest.raises(RuqiError):
        password(ws, b)
    monkeypatch.delenv("RUQI_MAIL_PASSWORD", raising=False)
    with pytest.raises(RuqiError) as e:
        password(ws, c)
    assert e.value.finding.code == ConfigCode.PASSWORD_MISSING
    monkeypatch.setenv("RUQI_MAIL_PASSWORD", "from-env")
    assert password(ws, c) == "from-env"


@needs_dovecot
def test_a_wrong_password_is_a_clear_problem_and_other_mailboxes_still_fetch(tmp_path: Path, server: Dovecot,
                                                                             cards: Path) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=2)
    connect_workspace(ws.root, server, ("zfjd",))
    cfg = ws.root / "ruqi.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + server.mail_toml("jw").replace('password_file = "mail.secret"',
                                                                                     'password_file = "wrong.secret"'),
                   encoding="utf-8")
    (ws.root / "wrong.secret").write_text("nope", encoding="utf-8")
    (ws.root / "wrong.secret").chmod(0o600)
    ws = Workspace.open(ws.root)
    server.deliver(foxmail([("卡.pdf", card(cards, tmp_path / "c", 0))]))
    report = collect(ws)
    assert [f.code for f in report.problems] == [ConfigCode.LOGIN]
    assert "授权码" in report.problems[0].message
    assert filed(ws) == 1


@needs_dovecot
def test_a_message_over_the_size_limit_is_not_downloaded_but_listed(tmp_path: Path, server: Dovecot,
                                                                     cards: Path) -> None:
    ws = workspace(tmp_path, server)
    cfg = ws.root / "ruqi.toml"
    text = cfg.read_text(encoding="utf-8")
    assert "max_file_mb = 25" in text
    cfg.write_text(text.replace("max_file_mb = 25", "max_file_mb = 1"), encoding="utf-8")
    ws = Workspace.open(ws.root)
    server.deliver(qqmail([("扫描件.pdf", b"%PDF-1.4\n" + os.urandom(5 * 1024 * 1024))], subject="很大的扫描件"))
    server.deliver(foxmail([("卡.pdf", card(cards, tmp_path / "c", 0))]))
    report = collect(ws)
    big = next(m for m in report.messages if m.subject == "很大的扫描件")
    assert big.status is MessageStatus.ATTENTION and big.parts == []
    assert [f.code for f in big.findings] == [MailCode.TOO_LARGE] and "未下载" in big.findings[0].message
    assert big.sender.endswith("<12345678@qq.com>")
    assert filed(ws) == 1 and all("RuqiProcessed" in f for f in server.flags())


@needs_dovecot
def test_tls_and_starttls_verify_the_servers_certificate(tmp_path: Path, cards: Path) -> None:
    import shutil

    srv = Dovecot(tls=True).start()
    try:
        ws = new_workspace(tmp_path / "ws", inspections=2)
        shutil.copy(srv.dir / "cert.pem", ws.root / "bureau-ca.pem")
        cfg = ws.root / "ruqi.toml"
        tls = srv.mail_toml("zfjd").replace('security = "none"', 'security = "tls"').replace(
            f"port = {srv.port}", f"port = {srv.tls_port}") + 'ca_file = "bureau-ca.pem"\n'
        starttls = srv.mail_toml("jw").replace('security = "none"', 'security = "starttls"') + 'ca_file = "bureau-ca.pem"\n'
        cfg.write_text(cfg.read_text(encoding="utf-8") + tls + starttls, encoding="utf-8")
        (ws.root / "mail.secret").write_text(PASSWORD, encoding="utf-8")
        (ws.root / "mail.secret").chmod(0o600)
        ws = Workspace.open(ws.root)
        srv.deliver(foxmail([("卡0.pdf", card(cards, tmp_path / "c", 0))]), user="zfjd")
        srv.deliver(foxmail([("卡1.pdf", card(cards, tmp_path / "c", 1))]), user="jw")
        with SmtpSink(cert=srv.dir / "cert.pem") as sink:
            receipts = (f'receipts = true\nsmtp_host = "127.0.0.1"\nsmtp_port = {sink.port}\n'
                        'smtp_security = "tls"\nreceipt_from = "zfjd@dtyjj.gov.cn"\n')
            cfg.write_text(cfg.read_text(encoding="utf-8").replace(tls, tls + receipts), encoding="utf-8")
            report = collect(Workspace.open(ws.root))
            assert report.problems == [] and filed(ws) == 2
            assert [to for to, _ in sink.received] == [[ENTERPRISE]]  # over TLS, verified with the same CA
        cfg.write_text(cfg.read_text(encoding="utf-8").replace(receipts, ""), encoding="utf-8")
        # Without the bureau's CA the certificate is not trusted: a clear problem, nothing fetched.
        cfg.write_text(cfg.read_text(encoding="utf-8").replace('ca_file = "bureau-ca.pem"\n', ""), encoding="utf-8")
        srv.deliver(foxmail([("卡2.pdf", card(cards, tmp_path / "c", 0, {**ANSWERS_CLEAN, 1: "是"}))]), user="zfjd")
        again = collect(Workspace.open(ws.root))
        assert [f.code for f in again.problems] == [ConfigCode.CERTIFICATE] * 2 and "ca_file" in again.problems[0].message
        assert again.messages == [] and filed(ws) == 2
    finally:
        srv.stop()
