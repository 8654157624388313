"""A workspace: one bureau's folder with ``inbox/``, ``outbox/``, ``archive/`` and ``ruqi.toml``.

``ruqi.toml`` holds the bureau's own data (name, level, division code, 全宗号, the
mailboxes and phones printed on the feedback card).  Everything the engine writes lives
under the workspace, so two bureaus never share state.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import re
import secrets
import stat
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from .divisions import COUNTIES
from .findings import Finding, RuqiError, error, os_reason
from .forms.definitions import FORMS, FormKey
from .forms.types import FormType

CONFIG_NAME = "ruqi.toml"
KEY_NAME = "ruqi.key"
KEY_BACKUP_NAME = "ruqi.key.bak"
KEY_BYTES = 32
LEVELS = ("省", "市", "县")
RETENTION_CHOICES = ("Y", "D30", "D10")

# 保管期限 per form type (DA/T 22: Y 永久, D30, D10); overridable in [archive.retention].
DEFAULT_RETENTION = {
    FormType.NOTICE: "D30",
    FormType.NOTICE_BOARD: "D30",
    FormType.CARD_GENERATED: "D30",
    FormType.CARD_RETURNED: "D30",
    FormType.STATS_TABLE: "D10",
    FormType.STATS_REPORT: "D30",
    FormType.REVIEW_EXPORT: "D30",
}


class ConfigCode(StrEnum):
    NOT_A_WORKSPACE = "NOT_A_WORKSPACE"
    UNREADABLE = "CONFIG_UNREADABLE"
    ENCODING = "CONFIG_ENCODING"
    SYNTAX = "CONFIG_SYNTAX"
    UNKNOWN_TABLE = "CONFIG_UNKNOWN_TABLE"
    UNKNOWN_KEY = "CONFIG_UNKNOWN_KEY"
    NOT_A_TABLE = "CONFIG_NOT_A_TABLE"
    MISSING = "CONFIG_MISSING"
    BAD_TYPE = "CONFIG_BAD_TYPE"
    BAD_VALUE = "CONFIG_BAD_VALUE"
    KEY_MISSING = "KEY_MISSING"
    KEY_DAMAGED = "KEY_DAMAGED"
    NOT_WRITABLE = "WORKSPACE_NOT_WRITABLE"


# ---- the schema of ruqi.toml ------------------------------------------------------------------
# Every key the engine reads is declared here once: type, default, allowed values, what it means.
# Validation reports every problem at once; a key not declared here is an error (a misspelt
# key silently ignored would leave its default in force).  Adding a key: one line in SCHEMA
# (plus the dataclass field that carries it; tests/test_config.py checks the two agree).


@dataclass(frozen=True, slots=True)
class Key:
    kind: type  # str, int, float or bool
    default: Any
    zh: str  # what the key means, for messages
    choices: tuple[str, ...] = ()
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    pattern: str = ""  # a str value must match it entirely
    pattern_zh: str = ""  # the pattern, said for a clerk
    example: str = ""  # a valid right-hand side, shown in messages
    # Further checks (and the value's final form) for kinds the fields above cannot say, e.g. a
    # list of lines: returns (value, None) or (None, what is allowed).
    check: Callable[[Any], tuple[Any, str | None]] | None = None


@dataclass(frozen=True, slots=True)
class Table:
    keys: dict[str, Key]
    zh: str
    # A family of named sub-tables ([contacts."省"] …): the names allowed; None for a plain table.
    names: Callable[[], Iterable[str]] | None = None
    # An array of tables ([[mail]] …): each element is checked against ``keys`` and its values are
    # kept as ``"<path>.1"``, ``"<path>.2"`` …
    repeated: bool = False
    # A table that may be left out altogether (its required keys are required only when it is there).
    optional: bool = False


MAX_TEXT_CHARS = 120
MAX_CARD_LINES = 2  # the card must stay one page


def _text_lines(form_key: str) -> Callable[[Any], tuple[Any, str | None]]:
    """``[texts] <form> = ["…", …]``: the clerk's own lines that both the Word and the PDF version print."""
    most = MAX_CARD_LINES if form_key == FormKey.CARD else None

    def check(lines: Any) -> tuple[Any, str | None]:
        bad = [x for x in lines if not isinstance(x, str) or "\n" in x or len(x) > MAX_TEXT_CHARS]
        if bad:
            return None, f"每项是一行用英文双引号括起的文字，不含换行，不超过 {MAX_TEXT_CHARS} 字（“{str(bad[0])[:20]}…”不符合）。"
        if most is not None and len(lines) > most:
            return None, f"最多 {most} 行（反馈卡须保持一页）。"
        return tuple(x.strip() for x in lines if x.strip()), None

    return check


def _contact_names() -> Iterable[str]:
    """省, 市, 县, and each county by name: a city bureau inspecting in several counties prints the
    enterprise's own county's mailboxes and phones ([contacts."平城区"])."""
    return (*LEVELS, *dict.fromkeys(d.name for d in COUNTIES))


def _no_password(value: Any) -> tuple[Any, str | None]:
    return None, ("邮箱密码不能写在 ruqi.toml 中。请把密码单独存入工作目录中的一个文件（只允许本人读取：chmod 600），"
                  "用 password_file 指定；或设置环境变量 RUQI_MAIL_PASSWORD。")


def _no_register_password(value: Any) -> tuple[Any, str | None]:
    return None, ("共享台账的密码不能写在 ruqi.toml 中。请把密码单独存入工作目录中的一个文件（只允许本人读取：chmod 600），"
                  "用 password_file 指定；或设置环境变量 RUQI_REGISTER_PASSWORD。")


def _register_url(value: str) -> tuple[Any, str | None]:
    """The url may carry connection options (``?sslmode=require``), never ``password=``: libpq would
    take it from there as well as from the userinfo the pattern already leaves out."""
    query = value.partition("?")[2]
    if any(p.partition("=")[0].strip().lower() == "password" for p in query.split("&")):
        return _no_register_password(value)
    return value, None


REGISTER_URL = r"postgresql://[A-Za-z0-9_.-]+@[^\s/@:]*(:\d{1,5})?/[A-Za-z0-9_.-]+(\?[^\s@]*)?"
REGISTER_KEYS = {
    "url": Key(str, "", "共享台账的地址（管理员运行 ruqi register add-bureau 时打印）", required=True,
               pattern=REGISTER_URL, pattern_zh="postgresql://本局账号@服务器地址:端口/数据库名（不含密码）",
               example='"postgresql://ruqi_register_140213@10.14.2.5:5432/ruqi_register"', check=_register_url),
    "password_file": Key(str, "", "共享台账密码文件（工作目录中的文件名，权限 600；空：用环境变量 RUQI_REGISTER_PASSWORD）",
                         example='"register.pass"'),
    "password": Key(str, "", "密码", check=_no_register_password),
    "connect_timeout": Key(int, 5, "连接共享台账最多等待几秒", minimum=1, maximum=120, example="5"),
}

SECURITY = ("tls", "starttls", "none")
# [[mail]]: one table per mailbox of the bureau (engine.mail.config turns them into MailAccount).
MAIL_KEYS = {
    "host": Key(str, "", "IMAP 服务器地址", required=True, example='"imap.exmail.qq.com"'),
    "port": Key(int, 0, "IMAP 端口（0：按加密方式取 993 或 143）", minimum=0, maximum=65535, example="993"),
    "security": Key(str, "tls", "连接加密方式", choices=SECURITY, example='"tls"'),
    "user": Key(str, "", "邮箱账号", required=True, example='"zfjd@example.gov.cn"'),
    "folder": Key(str, "INBOX", "读取的文件夹", example='"INBOX"'),
    "password_file": Key(str, "", "密码文件（工作目录中的文件名，权限 600）", example='"mail.secret"'),
    "password": Key(str, "", "密码", check=_no_password),
    "ca_file": Key(str, "", "本单位自建证书的根证书文件（空：使用系统证书）", example='"bureau-ca.pem"'),
    "processed_folder": Key(str, "", "处理完的邮件移到的文件夹（空：只加标记）", example='"ruqi/已收"'),
    "receipts": Key(bool, False, "是否给发件人发回执", example="false"),
    "smtp_host": Key(str, "", "发回执的 SMTP 服务器（空：同 host）", example='"smtp.exmail.qq.com"'),
    "smtp_port": Key(int, 0, "SMTP 端口（0：按加密方式取 465、587 或 25）", minimum=0, maximum=65535, example="465"),
    "smtp_security": Key(str, "tls", "SMTP 加密方式", choices=SECURITY, example='"tls"'),
    "receipt_from": Key(str, "", "回执的发件地址（空：同 user）", example='"zfjd@example.gov.cn"'),
    "receipts_per_day": Key(int, 5, "每个发件人每天最多收到几封回执", minimum=0, maximum=1000, example="5"),
}

_PHONE_OR_EMPTY = dict(example='"0352-5000001"')
CONTACT_KEYS = {
    "supervision_email": Key(str, "", "执法监督机构邮箱", example='"zfjd@example.gov.cn"'),
    "supervision_phone": Key(str, "", "执法监督机构电话", **_PHONE_OR_EMPTY),
    "discipline_email": Key(str, "", "机关纪委邮箱", example='"jw@example.gov.cn"'),
    "discipline_phone": Key(str, "", "机关纪委电话", **_PHONE_OR_EMPTY),
}

SCHEMA: dict[str, Table] = {
    "": Table({}, "配置文件"),
    "bureau": Table({
        "name": Key(str, "", "本局全称", required=True, example='"大同市应急管理局"'),
        "level": Key(str, "", "本局级别", choices=LEVELS, required=True, example='"市"'),
        "division_code": Key(str, "", "行政区划代码", required=True, pattern=r"\d{6}", pattern_zh="6位数字",
                             example='"140200"'),
        "fonds_code": Key(str, "J001", "全宗号（档号第一段）", pattern=r"[0-9A-Za-z]{1,16}",
                          pattern_zh="1–16位字母或数字", example='"J001"'),
        "org_code": Key(str, "AQJ", "机构（问题）代码（档号第四段）", pattern=r"[0-9A-Za-z]{1,16}",
                        pattern_zh="1–16位字母或数字", example='"AQJ"'),
        "report_phone": Key(str, "", "公示上的举报电话", example='"0352-12350"'),
        "report_email": Key(str, "", "公示上的举报邮箱", example='"jubao@example.gov.cn"'),
    }, "本局信息"),
    "contacts": Table(CONTACT_KEYS, "反馈卡备注中的监督联系方式", names=_contact_names),
    "archive": Table({
        "database_url": Key(str, "", "数据库地址（空：使用 archive/ruqi.sqlite）", example='""'),
    }, "档案"),
    "archive.retention": Table(
        {k: Key(str, v, f"{k} 的保管期限", choices=RETENTION_CHOICES, example=f'"{v}"')
         for k, v in DEFAULT_RETENTION.items()}, "保管期限"),
    "inbox": Table({
        "late_days": Key(int, 3, "检查结束后几日内应交回反馈卡", minimum=0, maximum=365, example="3"),
    }, "收件箱"),
    "limits": Table({
        "max_file_mb": Key(float, 25.0, "单个文件大小上限（MB）", minimum=0.001, maximum=10_000, example="25"),
        "max_pdf_pages": Key(int, 20, "PDF 页数上限", minimum=1, maximum=10_000, example="20"),
        "max_unzipped_mb": Key(float, 100.0, "解压后大小上限（MB）", minimum=0.001, maximum=100_000, example="100"),
        "max_seconds_per_file": Key(float, 60.0, "每个文件的处理时间上限（秒）", minimum=1, maximum=3600, example="60"),
        "stable_seconds": Key(float, 2.0, "ruqi watch：文件多久不变才处理（秒）", minimum=0, maximum=3600, example="2"),
    }, "收件箱文件的资源上限"),
    "texts": Table({
        k: Key(list, (), f"{f.title}上另加的文字", check=_text_lines(k), example='["值班电话：0352-1234567"]')
        for k, f in FORMS.items()
    }, "文书上另加的文字"),
    "mail": Table(MAIL_KEYS, "邮箱（[[mail]]，每个邮箱一段）", repeated=True),
    # Only when present: without [register] the workspace counts its own visits (engine.register).
    "register": Table(REGISTER_KEYS, "全省（市）共享入企检查台账", optional=True),
}

_KIND_ZH = {list: "用方括号括起的一组文字，如 [\"值班电话：0352-1234567\"]",
            str: "文字（用英文双引号括起来）", int: "整数（阿拉伯数字，不加引号）",
            float: "数字（阿拉伯数字，不加引号、不带单位）", bool: "true 或 false"}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _header(path: str) -> str:
    base, _, n = path.rpartition(".")
    if n.isdigit() and base in SCHEMA and SCHEMA[base].repeated:
        return f"第{n}个 [[{base}]]"
    return f"[{path}]" if path else CONFIG_NAME


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"\"{value}\""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{…}"
    return str(value)


def _hide_password(shown: str) -> str:
    """A password typed into a url (user:password@, ?password=) is not printed back on the screen."""
    shown = re.sub(r"(://[^:@/\s\"]+:)[^@/\s\"]*@", r"\1……@", shown)
    return re.sub(r"(?i)([?&]password=)[^&\s\"]*", r"\1……", shown)


def _where(path: str, name: str = "") -> str:
    return f"{CONFIG_NAME}{' ' + _header(path) if path else ''}{' ' + name if name else ''}"


def check_config(data: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[Finding]]:
    """Validate a parsed ``ruqi.toml`` against SCHEMA.

    Returns the values of every table (defaults filled in; ``"contacts.省"`` for named
    sub-tables) and one finding per problem: unknown tables and keys, wrong types, values out
    of range, required keys missing."""
    values: dict[str, dict[str, Any]] = {}
    found: list[Finding] = []
    _check_table("", data, values, found)
    for path, table in SCHEMA.items():
        if table.names is None and not table.repeated and not table.optional and path not in values:
            values[path] = _check_values(path, table.keys, {}, found)
    return values, found


def _check_table(path: str, data: dict[str, Any], values: dict[str, dict[str, Any]], found: list[Finding]) -> None:
    table = SCHEMA[path]
    own: dict[str, Any] = {}
    for name, value in data.items():
        sub = _join(path, name)
        if table.names is not None:
            _check_member(path, table, name, value, values, found)
        elif sub in SCHEMA and SCHEMA[sub].repeated:
            _check_array(sub, value, values, found)
        elif sub in SCHEMA:
            if isinstance(value, dict):
                _check_table(sub, value, values, found)
            else:
                found.append(error(ConfigCode.NOT_A_TABLE, f"{name} 应是一个表（单独一行写 [{sub}]，下面逐行写配置项），"
                                                           f"现在写成了 {name} = {_shown(value)}。", _where(path, name)))
        elif name in table.keys:
            own[name] = value
        else:
            found.append(_unknown(path, name, table, value))
    if table.names is None:
        values[path] = _check_values(path, table.keys, own, found)


def _check_member(path: str, table: Table, name: str, value: Any, values: dict[str, dict[str, Any]],
                  found: list[Finding]) -> None:
    allowed = list(table.names() if table.names else ())
    sub = _join(path, name)
    if name not in allowed:
        near = difflib.get_close_matches(name, allowed, n=1)
        found.append(error(ConfigCode.UNKNOWN_TABLE,
                           f"[{path}] 下没有“{name}”这一项{f'（是否想写“{near[0]}”？）' if near else ''}。"
                           f"可用：{'、'.join(allowed)}。", _where(sub)))
    elif not isinstance(value, dict):
        found.append(error(ConfigCode.NOT_A_TABLE, f"[{path}] 的“{name}”应是一个表（单独一行写 [{path}.\"{name}\"]）。",
                           _where(sub)))
    else:
        own = {}
        for k, v in value.items():
            if k in table.keys:
                own[k] = v
            else:
                found.append(_unknown(sub, k, table, v))
        values[sub] = _check_values(sub, table.keys, own, found)


def _check_array(path: str, value: Any, values: dict[str, dict[str, Any]], found: list[Finding]) -> None:
    table = SCHEMA[path]
    tables = value if isinstance(value, list) else [value]
    for i, t in enumerate(tables, start=1):
        where = f"{path}.{i}"
        if not isinstance(t, dict):
            found.append(error(ConfigCode.NOT_A_TABLE, f"{path} 应写成一段或几段 [[{path}]]（单独一行写 [[{path}]]，下面逐行写配置项）。",
                               _where(where)))
            continue
        own = {}
        for k, v in t.items():
            if k in table.keys:
                own[k] = v
            else:
                found.append(_unknown(where, k, table, v))
        values[where] = _check_values(where, table.keys, own, found)


def _unknown(path: str, name: str, table: Table, value: Any) -> Finding:
    subs = [p.rsplit(".", 1)[-1] for p in SCHEMA if p and p.rpartition(".")[0] == path]
    allowed = [*table.keys, *subs]
    near = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    hint = f"（是否想写 {near[0]}？）" if near else ""
    what = "表" if isinstance(value, dict) else "配置项"
    listing = f"{_header(path)} 中可用的有：{'、'.join(allowed)}。" if allowed else ""
    return error(ConfigCode.UNKNOWN_KEY if path else ConfigCode.UNKNOWN_TABLE,
                 f"{_header(path)} 中没有名为 {name} 的{what}{hint}。{listing}写错的配置项不会被忽略，请改正或删除这一行。",
                 _where(path, name))


def _check_values(path: str, keys: dict[str, Key], given: dict[str, Any], found: list[Finding]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key in keys.items():
        if name not in given or (key.required and given[name] == ""):
            if key.required:
                found.append(error(ConfigCode.MISSING, f"{_header(path)} 缺少必填项 {name}（{key.zh}），"
                                                       f"例如 {name} = {key.example}。", _where(path, name)))
            out[name] = key.default
            continue
        value, problem = _check_value(key, given[name])
        if problem:
            shown = '"……"' if name == "password" else _hide_password(_shown(given[name]))
            found.append(error(ConfigCode.BAD_TYPE if problem[0] == "type" else ConfigCode.BAD_VALUE,
                               f"{_header(path)} {name} = {shown}（{key.zh}）：{problem[1]}"
                               f"{f'例如 {name} = {key.example}。' if key.example else ''}", _where(path, name)))
            value = key.default
        out[name] = value
    return out


def _check_value(key: Key, value: Any) -> tuple[Any, tuple[str, str] | None]:
    """(the value converted to the key's type, None) or (None, (kind of problem, what is allowed))."""
    if key.kind is str and isinstance(value, int) and not isinstance(value, bool) and key.pattern:
        value = str(value)  # division_code = 140200 without quotes means the same
    ok = {str: lambda v: isinstance(v, str), bool: lambda v: isinstance(v, bool), list: lambda v: isinstance(v, list),
          int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, int | float) and not isinstance(v, bool)}[key.kind]
    if key.kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not ok(value):
        return None, ("type", f"应为{_KIND_ZH[key.kind]}。")
    if key.kind is float:
        value = float(value)
    if key.choices and value not in key.choices:
        return None, ("value", f"只能是 {'、'.join(key.choices)} 之一。")
    if key.pattern and not re.fullmatch(key.pattern, value):
        return None, ("value", f"应为{key.pattern_zh}。")
    if key.minimum is not None and value < key.minimum or key.maximum is not None and value > key.maximum:
        return None, ("value", f"应在 {key.minimum:g} 到 {key.maximum:g} 之间。")
    if key.check is not None:
        value, problem = key.check(value)
        if problem:
            return None, ("value", problem)
    return value, None


# ---- the values ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Contacts:
    """One level's 执法监督机构 and 机关纪委 contact details, as printed in the card's 备注."""

    supervision_email: str = ""
    supervision_phone: str = ""
    discipline_email: str = ""
    discipline_phone: str = ""


@dataclass(slots=True)
class Limits:
    """Resource limits for files read from the inbox (see README, 'Limits')."""

    max_file_mb: float = 25.0
    max_pdf_pages: int = 20
    max_unzipped_mb: float = 100.0
    max_seconds_per_file: float = 60.0
    stable_seconds: float = 2.0  # `ruqi watch`: a file must stay unchanged this long


@dataclass(frozen=True, slots=True)
class RegisterLink:
    """``[register]``: where the shared register is and how this bureau proves who it is."""

    url: str  # postgresql://role@host:port/db, never with a password
    password_file: str = ""  # relative to the workspace, owner-only; "": RUQI_REGISTER_PASSWORD
    connect_timeout: int = 5


@dataclass(slots=True)
class Config:
    name: str  # 大同市应急管理局
    level: str  # 省 / 市 / 县
    division_code: str  # 140200
    fonds_code: str = "J001"  # 全宗号
    org_code: str = "AQJ"  # 机构(问题)代码
    report_phone: str = ""  # 举报电话 on the 公示
    report_email: str = ""
    contacts: dict[str, Contacts] = field(default_factory=dict)  # keys 省 / 市 / 县, and county names
    database_url: str = ""  # empty: SQLite in archive/
    retention: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RETENTION))
    limits: Limits = field(default_factory=Limits)
    late_days: int = 3
    texts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # form key -> the clerk's extra lines
    mail: list[dict[str, Any]] = field(default_factory=list)  # the [[mail]] tables, checked (engine.mail.config)
    register: RegisterLink | None = None  # [register]: the shared register; None: this workspace's own

    def contacts_for(self, county: str) -> Contacts:
        """The 县-level contacts printed on a card for an enterprise in ``county``: that county's own
        table where ruqi.toml has one (an empty key there falls back to [contacts."县"])."""
        base = self.contacts.get("县") or Contacts()
        own = self.contacts.get(county) if county not in LEVELS else None
        if own is None:
            return base
        return Contacts(**{k: getattr(own, k) or getattr(base, k) for k in Contacts.__slots__})

    @property
    def short_name(self) -> str:
        """``大同市应急管理局`` → ``大同市``."""
        return self.name.removesuffix("应急管理局")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        """The config of a parsed ``ruqi.toml``; RuqiError carrying every problem when it is not valid."""
        v, found = check_config(d)
        if found:
            raise RuqiError(*found)
        return cls.from_values(v)

    @classmethod
    def from_values(cls, v: dict[str, dict[str, Any]]) -> Config:
        b = v["bureau"]
        return cls(
            name=b["name"], level=b["level"], division_code=b["division_code"], fonds_code=b["fonds_code"],
            org_code=b["org_code"], report_phone=b["report_phone"], report_email=b["report_email"],
            contacts={name: Contacts(**v.get(f"contacts.{name}", {})) for name in _contact_names()
                      if name in LEVELS or f"contacts.{name}" in v},
            database_url=v["archive"]["database_url"],
            retention=DEFAULT_RETENTION | v["archive.retention"],
            limits=Limits(**v["limits"]),
            late_days=v["inbox"]["late_days"],
            texts={k: tuple(lines) for k, lines in v["texts"].items() if lines},
            mail=[v[f"mail.{i}"] for i in range(1, len(v) + 1) if f"mail.{i}" in v],
            register=RegisterLink(v["register"]["url"], v["register"]["password_file"],
                                  v["register"]["connect_timeout"]) if "register" in v else None,
        )


SCHEMA_CARRIERS: dict[str, type] = {"contacts": Contacts, "limits": Limits}  # tables held in one dataclass


# ---- the signing key -------------------------------------------------------------------------------


def key_problem(root: Path) -> Finding | None:
    """None when ``ruqi.key`` is there and sound; else what is wrong and how to restore it."""
    p = root / KEY_NAME
    try:
        size = p.stat().st_size if p.is_file() else -1
    except OSError:
        size = -1
    if size == KEY_BYTES:
        return None
    backup = root / KEY_BACKUP_NAME
    has_backup = backup.is_file() and backup.stat().st_size == KEY_BYTES
    what = (f"找不到二维码签名密钥 {KEY_NAME}" if size < 0 else
            f"二维码签名密钥 {KEY_NAME} 已损坏（应为 {KEY_BYTES} 字节，现为 {size} 字节）")
    restore = (f"请恢复密钥：ruqi init 建立工作目录时在同一目录留有备份 {KEY_BACKUP_NAME}，把它复制一份并命名为 {KEY_NAME}"
               f"（命令：cp {KEY_BACKUP_NAME} {KEY_NAME}），或从您自己的备份恢复。" if has_backup else
               f"请从备份恢复 {KEY_NAME}（工作目录的备份、U 盘或另一台电脑上的副本）。"
               f"确实没有任何备份时，可运行 ruqi init <工作目录> --new-key 生成新密钥：此后，之前发出的反馈卡交回时二维码将无法核验，"
               f"需人工核对。")
    return error(ConfigCode.KEY_MISSING if size < 0 else ConfigCode.KEY_DAMAGED,
                 f"{what}。没有原来的密钥，已发出的反馈卡二维码都无法核验（真卡会被误判为可疑），所以程序不会自动新建密钥，"
                 f"也不会运行。{restore}", str(p))


def _write_private(p: Path, data: bytes) -> None:
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, p)


def _ensure_key_backup(root: Path) -> None:
    backup = root / KEY_BACKUP_NAME
    if backup.exists():
        return
    # A read-only workspace still works; the backup is made on the next writable run.
    with contextlib.suppress(OSError):
        _write_private(backup, (root / KEY_NAME).read_bytes())


@dataclass(slots=True)
class Workspace:
    root: Path
    config: Config

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def rejected(self) -> Path:
        return self.inbox / "rejected"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def database_url(self) -> str:
        return self.config.database_url or f"sqlite:///{self.archive / 'ruqi.sqlite'}"

    @property
    def key(self) -> bytes:
        """HMAC key for QR signatures.  Never recreated here: a new key would make every card
        already sent out unverifiable (see ``key_problem``)."""
        problem = key_problem(self.root)
        if problem is not None:
            raise RuqiError(problem)
        return (self.root / KEY_NAME).read_bytes()

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        """Open a workspace; RuqiError with one finding per problem (folder, ruqi.toml, key)."""
        root = Path(root).expanduser().resolve()
        config = _read_config(root)
        found = [f for f in (key_problem(root),) if f is not None]
        if found:
            raise RuqiError(*found)
        _ensure_key_backup(root)
        ws = cls(root, config)
        for d in (ws.inbox, ws.rejected, ws.outbox, ws.archive):
            try:
                d.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise RuqiError(error(ConfigCode.NOT_WRITABLE, f"无法建立文件夹“{d}”：{os_reason(e)}。", str(d))) from e
        return ws


@dataclass(frozen=True, slots=True)
class Secret:
    """A password read from a workspace file: ``value``, or ``problem`` (Chinese) when it cannot be used."""

    value: str | None
    problem: str = ""
    too_open: bool = False  # the file is readable by others: refused


def read_secret_file(root: Path, name: str) -> Secret:
    """A password kept in a workspace file (``password_file`` of [[mail]] and [register]).  The
    file must be inside the workspace and readable by its owner only (chmod 600)."""
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        return Secret(None, f"password_file 应是工作目录中的文件名（如 \"register.pass\"），现为“{name}”。")
    path = root / rel
    try:
        st = path.stat()
    except FileNotFoundError:
        return Secret(None, f"找不到密码文件 {path}。")
    except OSError as e:
        return Secret(None, f"无法读取密码文件 {path}：{os_reason(e)}。")
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Secret(None, f"密码文件 {path} 其他用户也能读取（权限 {stat.filemode(st.st_mode)}）。"
                            f"请运行 chmod 600 {path} 后重试。", too_open=True)
    try:
        return Secret(path.read_text(encoding="utf-8").strip("\r\n"))
    except OSError as e:
        return Secret(None, f"无法读取密码文件 {path}：{os_reason(e)}。")
    except UnicodeDecodeError:
        return Secret(None, f"无法读取密码文件 {path}：不是 UTF-8 文本。")


def folder_problem(folder: Path) -> str | None:
    """Why nothing can be written into ``folder`` (read-only file system, no permission, disk
    full), said for a clerk; None when it looks writable."""
    try:
        st = os.statvfs(folder)
    except OSError as e:
        return os_reason(e)
    if st.f_flag & os.ST_RDONLY:
        return os_reason(OSError(errno.EROFS, "read-only"))
    if not os.access(folder, os.W_OK):
        return os_reason(OSError(errno.EACCES, "permission denied"))
    if st.f_bavail == 0:
        return os_reason(OSError(errno.ENOSPC, "no space"))
    return None


def _read_config(root: Path) -> Config:
    cfg = root / CONFIG_NAME
    if not cfg.is_file():
        why = "找不到这个文件夹" if not root.exists() else "不是文件夹" if not root.is_dir() else f"里面没有 {CONFIG_NAME}"
        raise RuqiError(error(ConfigCode.NOT_A_WORKSPACE,
                              f"“{root}”不是工作目录（{why}）。请检查 --workspace 后的路径是否写错，或先 cd 进入工作目录；"
                              f"新建工作目录请运行 ruqi init <目录>。", str(root)))
    try:
        raw = cfg.read_bytes()
    except OSError as e:
        raise RuqiError(error(ConfigCode.UNREADABLE, f"无法读取 {cfg}：{os_reason(e)}。", str(cfg))) from e
    try:
        text = raw.decode("utf-8-sig")  # Notepad's "UTF-8" adds a BOM
    except UnicodeDecodeError as e:
        raise RuqiError(error(ConfigCode.ENCODING,
                              f"{CONFIG_NAME} 不是 UTF-8 编码（可能被记事本等另存为了 ANSI/GBK）。请用记事本打开，"
                              f"“另存为”时编码选 UTF-8 后保存。", str(cfg))) from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RuqiError(_syntax_finding(e, text, cfg)) from e
    return Config.from_dict(data)


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def _syntax_finding(e: tomllib.TOMLDecodeError, text: str, cfg: Path) -> Finding:
    m = _TOML_POS.search(str(e))
    where = ""
    if m:
        n = int(m.group(1))
        lines = text.splitlines()
        line = lines[n - 1].strip() if 0 < n <= len(lines) else ""
        where = f"第{n}行（{line}）" if line else f"第{n}行"
    return error(ConfigCode.SYNTAX,
                 f"{CONFIG_NAME} 格式错误，无法读取。常见原因：文字没有用英文双引号括起来、引号不成对、"
                 f"用了中文引号“”或全角＝、同一项写了两次、表名中的中文没有加英文双引号（应写 [contacts.\"省\"]）。（原始提示：{e}）", f"{cfg} {where}".strip())


CONFIG_TEMPLATE = """\
# ruqi 工作目录配置。修改后无需重启，下一条命令即生效。
[bureau]
name = "{name}"            # 本局全称，印在通知书、公示上
level = "{level}"                    # 省 / 市 / 县
division_code = "{division_code}"         # 行政区划代码，用于检查编号
fonds_code = "J001"             # 全宗号（档号第一段）
org_code = "AQJ"                # 机构（问题）代码（档号第四段）
report_phone = "{report_phone}"   # 公示上的举报电话
report_email = "{report_email}"

# 反馈卡“备注”中印出的三级执法监督机构和机关纪委邮箱、电话
[contacts."省"]
supervision_email = "zfjd@yjt.shanxi.gov.cn"
supervision_phone = "0351-4000001"
discipline_email = "jw@yjt.shanxi.gov.cn"
discipline_phone = "0351-4000002"

[contacts."市"]
supervision_email = "zfjd@{slug}.gov.cn"
supervision_phone = "{area}-5000001"
discipline_email = "jw@{slug}.gov.cn"
discipline_phone = "{area}-5000002"

[contacts."县"]
supervision_email = "zfjd-xian@{slug}.gov.cn"
supervision_phone = "{area}-6000001"
discipline_email = "jw-xian@{slug}.gov.cn"
discipline_phone = "{area}-6000002"

# 市局检查多个县区的企业时：按县区各写一节，反馈卡印出企业所在县区的邮箱、电话（没写的项沿用上面 [contacts."县"]）。
# 去掉下面几行开头的 # 并改成实际的邮箱、电话：
# [contacts."平城区"]
# supervision_email = "zfjd@pingcheng.gov.cn"
# supervision_phone = "{area}-6100001"
# discipline_email = "jw@pingcheng.gov.cn"
# discipline_phone = "{area}-6100002"

# 文书上另加的文字（如值班电话），Word 版和 PDF 版都会印出；每项一行，不需要时保持 []。
# card：印在反馈卡“备注”之后（最多 2 行）；notice：通知书正文之后；notice_board：公示“四、举报方式”之后。
[texts]
card = []
notice = []
notice_board = []

[archive]
database_url = ""               # 空：使用 archive/ruqi.sqlite；也可填 postgresql+psycopg://…

[archive.retention]             # 保管期限：Y 永久、D30、D10
notice = "D30"
notice_board = "D30"
card_generated = "D30"
card_returned = "D30"
stats_table = "D10"
stats_report = "D30"
review_export = "D30"

[inbox]
late_days = 3                   # 检查结束后几日内应交回反馈卡

[limits]                        # 收件箱文件的资源上限
max_file_mb = 25
max_pdf_pages = 20
max_unzipped_mb = 100
max_seconds_per_file = 60
stable_seconds = 2

# 全省（市）共享入企检查台账：省厅或市局建立后才需要，不填则只用本局台账。台账管理员运行 ruqi register add-bureau 后，
# 把它打印的几行加在本文件末尾；密码放在工作目录的 register.pass（chmod 600），不要写在这里。详见 README“共享台账”。
# [register]
# url = "postgresql://ruqi_register_140213@10.14.2.5:5432/ruqi_register"
# password_file = "register.pass"

# 本局邮箱（ruqi mail fetch 从这里收取反馈卡和统计表）。每个邮箱一段 [[mail]]，去掉行首的 # 后填写。
# 密码不要写在这里：存入工作目录中的一个文件（chmod 600），用 password_file 指定。详见 README“通过邮件收取”。
# [[mail]]
# host = "imap.exmail.qq.com"
# security = "tls"
# user = "zfjd@example.gov.cn"
# password_file = "zfjd.secret"
# processed_folder = "ruqi/已收"
# receipts = false
"""

_AREA = {"140200": ("0352", "dtyjj"), "140500": ("0356", "jcyjj"), "141000": ("0357", "lfyjj"), "141100": ("0358", "llyjj")}


def init(
    root: str | Path,
    name: str = "大同市应急管理局",
    level: str = "市",
    division_code: str = "140200",
    report_phone: str = "",
    report_email: str = "",
    *,
    new_key: bool = False,
) -> Workspace:
    """Create a workspace (idempotent: an existing ruqi.toml and key are kept as they are).

    The signing key is created (with a backup copy ``ruqi.key.bak``) only in a workspace that
    has issued nothing yet, or with ``new_key`` when neither the key nor its backup survives."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / CONFIG_NAME
    if not cfg.exists():
        area, slug = _AREA.get(division_code[:4] + "00", ("0351", "yjj"))
        cfg.write_text(
            CONFIG_TEMPLATE.format(
                name=_toml_text(name),
                level=_toml_text(level),
                division_code=_toml_text(division_code),
                report_phone=_toml_text(report_phone or f"{area}-12350"),
                report_email=_toml_text(report_email or f"jubao@{slug}.gov.cn"),
                area=area,
                slug=slug,
            ),
            encoding="utf-8",
        )
    if key_problem(root) is not None and (new_key or not _has_issued(root)) and not _backup_usable(root):
        _write_private(root / KEY_NAME, secrets.token_bytes(KEY_BYTES))
        _write_private(root / KEY_BACKUP_NAME, (root / KEY_NAME).read_bytes())
    return Workspace.open(root)


def _toml_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _backup_usable(root: Path) -> bool:
    b = root / KEY_BACKUP_NAME
    return b.is_file() and b.stat().st_size == KEY_BYTES


def _has_issued(root: Path) -> bool:
    """Whether anything signed with the key may be out there: the archive holds anything."""
    archive = root / "archive"
    return archive.is_dir() and any(archive.iterdir())
