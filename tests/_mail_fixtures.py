"""A real IMAP server (Dovecot) and SMTP receiver (aiosmtpd) started by the tests, and messages built
the way Chinese mail clients build them.

``Dovecot`` writes a throwaway configuration into a temp directory: 127.0.0.1 on a free port,
plaintext auth (loopback only), a passwd-file, maildirs in the temp directory.  It works as root
(mail owned by ``nobody``, login processes as ``dovenull``) and as an ordinary user (everything
as that user).  Tests that need it skip where ``dovecot`` is not installed.

Messages are built with the ``email`` package (compat32 MIME classes, where a header string is
kept exactly as given): Foxmail (GBK RFC 2047 names inside quoted parameters, octet-stream,
GB2312 body), Outlook (RFC 2047 names, TNEF winmail.dat), QQ mail (RFC 2231 UTF-8 names, HTML
body, 超大附件 links), webmail with raw GBK bytes in the name, forwarded mails, pasted photos,
zips made on Chinese Windows (GBK member names, no UTF-8 flag).  They are delivered with IMAP
APPEND, with the INTERNALDATE the test chooses (when the bureau's server received them).
"""

from __future__ import annotations

import base64
import contextlib
import grp
import imaplib
import io
import os
import pwd
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)
needs_dovecot = pytest.mark.skipif(DOVECOT is None, reason="dovecot (Debian dovecot-imapd) is not installed")
PASSWORD = "s3cret-Auth-code"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    users: tuple[str, ...] = ("zfjd", "jw")
    dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ruqi-dovecot-")))
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    tls: bool = False  # also TLS on tls_port (imaps) and STARTTLS on port, with a certificate made here
    tls_port: int = field(default_factory=free_port)

    def start(self) -> Dovecot:
        assert DOVECOT
        d = self.dir
        d.chmod(0o755)  # login and mail processes run as other users when started by root
        root = os.geteuid() == 0
        me = pwd.getpwuid(os.geteuid()).pw_name
        login, internal = ("dovenull", "dovecot") if root else (me, me)
        group = "dovecot" if root else grp.getgrgid(os.getegid()).gr_name
        uid, gid = (65534, 65534) if root else (os.geteuid(), os.getegid())
        (d / "mail").mkdir()
        lines = []
        for u in self.users:
            home = d / "mail" / u
            home.mkdir()
            lines.append(f"{u}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{home}")
        if root:
            for p in (d / "mail").rglob("*"):
                os.chown(p, uid, gid)
            os.chown(d / "mail", uid, gid)
        (d / "passwd").write_text("\n".join(lines) + "\n", encoding="utf-8")
        ssl_conf = "ssl = no"
        if self.tls:
            self.make_certificate()
            ssl_conf = f"ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem"
        (d / "dovecot.conf").write_text(f"""\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login}
default_internal_user = {internal}
default_internal_group = {group}
first_valid_uid = {min(uid, 500)}
mail_location = maildir:~/Maildir
imap_max_line_length = 2M
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port if self.tls else 0}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""", encoding="utf-8")
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", str(d / "dovecot.conf")], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        err = self.proc.stderr.read().decode() if self.proc.stderr and self.proc.poll() is not None else ""
        log = (d / "dovecot.log").read_text() if (d / "dovecot.log").exists() else ""
        self.stop()
        raise RuntimeError(f"dovecot did not start: {err}\n{log}")

    def make_certificate(self) -> Path:
        """A self-signed certificate for 127.0.0.1 (``cert.pem``): the test's stand-in for a bureau's own CA."""
        d = self.dir
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
                        "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")], check=True, capture_output=True)
        return d / "cert.pem"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def imap(self, user: str = "zfjd") -> imaplib.IMAP4:
        m = imaplib.IMAP4("127.0.0.1", self.port)
        m.login(user, PASSWORD)
        return m

    def deliver(self, msg: bytes | MIMEBase, received: datetime | None = None, user: str = "zfjd",
                folder: str = "INBOX") -> None:
        raw = msg if isinstance(msg, bytes) else msg.as_bytes()
        m = self.imap(user)
        try:
            when = imaplib.Time2Internaldate((received or datetime.now()).timestamp())
            typ, data = m.append(folder, None, when, raw)
            assert typ == "OK", data
        finally:
            m.logout()

    def flags(self, user: str = "zfjd", folder: str = "INBOX") -> list[str]:
        m = self.imap(user)
        try:
            m.select(folder)
            typ, data = m.fetch("1:*", "(FLAGS)")
            return [d.decode() for d in data if isinstance(d, bytes)]
        finally:
            m.logout()

    def count(self, user: str = "zfjd", folder: str = "INBOX") -> int:
        m = self.imap(user)
        try:
            typ, data = m.select(folder)
            return int(data[0])
        finally:
            m.logout()

    def mail_toml(self, user: str = "zfjd", **extra: object) -> str:
        lines = ["[[mail]]", 'host = "127.0.0.1"', f"port = {self.port}", 'security = "none"', f'user = "{user}"',
                 'password_file = "mail.secret"']
        for k, v in extra.items():
            lines.append(f"{k} = {_toml(v)}")
        return "\n".join(lines) + "\n"


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(v)


def connect_workspace(ws_root: Path, server: Dovecot, users: tuple[str, ...] = ("zfjd",), **extra: object) -> None:
    """Add [[mail]] tables and an owner-only password file to a workspace."""
    cfg = ws_root / "ruqi.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n" + "".join(server.mail_toml(u, **extra) for u in users),
                   encoding="utf-8")
    secret = ws_root / "mail.secret"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    secret.chmod(0o600)


# ---------------------------------------------------------------- SMTP receiver


class SmtpSink:
    """aiosmtpd on 127.0.0.1: every message it receives, as (envelope to, raw bytes)."""

    def __init__(self, cert: Path | None = None) -> None:
        import ssl

        from aiosmtpd.controller import Controller

        self.received: list[tuple[list[str], bytes]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
                sink.received.append((list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
                return "250 OK"

        self.port = free_port()
        ctx = None
        if cert is not None:  # implicit TLS (port 465 style) with the test's certificate
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(cert, cert.with_name("key.pem"))
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, ssl_context=ctx)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def bodies(self) -> list[tuple[list[str], str, object]]:
        from email import message_from_bytes, policy

        out = []
        for to, raw in self.received:
            m = message_from_bytes(raw, policy=policy.default)
            out.append((to, m.get_body(("plain",)).get_content(), m))
        return out


# ---------------------------------------------------------------- messages the way clients build them

ENTERPRISE = "hengtai@163.com"
BUREAU = "zfjd@dtyjj.gov.cn"


def _head(msg: MIMEBase, subject: str, sender: str, to: str | list[str], subject_charset: str = "gbk") -> MIMEBase:
    msg["From"] = Header("大同市恒泰化工有限公司", subject_charset).encode() + f" <{sender}>"
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    msg["Subject"] = Header(subject, subject_charset).encode()
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    return msg


def b2047(name: str, charset: str = "gbk") -> str:
    return f"=?{charset.upper()}?B?{base64.b64encode(name.encode(charset)).decode()}?="


def foxmail(attachments: list[tuple[str, bytes]], subject: str = "反馈卡", sender: str = ENTERPRISE,
            to: str = BUREAU) -> MIMEBase:
    """Foxmail: GB2312 body (with a GBK-only character), octet-stream, RFC 2047 GBK names in quotes."""
    msg = MIMEMultipart("mixed")
    _head(msg, subject, sender, to)
    msg.attach(gb2312_body(FOXMAIL_BODY))
    for name, data in attachments:
        part = MIMEBase("application", "octet-stream")
        part.set_payload(data)
        from email import encoders

        encoders.encode_base64(part)
        del part["Content-Type"]
        part["Content-Type"] = f'application/octet-stream; name="{b2047(name)}"'
        part["Content-Disposition"] = f'attachment; filename="{b2047(name)}"'
        msg.attach(part)
    return msg


FOXMAIL_BODY = "您好：\n附件是我公司填写的反馈卡，请查收。\n——恒泰化工 張經理\n"


def gb2312_body(text: str) -> MIMEBase:
    """A body labelled GB2312 holding GBK-only characters (張, 經), as Foxmail and Outlook send it."""
    body = MIMEBase("text", "plain", charset="gb2312")
    body["Content-Transfer-Encoding"] = "base64"
    body.set_payload(base64.encodebytes(text.encode("gbk")).decode("ascii"))
    return body


def outlook_tnef(attachments: list[tuple[str, bytes]], subject: str = "反馈卡", sender: str = ENTERPRISE) -> MIMEBase:
    """Outlook in RTF mode: the attachments are inside winmail.dat (application/ms-tnef)."""
    msg = MIMEMultipart("mixed")
    _head(msg, subject, sender, BUREAU, "gb18030")
    msg.attach(gb2312_body("请查收附件。"))
    part = MIMEApplication(tnef(attachments), "ms-tnef")
    part.add_header("Content-Disposition", "attachment", filename="winmail.dat")
    msg.attach(part)
    return msg


def qqmail(attachments: list[tuple[str, bytes]], subject: str = "反馈卡", sender: str = "12345678@qq.com",
           html: str = "<div>附件为反馈卡，请查收。</div>") -> MIMEBase:
    """QQ mail: HTML body (UTF-8), RFC 2231 UTF-8 names, real MIME types."""
    msg = MIMEMultipart("mixed")
    _head(msg, subject, sender, BUREAU, "utf-8")
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("附件为反馈卡，请查收。", "plain", "utf-8"))
    alt.attach(MIMEText(html, "html", "utf-8"))
    msg.attach(alt)
    for name, data in attachments:
        sub = "pdf" if name.lower().endswith(".pdf") else "octet-stream"
        part = MIMEApplication(data, sub)
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        msg.attach(part)
    return msg


def raw_gbk_name(name: str, data: bytes, sender: str = ENTERPRISE) -> bytes:
    """Some webmail writes the name's GBK bytes into the header without any encoding."""
    msg = MIMEMultipart("mixed")
    _head(msg, "反馈卡", sender, BUREAU)
    msg.attach(MIMEText("见附件", "plain", "utf-8"))
    part = MIMEApplication(data, "octet-stream")
    del part["Content-Type"]
    part["Content-Type"] = 'application/octet-stream; name="PLACEHOLDER-NAME"'
    part["Content-Disposition"] = 'attachment; filename="PLACEHOLDER-NAME"'
    msg.attach(part)
    return msg.as_bytes().replace(b"PLACEHOLDER-NAME", name.encode("gbk"))


def forwarded(inner: MIMEBase, note: str = "转发企业交回的反馈卡", sender: str = "clerk@dtyjj.gov.cn") -> MIMEBase:
    msg = MIMEMultipart("mixed")
    _head(msg, "转发：反馈卡", sender, BUREAU)
    msg.attach(MIMEText(note, "plain", "utf-8"))
    msg.attach(MIMEMessage(inner))
    return msg


def pasted_photo(image: bytes, subtype: str = "jpeg", sender: str = ENTERPRISE) -> MIMEBase:
    """A photo pasted into the body: multipart/related, inline, a Content-ID and no file name."""
    msg = MIMEMultipart("related")
    _head(msg, "反馈卡照片", sender, BUREAU)
    cid = make_msgid()[1:-1]
    msg.attach(MIMEText(f'<p>反馈卡照片如下</p><img src="cid:{cid}">', "html", "utf-8"))
    img = MIMEImage(image, subtype)
    img.add_header("Content-ID", f"<{cid}>")
    img.add_header("Content-Disposition", "inline")
    msg.attach(img)
    return msg


def text_only(body: str, subject: str = "反馈卡已填好", sender: str = ENTERPRISE) -> MIMEBase:
    msg = gb2312_body(body)
    _head(msg, subject, sender, BUREAU)
    return msg


def gbk_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip as Windows' built-in compressor makes it on a Chinese system: GBK names, no UTF-8 flag."""
    buf = io.BytesIO()
    placeholders = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members):
            gbk = name.encode("gbk")
            ph = (f"{i:03d}" + "x" * len(gbk))[:len(gbk)] if len(gbk) >= 3 else "x" * len(gbk)
            placeholders.append((ph.encode("ascii"), gbk))
            z.writestr(ph, data)
    raw = buf.getvalue()
    for ph, gbk in placeholders:
        raw = raw.replace(ph, gbk)
    return raw


def tnef(attachments: list[tuple[str, bytes]]) -> bytes:
    """A minimal winmail.dat: version, OEM code page 936, and per attachment its title (GBK) and data."""
    def attr(level: int, name: int, typ: int, data: bytes) -> bytes:
        return struct.pack("<BHHI", level, name, typ, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x1234)
    out += attr(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))
    out += attr(1, 0x9007, 0x0006, struct.pack("<II", 936, 0))
    for name, data in attachments:
        out += attr(2, 0x9002, 0x0006, struct.pack("<HiiiHI", 1, -1, 0, 0, 0, 0))
        out += attr(2, 0x8010, 0x0001, name.encode("gbk") + b"\x00")
        out += attr(2, 0x800F, 0x0006, data)
    return out


def card_photo(pdf: Path) -> bytes:
    """A phone photo of the returned card: the PDF rasterised to JPEG (the QR code stays readable)."""
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(str(pdf))[0]
    img = page.render(scale=2).to_pil().convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()
