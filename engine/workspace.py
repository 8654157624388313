"""A workspace: one bureau's folder with ``inbox/``, ``outbox/``, ``archive/`` and ``ruqi.toml``.

``ruqi.toml`` holds the bureau's own data (name, level, division code, 全宗号, the
mailboxes and phones printed on the feedback card).  Everything the engine writes lives
under the workspace, so two bureaus never share state.
"""

from __future__ import annotations

import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .findings import RuqiError, error
from .forms.definitions import FORMS

CONFIG_NAME = "ruqi.toml"
KEY_NAME = "ruqi.key"
LEVELS = ("省", "市", "县")

# 保管期限 per form type (DA/T 22: Y 永久, D30, D10); overridable in [archive.retention].
DEFAULT_RETENTION = {
    "notice": "D30",
    "notice_board": "D30",
    "card_generated": "D30",
    "card_returned": "D30",
    "stats_table": "D10",
    "stats_report": "D30",
    "review_export": "D30",
}


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


@dataclass(slots=True)
class Config:
    name: str  # 大同市应急管理局
    level: str  # 省 / 市 / 县
    division_code: str  # 140200
    fonds_code: str = "J001"  # 全宗号
    org_code: str = "AQJ"  # 机构(问题)代码
    report_phone: str = ""  # 举报电话 on the 公示
    report_email: str = ""
    contacts: dict[str, Contacts] = field(default_factory=dict)  # keys 省 / 市 / 县
    database_url: str = ""  # empty: SQLite in archive/
    retention: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RETENTION))
    limits: Limits = field(default_factory=Limits)
    late_days: int = 3
    texts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # form key -> the clerk's extra lines

    @property
    def short_name(self) -> str:
        """``大同市应急管理局`` → ``大同市``."""
        return self.name.removesuffix("应急管理局")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Config:
        b = d.get("bureau", {})
        missing = [k for k in ("name", "level", "division_code") if not b.get(k)]
        if missing:
            raise RuqiError(error("CONFIG_MISSING", f"ruqi.toml 的 [bureau] 缺少：{'、'.join(missing)}", CONFIG_NAME))
        if b["level"] not in LEVELS:
            raise RuqiError(error("CONFIG_BAD_LEVEL", f"[bureau] level 只能是 省、市 或 县，现为“{b['level']}”", CONFIG_NAME))
        contacts = {lvl: Contacts(**d.get("contacts", {}).get(lvl, {})) for lvl in LEVELS}
        arch = d.get("archive", {})
        return cls(
            name=b["name"],
            level=b["level"],
            division_code=str(b["division_code"]),
            fonds_code=b.get("fonds_code", "J001"),
            org_code=b.get("org_code", "AQJ"),
            report_phone=b.get("report_phone", ""),
            report_email=b.get("report_email", ""),
            contacts=contacts,
            database_url=arch.get("database_url", ""),
            retention=DEFAULT_RETENTION | arch.get("retention", {}),
            limits=Limits(**d.get("limits", {})),
            late_days=int(d.get("inbox", {}).get("late_days", 3)),
            texts=clerk_texts(d.get("texts", {})),
        )


MAX_TEXT_CHARS = 120
MAX_CARD_LINES = 2  # the card must stay one page


def clerk_texts(raw: Any) -> dict[str, tuple[str, ...]]:
    """``[texts]``: per form, the clerk's own lines that both the Word and the PDF version print."""
    forms = "、".join(FORMS)
    if not isinstance(raw, dict):
        raise _texts_error(f"[texts] 应是一个表，写法如 card = [\"值班电话：0352-1234567\"]（可用的文书：{forms}）。")
    out: dict[str, tuple[str, ...]] = {}
    for key, lines in raw.items():
        if key not in FORMS:
            raise _texts_error(f"[texts] 中的“{key}”不是文书名称，可用的只有：{forms}。")
        if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
            raise _texts_error(f"[texts] {key} 应写成用方括号括起的一组文字，如 {key} = [\"值班电话：0352-1234567\"]。")
        bad = [x for x in lines if "\n" in x or len(x) > MAX_TEXT_CHARS]
        if bad:
            raise _texts_error(f"[texts] {key} 中的“{bad[0][:20]}…”太长或含换行：每项一行，不超过 {MAX_TEXT_CHARS} 字。")
        if key == "card" and len(lines) > MAX_CARD_LINES:
            raise _texts_error(f"[texts] card 最多 {MAX_CARD_LINES} 行（反馈卡须保持一页）。")
        out[key] = tuple(x.strip() for x in lines if x.strip())
    return out


def _texts_error(message: str) -> RuqiError:
    return RuqiError(error("CONFIG_TEXTS", message, f"{CONFIG_NAME} [texts]"))


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
        """HMAC key for QR signatures, created on first use and kept in the workspace."""
        p = self.root / KEY_NAME
        if not p.exists():
            p.write_bytes(secrets.token_bytes(32))
            p.chmod(0o600)
        return p.read_bytes()

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        root = Path(root).resolve()
        cfg = root / CONFIG_NAME
        if not cfg.is_file():
            raise RuqiError(
                error("NOT_A_WORKSPACE", f"“{root}”不是工作目录（找不到 {CONFIG_NAME}）。请先运行 ruqi init。", str(root))
            )
        try:
            data = tomllib.loads(cfg.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as e:
            raise RuqiError(error("CONFIG_SYNTAX", f"{CONFIG_NAME} 格式错误：{e}", str(cfg))) from e
        ws = cls(root, Config.from_dict(data))
        for d in (ws.inbox, ws.rejected, ws.outbox, ws.archive):
            d.mkdir(parents=True, exist_ok=True)
        return ws


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
"""

_AREA = {"140200": ("0352", "dtyjj"), "140500": ("0356", "jcyjj"), "141000": ("0357", "lfyjj"), "141100": ("0358", "llyjj")}


def init(
    root: str | Path,
    name: str = "大同市应急管理局",
    level: str = "市",
    division_code: str = "140200",
    report_phone: str = "",
    report_email: str = "",
) -> Workspace:
    """Create a workspace (idempotent: an existing ruqi.toml is kept as it is)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cfg = root / CONFIG_NAME
    if not cfg.exists():
        area, slug = _AREA.get(division_code[:4] + "00", ("0351", "yjj"))
        cfg.write_text(
            CONFIG_TEMPLATE.format(
                name=name,
                level=level,
                division_code=division_code,
                report_phone=report_phone or f"{area}-12350",
                report_email=report_email or f"jubao@{slug}.gov.cn",
                area=area,
                slug=slug,
            ),
            encoding="utf-8",
        )
    ws = Workspace.open(root)
    _ = ws.key
    return ws
