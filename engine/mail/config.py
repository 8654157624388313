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

A password is never read from ``ruqi.toml``: a ``password`` key is an error.
"""

from __future__ import annotations

import ipaddress
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..findings import Finding, RuqiError, error
from ..workspace import CONFIG_NAME, Workspace
from .codes import ConfigCode

PASSWORD_ENV = "RUQI_MAIL_PASSWORD"
SECURITY = ("tls", "starttls", "none")
DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
DEFAULT_SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}

# key: (type, default, Chinese meaning)
KEYS: dict[str, tuple[type, Any, str]] = {
    "host": (str, "", "IMAP 服务器地址"),
    "port": (int, 0, "IMAP 端口"),
    "security": (str, "tls", "连接加密方式"),
    "user": (str, "", "邮箱账号"),
    "folder": (str, "INBOX", "读取的文件夹"),
    "password_file": (str, "", "密码文件"),
    "processed_folder": (str, "", "处理完的邮件移到的文件夹"),
    "receipts": (bool, False, "是否给发件人回执"),
    "smtp_host": (str, "", "SMTP 服务器地址"),
    "smtp_port": (int, 0, "SMTP 端口"),
    "smtp_security": (str, "tls", "SMTP 加密方式"),
    "receipt_from": (str, "", "回执的发件地址"),
    "receipts_per_day": (int, 5, "每个发件人每天最多回执数"),
}


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
    """Every ``[[mail]]`` table as a MailAccount, and one finding per problem (such a table is left out)."""
    out: list[MailAccount] = []
    found: list[Finding] = []
    for i, table in enumerate(ws.config.mail, start=1):
        acct, problems = _account(i, table)
        found.extend(problems)
        if acct is not None and not problems:
            out.append(acct)
    return out, found


def _where(i: int, key: str = "") -> str:
    return f"{CONFIG_NAME} 第{i}个 [[mail]]{' ' + key if key else ''}"


def _account(i: int, table: Any) -> tuple[MailAccount | None, list[Finding]]:
    if not isinstance(table, dict):
        return None, [error(ConfigCode.BAD_MAILBOX, "[[mail]] 应是一个表（单独一行写 [[mail]]，下面逐行写配置项）。", _where(i))]
    found: list[Finding] = []
    values: dict[str, Any] = {}
    for k, v in table.items():
        if k == "password":
            found.append(error(ConfigCode.BAD_MAILBOX, "ruqi.toml 中不能写邮箱密码。请把密码单独存入一个文件（只允许本人读取，chmod 600），"
                                                       "用 password_file 指定；或设置环境变量 RUQI_MAIL_PASSWORD。", _where(i, k)))
        elif k not in KEYS:
            found.append(error(ConfigCode.BAD_MAILBOX, f"[[mail]] 中没有名为 {k} 的配置项。可用的有：{'、'.join(KEYS)}。"
                                                       "写错的配置项不会被忽略，请改正或删除这一行。", _where(i, k)))
        elif not _type_ok(KEYS[k][0], v):
            found.append(error(ConfigCode.BAD_MAILBOX, f"{k}（{KEYS[k][2]}）的值 {v!r} 类型不对。", _where(i, k)))
        else:
            values[k] = v
    for k in ("host", "user"):
        if not values.get(k):
            found.append(error(ConfigCode.BAD_MAILBOX, f"[[mail]] 缺少必填项 {k}（{KEYS[k][2]}）。", _where(i, k)))
    for k in ("security", "smtp_security"):
        if values.get(k, "tls") not in SECURITY:
            found.append(error(ConfigCode.BAD_MAILBOX, f"{k} 只能是 \"tls\"、\"starttls\" 或 \"none\"，现为 {values[k]!r}。", _where(i, k)))
    if found:
        return None, found
    sec = values.get("security", "tls")
    smtp_sec = values.get("smtp_security", "tls")
    acct = MailAccount(
        host=values["host"], port=values.get("port") or DEFAULT_PORTS[sec], security=sec, user=values["user"],
        folder=values.get("folder") or "INBOX", password_file=values.get("password_file", ""),
        processed_folder=values.get("processed_folder", ""), receipts=bool(values.get("receipts", False)),
        smtp_host=values.get("smtp_host") or values["host"],
        smtp_port=values.get("smtp_port") or DEFAULT_SMTP_PORTS[smtp_sec], smtp_security=smtp_sec,
        receipt_from=values.get("receipt_from", ""), receipts_per_day=values.get("receipts_per_day", 5),
    )
    for host, s, key in ((acct.host, acct.security, "security"), (acct.smtp_host, acct.smtp_security, "smtp_security")):
        if s == "none" and not is_loopback(host):
            found.append(error(ConfigCode.INSECURE, f"{key} = \"none\"（不加密）只允许连接本机（127.0.0.1）。"
                                                    f"连接 {host} 请用 \"tls\" 或 \"starttls\"，否则密码和邮件会以明文在网络上传输。",
                                _where(i, key)))
    return (None, found) if found else (acct, [])


def _type_ok(kind: type, v: Any) -> bool:
    if kind is int:
        return isinstance(v, int) and not isinstance(v, bool) and v >= 0
    return isinstance(v, kind)


def password(ws: Workspace, acct: MailAccount) -> str:
    """The mailbox password: from ``password_file`` (owner-only) or ``RUQI_MAIL_PASSWORD``."""
    if acct.password_file:
        p = Path(acct.password_file)
        if p.is_absolute() or ".." in p.parts:
            raise RuqiError(error(ConfigCode.PASSWORD_MISSING, f"password_file 应是工作目录中的文件名（如 \"mail.secret\"），"
                                                               f"现为“{acct.password_file}”。", acct.key))
        path = ws.root / p
        try:
            st = path.stat()
        except FileNotFoundError:
            raise RuqiError(error(ConfigCode.PASSWORD_MISSING, f"找不到密码文件 {path}。", acct.key)) from None
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise RuqiError(error(ConfigCode.PASSWORD_FILE_OPEN,
                                  f"密码文件 {path} 其他用户也能读取（权限 {stat.filemode(st.st_mode)}）。"
                                  f"请运行 chmod 600 {path} 后重试。", acct.key))
        return path.read_text(encoding="utf-8").strip("\r\n")
    pw = os.environ.get(PASSWORD_ENV, "")
    if not pw:
        raise RuqiError(error(ConfigCode.PASSWORD_MISSING, f"邮箱 {acct.user} 没有密码：请在 [[mail]] 中用 password_file 指定密码文件，"
                                                           f"或设置环境变量 {PASSWORD_ENV}。", acct.key))
    return pw
