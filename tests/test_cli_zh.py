"""`ruqi --help`, every subcommand's help and click's usage errors are Chinese (engine/cli/zh.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from engine.cli import app
from engine.cli.zh import width

# typer/click's own English, as it appears in help and error output.
ENGLISH = ("Usage", "Options", "Commands", "Arguments", "Show this message and exit", "[default:", "[required]",
           "env var", "Error", "Try '", "for help", "No such", "Missing", "Invalid value", "Did you mean",
           "Possible options", "Got unexpected", "requires an argument", "is not a valid", "Input should be",
           "Value error", "is not one of", "Choose from", "DEPRECATED", "Aborted", "<str>", "<path>", "<int>", "<float>", "<list[", "[OPTIONS]", "COMMAND")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Terminals a clerk may have: wide, narrow without colour, a dumb one.
TERMINALS = ({"COLUMNS": "200"}, {"NO_COLOR": "1", "COLUMNS": "40"}, {"TERM": "dumb", "COLUMNS": "80"})


def commands() -> Iterator[tuple[list[str], object]]:
    """Every command and group of the app, recursively, with its path."""
    def walk(cmd: object, path: list[str]) -> Iterator[tuple[list[str], object]]:
        yield path, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, name])
    yield from walk(typer.main.get_command(app), [])


ALL = list(commands())


def english_in(text: str) -> list[str]:
    return [w for w in ENGLISH if w in text]


def test_the_walk_reaches_the_new_commands() -> None:
    paths = {" ".join(p) for p, _ in ALL}
    for p in ("mail", "mail fetch", "void", "archive repair", "stats blank", "stats check", "review export",
              "templates check"):
        assert p in paths


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(["ruqi", *p]))
def test_help_is_chinese(path: list[str]) -> None:
    cmd = dict((tuple(p), c) for p, c in ALL)[tuple(path)]
    assert CJK.search(cmd.help or ""), f"ruqi {' '.join(path)} has no Chinese help text"
    # plain help through zh.ZhHelpFormatter, never typer's rich panels
    assert getattr(cmd, "rich_markup_mode", None) is None
    for env in TERMINALS:
        res = CliRunner().invoke(app, [*path, "--help"], env=env)
        assert res.exit_code == 0, res.output
        assert english_in(res.output) == [], (env, res.output)
        usage = res.output.splitlines()[0]
        assert usage.startswith("用法：ruqi"), usage
        # what follows the command path in the usage line (options, arguments) is Chinese
        rest = usage.removeprefix("用法：" + " ".join(["ruqi", *path]))
        assert not re.search(r"[A-Za-z]", rest), usage
        for section in ("选项：",) + (("命令：",) if getattr(cmd, "commands", None) else ()):
            assert section in res.output
        assert "显示本帮助并退出" in res.output
        # laid out in terminal cells (a Chinese character takes two), no line opening with "）" or "。"
        for line in res.output.splitlines():
            assert width(line) <= 80, (env, line)  # CliRunner's terminal is 80 wide
            assert not re.match(r"\s*[。，、；：）”]", line), (env, line)
        if getattr(cmd, "commands", None):  # each subcommand listed with Chinese, not "..."
            listing = res.output.split("命令：", 1)[1].splitlines()[1:]
            assert all(CJK.search(line) for line in listing if line.strip()), res.output


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=lambda p: " ".join(["ruqi", *p]))
def test_every_option_and_argument_is_explained_in_chinese(path: list[str]) -> None:
    """What the usage line cannot show: each option's and argument's own help, and an argument's name."""
    cmd = dict((tuple(p), c) for p, c in ALL)[tuple(path)]
    for param in getattr(cmd, "params", []):
        assert CJK.search(getattr(param, "help", None) or ""), (path, param.opts)
        if param.param_type_name == "argument":
            assert CJK.search(param.metavar or ""), (path, param.name)


def test_columns_line_up_with_chinese_metavars() -> None:
    out = CliRunner().invoke(app, ["review", "--help"], env={"COLUMNS": "120"}).output
    rows = [line for line in out.splitlines() if line.startswith("  --from") or line.startswith("  --json")]
    # the help column starts at the same terminal cell although "<文本>" takes 4 cells for 2 characters
    starts = {width(re.match(r"^(  \S.*?\s{2,})", r).group(1)) for r in rows}
    assert len(rows) == 2 and len(starts) == 1, rows


def error_of(args: list[str]) -> str:
    res = CliRunner().invoke(app, args, env={"COLUMNS": "100"})
    assert res.exit_code == 2, res.output
    assert english_in(res.output) == [], res.output
    return res.output


def test_mistyped_option_is_chinese_with_suggestion() -> None:
    out = error_of(["generate", "--plann", "x.xlsx"])
    assert "用法：ruqi generate [选项]" in out
    assert "请运行“ruqi generate --help”查看帮助。" in out
    assert "错误：没有 --plann 这个选项。您是不是要输入 --plan？" in out


def test_missing_argument_and_option_are_chinese() -> None:
    assert "错误：缺少参数“检查编号”。" in error_of(["void"])
    assert "错误：缺少选项“--plan”。" in error_of(["generate"])
    assert "错误：缺少参数“文件”。" in error_of(["stats", "check"])


def test_bad_values_and_commands_are_chinese() -> None:
    assert CliRunner().invoke(app, []).output.startswith("用法：ruqi [选项] 命令 [参数]...")  # bare `ruqi`
    assert "错误：“--table / -t”的值不对：这里要填整数。" in error_of(["stats", "blank", "-t", "abc", "-p", "2025Q2"])
    assert "错误：没有“ingets”这个命令。您是不是要输入 ingest、init？" in error_of(["ingets"])
    assert "错误：多余的参数：b" in error_of(["init", "a", "b"])
    assert "错误：选项 --plan 后面要跟一个值。" in error_of(["generate", "--plan"])
    assert "错误：选项 --check 后面不能跟值。" in error_of(["generate", "--plan", "x", "--check=3"])


def test_installed_command_prints_chinese_on_a_narrow_plain_terminal() -> None:
    """The real entry point (stderr, no CliRunner), as a clerk's terminal runs it."""
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "40"}
    ruqi = [str(Path(sys.executable).with_name("ruqi"))]
    res = subprocess.run([*ruqi, "archive", "serch"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 2
    assert "错误：没有“serch”这个命令。您是不是要输入 search？" in res.stderr
    assert english_in(res.stdout + res.stderr) == []
    res = subprocess.run([*ruqi, "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0 and res.stdout.startswith("用法：ruqi [选项] 命令 [参数]...")
    assert english_in(res.stdout) == []
    # click's narrowest layout is 50 cells; Chinese text is wrapped to it, not to 50 characters
    assert max(width(line) for line in res.stdout.splitlines()) <= 50


class Fmt(StrEnum):
    docx = "docx"
    pdf = "pdf"


def test_a_bad_choice_is_chinese() -> None:
    """ruqi has no choice option yet; one added later goes through the same words (set for every typer app)."""
    chooser = typer.Typer(rich_markup_mode=None)

    @chooser.command()
    def go(fmt: Fmt = typer.Option(..., "--fmt", help="格式")) -> None:
        pass

    @chooser.command()
    def other() -> None:
        pass

    bad = CliRunner().invoke(chooser, ["go", "--fmt", "xls"])
    assert bad.exit_code == 2 and english_in(bad.output) == [], bad.output
    assert "错误：“--fmt”的值不对：“xls”不在可选值中（可选：docx、pdf）。" in bad.output
    missing = CliRunner().invoke(chooser, ["go"])
    assert "错误：缺少选项“--fmt”。可选：docx、pdf" in missing.output and english_in(missing.output) == []
