"""`ruqi`: a thin command-line layer over the library API.

Each command group lives in its own module with a ``register(app)`` function; this file
only assembles them.  Commands print Chinese for the clerk; ``--json`` prints data for programs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import typer
import typer.core
import typer.main
from typer import _click as click
from typer.core import TyperGroup

from .. import __version__
from . import values, zh
from .common import run_app

zh.install()  # typer's own words (Usage, Options, usage errors) in Chinese, for every command
values.install()  # text, numbers and paths converted without loading pydantic (start-up time)

# Every top-level command: the module that registers it, and its help.  A command imports only its
# own module (and what that needs): `ruqi status` does not load the renderers, the inbox readers or
# the mail client; `ruqi --help` lists the commands from here and imports none of them.  The help is
# given to the command here, once (``load_commands``): the modules register their commands without
# it.  tests/test_startup.py checks this table against what the modules register.
@dataclass(frozen=True, slots=True)
class Entry:
    module: str
    help: str


COMMANDS: dict[str, Entry] = {
    "init": Entry("workspace_cmd", "新建工作目录（inbox/ outbox/ archive/ ruqi.toml）。已存在的配置不会被覆盖。"),
    "demo": Entry("workspace_cmd", "演示：用 samples/ 中的示例计划生成文书、处理交回的反馈卡、归档并出审查清单。"),
    "plan-template": Entry("generate_cmd", "生成空白的入企检查计划表（Excel），供填写后用 ruqi generate 批量生成文书。"),
    "generate": Entry("generate_cmd", "按检查计划批量生成通知书、公示、反馈卡（docx 和 PDF）。"),
    "register": Entry("register_cmd", "入企检查台账：本年度各企业的检查次数、上限和剩余次数；全省（市）共享台账的建立、加入、查询、导入和补报。"),
    "void": Entry("generate_cmd", "作废误登记的检查：保留记录和已归档文书，不再计入次数和上限，列入纪委审查清单。"),
    "templates": Entry("templates_cmd", "文书模板：检查模板（占位符是否被 Word 拆开、变量名是否正确）"),
    "ingest": Entry("inbox_cmd", "处理收件箱 inbox/ 中的全部文件：读取反馈卡和统计表，校验、归档或退回并说明原因。"),
    "watch": Entry("inbox_cmd", "持续监视收件箱，文件稳定（复制完成）后自动处理；适用于网络共享目录。Ctrl+C 停止。"),
    "status": Entry("status_cmd", "列出尚未交回反馈卡的检查（--overdue 只列逾期的）。"),
    "confirm": Entry("confirm_cmd", "核对扫描件、照片等机器未能识读的反馈卡：不带参数列出待核对的卡；"
                                    "ruqi confirm 检查编号 --answers 否否是否否否否否否否 --by 姓名 录入十题答案（或 --q 3=是 录入一题）；"
                                    "已识读的答案只能用 --correct --reason “理由”更正（列入纪委审查清单）；读不出编号的卡、编号由文字识别待核对的卡用 档号 --serial 检查编号 对应或确认。"),
    "mail": Entry("mail_cmd", "从本局邮箱收取企业交回的反馈卡和县区统计表（IMAP），并可给发件人回执。"),
    "archive": Entry("archive_cmd", "档案库：四性检测、检索、审计日志。"),
    "stats": Entry("stats_cmd", "统计表（附件1–4）：下发空白表、检查报送的表、汇总并生成报告。"),
    "review": Entry("review_cmd", "纪委审查清单：反馈“是”、反馈卡未交回、逾期或提前交回、超次数检查、可疑反馈卡、次数不符、已作废的检查，"
                                  "按县区和检查人员统计。"),
    "serve": Entry("web_cmd", "启动网页（默认只允许本机访问：http://127.0.0.1:8000）。"),
    "user": Entry("web_cmd", "网页账号：新建、重设密码、列出、停用。"),
}
COMMAND_MODULES = tuple(dict.fromkeys(e.module for e in COMMANDS.values()))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ruqi {__version__}")
        raise typer.Exit()


def load_commands(module: str) -> dict[str, click.Command]:
    """The click commands one command module registers (on a Typer of its own, as the root would),
    each with its help from ``COMMANDS``."""
    sub = typer.Typer(rich_markup_mode=None)
    importlib.import_module(f"{__name__}.{module}").register(sub)
    commands = dict(typer.main.get_group(sub).commands)
    for name, cmd in commands.items():
        if name in COMMANDS:
            cmd.help = COMMANDS[name].help
    return commands


class LazyCommands(dict[str, click.Command]):
    """The root group's commands, named by ``COMMANDS``: their names (iterating, ``keys``, ``len``)
    come from the table; a command itself (``get``, ``[]``, ``values``, ``items``) imports the
    module that registers it, and that module only."""

    def __init__(self, commands: dict[str, click.Command]):
        super().__init__(commands)
        self.loaded: set[str] = set()

    def _want(self, name: object) -> None:
        entry = COMMANDS.get(name) if isinstance(name, str) else None
        if entry is not None and entry.module not in self.loaded:  # a name not in the table is no command
            self.loaded.add(entry.module)
            for loaded, cmd in load_commands(entry.module).items():
                super().setdefault(loaded, cmd)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS

    def __getitem__(self, name: str) -> click.Command:
        self._want(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self._want(name)
        return super().get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(COMMANDS)

    def values(self) -> list[click.Command]:  # type: ignore[override]
        return [self[k] for k in COMMANDS]

    def items(self) -> list[tuple[str, click.Command]]:  # type: ignore[override]
        return [(k, self[k]) for k in COMMANDS]


class LazyGroup(TyperGroup):
    """The root command group: a command's module is imported when that command is asked for (a
    run, its --help); ``ruqi --help`` and a mistyped command's suggestions need only the table."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(dict(self.commands))

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """typer's list of commands (the same layout), each line from the table."""
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        with formatter.section(typer.core._("Commands")):
            formatter.write_dl([(name, short_help(e.help, limit)) for name, e in COMMANDS.items()])


SENTENCE_BREAKS = "。；，"


def short_help(text: str, limit: int) -> str:
    """``text`` if it has at most ``limit`` characters, else its longest start that ends at a Chinese
    sentence or clause break, and "……".  (click cuts at a space, and a Chinese line has none: it
    printed "..." alone.)"""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(mark, 0, limit - 1) for mark in SENTENCE_BREAKS)
    return (text[:cut] if cut > 0 else text[:limit - 2]) + "……"


app = typer.Typer(
    name="ruqi",
    help="入企检查文书引擎：生成通知书、公示、反馈卡，收取反馈卡和统计表，归档并供纪委审查。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    cls=LazyGroup,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="显示版本"),
) -> None:
    pass


def main() -> None:
    run_app(app)
