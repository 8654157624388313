"""``[[mail]]`` tables of ``ruqi.toml``: the bureau's mailboxes, checked strictly, and their passwords.

One table per mailbox::

    [[mail]]
    host = "imap.example.gov.cn"
    port = 993
    security = "tls"              # "tls", "starttls", or "none" (only for 127.0.0.1 / localhost)
    user = "zfjd@example.gov.cn"
    folder = "INBOX"
    password_file = "mail-zfjd.secret"   # relative to the workspace, mode 600; or RUQI_MAIL_PASSWORD
    processed_folder = ""         # "" : mark processed messages with a flag; or e.g. "ruqi/已收": move them there
    receipts = false              # reply to every sender by SMTP (see engine.mail.receipts)
    smtp_host = ""                # default: host
    smtp_port = 465
    smtp_security = "tls"
    receipt_from = ""             # default: user
    receipts_per_day = 5          # per sender
    ca_file = ""                  # a private CA's certificate (relative to the workspace); "" : the system's

A password is never read from ``ruqi.toml``: a ``password`` key is an error.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass

from ..findings import Finding, RuqiError, error
from ..workspace import CONFIG_NAME, Workspace, read_secret_file
from .codes import ConfigCode

PASSWORD_ENV = "RUQI_MAIL_PASSWORD"
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
DEFAULT_SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}


def tls_context(acct: MailAccount) -> ssl.SSLContext:
    """Certificates are always verified: against the system's CA store, or the bureau's own CA."""
    return ssl.create_default_context(cafile=acct.ca_file or None)


@dataclass(frozen=True, slots=True)
class MailAccount:
    host: str
    port: int
    security: str
    user: str
    folder: str = "INBOX"
    password_file: str = ""
    processed_folder: str = ""
    receipts: bool = False
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: str = "tls"
    receipt_from: str = ""
    receipts_per_day: int = 5
    ca_file: str = ""  # absolute path, or "" for the system's CA store

    @property
    def key(self) -> str:
        """How provenance names the mailbox: ``user@host/folder``."""
        return f"{self.user}@{self.host}/{self.folder}"

    @property
    def from_address(self) -> str:
        return self.receipt_from or self.user


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def accounts(ws: Workspace) -> tuple[list[MailAccount], list[Finding]]:
    """Every ``[[mail]]`` table as a MailAccount, and one finding per problem (such a mailbox is left out).

    Types, unknown keys and a password in the toml are refused when ``ruqi.toml`` is loaded (the
    schema in ``engine.workspace``); what is checked here is the rule across keys: no plaintext
    connection to another machine."""
    out: list[MailAccount] = []
    found: list[Finding] = []
    for i, v in enumerate(ws.config.mail, start=1):
        sec, smtp_sec = v["security"], v["smtp_security"]
        acct = MailAccount(
            host=v["host"], port=v["port"] or DEFAULT_PORTS[sec], security=sec, user=v["user"],
            folder=v["folder"] or "INBOX", password_file=v["password_file"], processed_folder=v["processed_folder"],
            receipts=v["receipts"], smtp_host=v["smtp_host"] or v["host"],
            smtp_port=v["smtp_port"] or DEFAULT_SMTP_PORTS[smtp_sec], smtp_security=smtp_sec,
            receipt_from=v["receipt_from"], receipts_per_day=v["receipts_per_day"],
            ca_file=str(ws.root / v["ca_file"]) if v["ca_file"] else "",
        )
        problems = [
            error(ConfigCode.INSECURE, f"{key} = \"none\"（不加密）只允许连接本机（127.0.0.1）。连接 {host} 请用 \"tls\" 或 "
                                       f"\"starttls\"，否则密码和邮件会以明文在网络上传输。", f"{CONFIG_NAME} 第{i}个 [[mail]] {key}")
            for host, s, key in ((acct.host, acct.security, "security"), (acct.smtp_host, acct.smtp_security, "smtp_security"))
            if s == "none" and not is_loopback(host)
        ]
        found.extend(problems)
        if not problems:
            out.append(acct)
    return out, found


def password(ws: Workspace, acct: MailAccount) -> str:
    """The mailbox password: from ``password_file`` (owner-only) or ``RUQI_MAIL_PASSWORD``."""
    if acct.password_file:
        secret = read_secret_file(ws.root, acct.password_file)
        if secret.value is None:
            code = ConfigCode.PASSWORD_FILE_OPEN if secret.too_open else ConfigCode.PASSWORD_MISSING
            raise RuqiError(error(code, secret.problem, acct.key))
        return secret.value
    pw = os.environ.get(PASSWORD_ENV, "")
    if not pw:
        raise RuqiError(error(ConfigCode.PASSWORD_MISSING, f"邮箱 {acct.user} 没有密码：请在 [[mail]] 中用 password_file 指定密码文件，"
                                                           f"或设置环境变量 {PASSWORD_ENV}。", acct.key))
    return pw
