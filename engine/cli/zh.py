"""typer's own words (help headings, usage errors) in Chinese, set once for the whole app.

typer ≥ 0.29 ships its own copy of click with the English words written into the code (no gettext
catalogue to install), so there is no supported switch.  ``install()`` changes the three places every
one of those words passes through, for every command at once:

- ``typer.core._``: the module's gettext function ("Options", "Commands", "[default: …]", "No such
  command" …) becomes a lookup in ``WORDS``;
- ``Context.formatter_class``: the help formatter writes "用法：", Chinese headings and metavars, and
  the help option's "Show this message and exit.";
- ``ClickException.show`` / ``UsageError.show``: a usage error (mistyped option, missing argument, bad
  value) is told in Chinese from the exception's fields, not its English message.

The app keeps ``rich_markup_mode=None`` (inherited by every group), so help is always this plain
formatter, whatever the terminal (NO_COLOR, narrow ``COLUMNS``); tests check both.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import IO, Any

import typer.core
from typer import _click
from typer._click import exceptions as click_errors

# typer's gettext messages (the msgid is the English text) → the clerk's words.
WORDS: dict[str, str] = {
    "Options": "选项",
    "Commands": "命令",
    "Arguments": "参数",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "Aborted!": "已中止。",
    "Missing command.": "缺少子命令。",
    "No such command {name!r}.": "没有“{name}”这个命令。",
    "Show this message and exit.": "显示本帮助并退出。",
}

# Type metavars typer derives from annotations (``<str>``) → what the clerk types there.
METAVARS: dict[str, str] = {
    "str": "文本", "path": "路径", "file": "文件", "directory": "目录", "int": "整数",
    "float": "数字", "datetime": "日期时间", "bool": "是/否", "integer": "整数",
    "int range": "整数",
}

USAGE_WORDS: dict[str, str] = {"[OPTIONS]": "[选项]", "COMMAND": "命令", "[ARGS]...": "[参数]..."}

PARAM_KINDS: dict[str, str] = {"argument": "参数", "option": "选项", "parameter": "参数"}

# click/typer messages that carry a value, in the order tried; anything else (our own Chinese
# messages from a callback) passes through unchanged.  These and the patterns below are compiled on
# first use (``re``'s cache): only a usage error or a help page needs them, not a command's run.
MESSAGES: list[tuple[str, str]] = [
    (r"(?s)^(.*?)\.? Did you mean (.+)\?$", "{0}您是不是要输入 {1}？"),
    (r"(?s)^Got unexpected extra argument(?:s|\(s\))? \((.*)\)$", "多余的参数：{0}"),
    (r"^Option '(.+)' requires an argument\.$", "选项 {0} 后面要跟一个值。"),
    (r"^Option '(.+)' requires (\d+) arguments\.$", "选项 {0} 后面要跟 {1} 个值。"),
    (r"^Option '(.+)' does not take a value\.$", "选项 {0} 后面不能跟值。"),
    (r"^Argument '(.+)' takes (\d+) values\.$", "参数 {0} 要 {1} 个值。"),
    (r"^No such option: (.+)$", "没有 {0} 这个选项。"),
    (r"(?s)^'(.*)' is not one of (.*)\.$", "“{0}”不在可选值中（可选：{1}）。"),
    (r"(?s)^Value '(.*)' is not a valid (.+)\.$", "“{0}”不是有效的{1}。"),
    (r"(?s)^'(.*)' is not a valid (.+)\.$", "“{0}”不是有效的{1}。"),
    (r"(?s)^(?:File|Directory|Path) '(.*)' does not exist\.$", "“{0}”不存在。"),
    (r"(?s)^(?:File|Directory|Path) '(.*)' is a file\.$", "“{0}”是文件，这里要一个目录。"),
    (r"(?s)^(?:File|Directory|Path) '(.*)' is a directory\.$", "“{0}”是目录，这里要一个文件。"),
    (r"(?s)^(?:File|Directory|Path) '(.*)' is not readable\.$", "“{0}”没有读取权限。"),
    (r"(?s)^(?:File|Directory|Path) '(.*)' is not writable\.$", "“{0}”没有写入权限。"),
    (r"(?s)^Choose from:\s*(.*)$", "可选：{0}"),
    (r"^Value must be an iterable\.$", "这里要一组值。"),
    # typer converts values with pydantic, whose messages name only the expected type
    (r"(?s)^Input should be a valid (\w+)\b.*$", "这里要填{0}。"),
    (r"^Input should be greater than or equal to (-?\d+)$", "这里要填不小于 {0} 的整数。"),
    (r"^Input should be less than or equal to (-?\d+)$", "这里要填不大于 {0} 的整数。"),
    (r"(?s)^Input should be .*$", "值的格式不对。"),
]

TYPE_NAMES: dict[str, str] = {"integer": "整数", "int": "整数", "float": "数字", "boolean": "是/否",
                              "bool": "是/否", "datetime": "日期时间", "date": "日期", "number": "数字",
                              "string": "文本", "path": "路径"}

_PYDANTIC_PREFIX = r"^Value error, "
_QUOTED_LIST = r"'[^']*'(?:, '[^']*')*"
_METAVAR = r"<(?:list\[)?([A-Za-z]+(?: range)?)(\])?>"
_RANGE = r"\bx(>=|<=)(-?\d+)"  # a bounded option's help note, "[x>=1]"


def word(msgid: str) -> str:
    """typer's gettext, answered from ``WORDS`` (an unknown message stays as it is)."""
    return WORDS.get(msgid, msgid)


def message(text: str) -> str:
    """A click/typer message in Chinese (the value it quotes kept as typed)."""
    text = re.sub(_PYDANTIC_PREFIX, "", text.strip())
    text = re.sub(r",\s*\n\t", "、", text)  # click's "Choose from:\n\ta,\n\tb"
    for pattern, template in MESSAGES:
        m = re.match(pattern, text)
        if m:
            parts = [TYPE_NAMES.get(p, p) for p in m.groups()]
            # a quoted list ('ingest', 'init') reads as ingest、init
            parts = ["、".join(x.strip("'") for x in p.split(", ")) if re.fullmatch(_QUOTED_LIST, p) else p for p in parts]
            return template.format(*(" ".join(p.split()) for p in parts))
    return text


def width(text: str) -> int:
    """Terminal cells: a Chinese character takes two (click counts one, which breaks the columns)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# A Chinese character with the opening bracket before it and the punctuation after it (a line never
# starts with "。"), a Latin word, or a space.
_TOKEN = r"[\[(“‘（]?[\u2e80-\uffff][。，、；：！？）”’]*|[^\s\u2e80-\uffff]+[。，、；：！？）”’]*|\s+"


def wrap(text: str, cells: int) -> list[str]:
    """Lines of at most ``cells`` terminal cells; Chinese breaks between any two characters,
    Latin words and options (``--overdue``) stay whole."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in re.findall(_TOKEN, " ".join(paragraph.split())):
            if line and width(line) + width(token) > cells:
                lines.append(line.rstrip())
                line = "" if token.isspace() else token
            else:
                line += token
        lines.append(line.rstrip())
    return lines


def short_help(help: str, max_length: int = 45) -> str:
    """A command's line in its group's list: the first sentence, cut to fit with "…" (click's
    version cuts at spaces and leaves only "..." of a Chinese sentence)."""
    text = " ".join(help.split("\n\n")[0].split())
    end = text.find("。")
    text = text[: end + 1] if end != -1 else text
    if width(text) <= max_length:
        return text
    while width(text) > max_length - 1:
        text = text[:-1]
    return text + "…"


def metavars(text: str) -> str:
    """typer's type metavars (``<str>``, ``<list[Path]>``) in Chinese; ``…`` marks several values."""
    def zh(m: re.Match[str]) -> str:
        name = METAVARS.get(m.group(1).lower(), m.group(1))
        return f"<{name}…>" if m.group(2) else f"<{name}>"
    return re.sub(_METAVAR, zh, text)


def ranges(text: str) -> str:
    """click's range note (``x>=1``) as the clerk writes it (``≥1``)."""
    return re.sub(_RANGE, lambda m: ("≥" if m.group(1) == ">=" else "≤") + m.group(2), text)


class ZhHelpFormatter(_click.HelpFormatter):
    """click's help formatter with Chinese fixed words; the layout (wrapping, columns) is click's."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        args = " ".join(USAGE_WORDS.get(a, a) for a in args.split(" "))
        super().write_usage(prog, metavars(args), "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{word(heading)}：\n")

    def write_text(self, text: str) -> None:
        indent = " " * self.current_indent
        paragraphs = [" ".join(p.split()) for p in text.split("\n\n")]
        self.write("\n\n".join("\n".join(indent + line for line in wrap(p, max(self.width - self.current_indent, 20)))
                                for p in paragraphs) + "\n")

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        """click's two-column layout, measured in terminal cells."""
        rows = [(metavars(a), ranges(word(b))) for a, b in rows]
        first_col = min(max((width(a) for a, _ in rows), default=0), col_max) + col_spacing
        pad = " " * (first_col + self.current_indent)
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + pad)
            lines = wrap(second, max(self.width - first_col - 2 - self.current_indent, 10))
            self.write(lines[0] + "\n" + "".join(f"{pad}{line}\n" for line in lines[1:]))


def _param_hint(e: click_errors.BadParameter) -> str:
    hint: Any = e.param_hint
    if hint is None and e.param is not None:
        hint = e.param.get_error_hint()
    if hint is None:
        return ""
    names = [hint] if isinstance(hint, str) else list(hint)
    return " / ".join(metavars(n.replace("'", "")) for n in names)


def describe(e: click_errors.ClickException) -> str:
    """The one Chinese sentence for a usage error, built from the exception's fields."""
    if isinstance(e, click_errors.MissingParameter):
        kind = PARAM_KINDS.get(e.param_type or (e.param.param_type_name if e.param else ""), "参数")
        extra = e.param.get_missing_message(ctx=e.ctx) if e.param is not None else ""
        extra = "；".join(message(x) for x in (e.message, extra) if x)
        return f"缺少{kind}“{_param_hint(e)}”。" + extra
    if isinstance(e, click_errors.BadParameter):
        hint = _param_hint(e)
        return f"“{hint}”的值不对：{message(e.message)}" if hint else f"值不对：{message(e.message)}"
    if isinstance(e, click_errors.NoSuchOption):
        text = f"没有 {e.option_name} 这个选项。"
        if e.possibilities:
            text += f"您是不是要输入 {'、'.join(sorted(e.possibilities))}？"
        return text
    if isinstance(e, click_errors.FileError):
        return f"无法打开文件“{e.ui_filename}”：{message(e.message)}"
    return message(e.format_message() if type(e) is click_errors.ClickException else e.message)


def show(self: click_errors.ClickException, file: IO[Any] | None = None) -> None:
    """Replaces click's ``show``: usage line, where to get help, the error — in Chinese."""
    out = file if file is not None else sys.stderr
    ctx = getattr(self, "ctx", None)
    color = ctx.color if ctx is not None else None
    if ctx is not None:
        lines = [ctx.get_usage()]
        if ctx.command.get_help_option(ctx) is not None:
            lines.append(f"请运行“{ctx.command_path} {ctx.help_option_names[0]}”查看帮助。")
        _click.echo("\n".join(lines) + "\n", file=out, color=color)
    _click.echo(f"错误：{describe(self)}", file=out, color=color)


def install() -> None:
    """Set the Chinese words for every command of every typer app in this process (idempotent)."""
    typer.core._ = word  # type: ignore[attr-defined]
    _click.Context.formatter_class = ZhHelpFormatter
    _click.core.make_default_short_help = short_help  # type: ignore[attr-defined]
    click_errors.ClickException.show = show  # type: ignore[method-assign]
    click_errors.UsageError.show = show  # type: ignore[method-assign]
