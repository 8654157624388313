"""`ruqi --help`, every subcommand's help and click's usage errors are Chinese (engine/cli/zh.py)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

import pytest
import typer
import typer.main
from _archive_fixtures import card_meta, pdf_bytes
from typer.testing import CliRunner

from engine.archive import file_item
from engine.cli import app
from engine.cli.zh import width
from engine.workspace import init

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


def test_a_bounded_option_shows_its_bound_in_chinese() -> None:
    out = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "120"}).output
    assert re.search(r"--workers <整数>\s+并行进程数.*\[≥1\]", out), out


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


# ---- the common error paths a new clerk walks into, as the console script prints them -----------------------

# What may stand in Latin letters in a clerk's message: the program, file kinds and products she knows, and
# the commands, options, codes and quoted values (what she typed, file names, the file a line is about) the
# message names, and any value followed by its Chinese name, ``late（逾期）`` (removed before the words are counted).
KNOWN_WORDS = {"ruqi", "toml", "xlsx", "xls", "docx", "pdf", "PDF", "Excel", "WPS", "Word", "JSON", "json", "Ctrl",
               "IP", "QR", "SHA", "SM", "id", "cd", "README", "MB"}
_NOT_WORDS = re.compile(r"""
      ✗\ [^：\n]*：                 # the file or place a finding is about
    | ✗\ [^：\n]*(?=\n|\Z)          # …or a file, on a line of its own above its findings
    | [A-Za-z_]+（[\u4e00-\u9fff]    # a value followed by its Chinese name: late（逾期）
    | “[^”]*” | \[[^\]\n]*\]         # quoted: what was typed, a file name, a ruqi.toml section
    | 现为\ [^）\n]*                 # the value as typed
    | ruqi(?:\ [a-z][a-z-]*)*       # a command to run
    | --?[a-z][\w-]*                 # an option
    | [A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+  # a stable code
    | \S*/\S*                        # a path
    | [\w.-]+\.(?:docx|xlsx|xls|html|pdf|toml|csv|txt|jsonl?)\b   # a file name
    | \b\d{4}Q\d\b                   # a period: 2025Q2
    | \b[0-9a-f]{8,}\b                # a hash
""", re.X)


def stray_words(text: str) -> list[str]:
    """Latin words in ``text`` that are none of ``KNOWN_WORDS``: English the clerk cannot read."""
    return sorted({w for w in re.findall(r"[A-Za-z]{2,}", _NOT_WORDS.sub(" ", text)) if w not in KNOWN_WORDS})


def test_the_stray_word_finder_sees_english_and_passes_names() -> None:
    assert stray_words("✗ 找不到计划文件“/tmp/a b.xlsx”：请用 ruqi generate --plan 计划.xlsx。（PLAN_NOT_FOUND）") == []
    assert stray_words("ERROR:    Traceback (most recent call last): OSError") == ["ERROR", "OSError", "Traceback",
                                                                                    "call", "last", "most", "recent"]
    assert stray_words("系统错误：Name or service not known") == ["Name", "known", "not", "or", "service"]


def ruqi_run(ws_root: Path, *args: str, columns: int = 1000) -> tuple[int, str]:
    """The installed ``ruqi`` (``run_app``: Chinese errors, crash files), stdout + stderr.  Wide enough
    that no message wraps: one names the temporary workspace twice, and at 200 columns the break moved
    with the path's length (into "不是工作目录" for a base temporary folder 16 to 20 characters
    longer than pytest's default)."""
    res = subprocess.run([str(Path(sys.executable).with_name("ruqi")), *args], capture_output=True, text=True,
                         cwd=ws_root, env={**os.environ, "COLUMNS": str(columns)}, timeout=120)
    return res.returncode, res.stdout + res.stderr


ERROR_PATHS: list[tuple[list[str], str]] = [
    (["status", "-w", "没有这个目录"], "不是工作目录"),
    (["ingest", "-w", "/"], "不是工作目录"),
    (["generate", "--plan", "/etc/passwd"], "无法打开计划文件"),
    (["generate", "--plan", "."], "是一个文件夹，不是计划文件"),
    (["generate", "--plan", "没有.xlsx"], "找不到计划文件"),
    (["generate", "--plan", "没有.xlsx", "--formats", "doc"], "--formats 只能是"),
    (["stats", "check", "/etc/passwd"], "不是 Excel 工作簿"),
    (["stats", "aggregate", "-t", "9", "-p", "2025Q2", "-o", "汇总.xlsx"], "没有统计表“9”"),
    (["stats", "status", "-t", "2", "-p", "明年"], "报送期次“明年”无法识别"),
    (["register", "import", "/etc/passwd"], "无法打开"),
    (["archive", "show", "J001-没有"], "找不到归档文件"),
    (["archive", "search", "--form-type", "反馈卡"], "没有“反馈卡”这一项，可选："),
    (["archive", "search", "--flag", "LATER"], "没有“LATER”这一项，可选："),
    (["archive", "log", "--action", "delete"], "没有“delete”这一项，可选："),
    (["archive", "verify", "--sample", "-1"], "--sample"),
    (["generate", "--plan", "计划.xlsx", "--workers", "0"], "“--workers”的值不对：这里要填不小于 1 的整数。"),
    (["ingest", "--workers", "0"], "“--workers”的值不对：这里要填不小于 1 的整数。"),
    (["watch", "--workers", "-2"], "“--workers”的值不对：这里要填不小于 1 的整数。"),
    (["archive", "log", "-n", "-5"], "“--limit / -n”的值不对：这里要填不小于 0 的整数。"),
    (["user", "add", "张三", "--role", "boss"], "角色“boss”不存在"),
    (["void", "140200-2025-9999", "--reason", "误登记"], "不在本局检查登记中"),
    (["review", "export", "--out", "/"], "已存在且不为空"),
    (["watch", "--interval", "-1"], "要写大于 0 的秒数"),
    (["watch", "--interval", "0"], "要写大于 0 的秒数"),
    (["watch", "--mail-interval", "0", "--mail"], "要写大于 0 的秒数"),
    (["serve", "--port", "99999"], "端口要在 1 到 65535 之间"),
    (["serve", "--host", "nosuch.invalid"], "监听地址“nosuch.invalid”无法识别"),
    (["templates", "check", "--dir", "没有"], "找不到模板文件"),
    (["mail", "fetch"], "没有配置邮箱"),
    (["confirm", "--answers", "否否是否否否否否否否", "--by", "张三"], "没有写是哪一张卡，什么也没有录入"),
    (["register", "--out", "/proc/没有/台账.xlsx"], "/proc/没有/台账.xlsx"),
]


@pytest.mark.parametrize(("args", "said"), ERROR_PATHS, ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_common_mistake_is_told_in_chinese_without_english(tmp_path: Path, args: list[str], said: str) -> None:
    ws = init(tmp_path / "ws")
    code, out = ruqi_run(ws.root, *args)
    assert code in (1, 2), out  # refused: never 0 (done), never 3 (an engine bug)
    assert said in out, out
    assert stray_words(out) == [] and english_in(out) == [] and "INTERNAL_ERROR" not in out, out


def test_a_taken_port_is_told_in_chinese(tmp_path: Path) -> None:
    """uvicorn said it in English (“ERROR: [Errno 98] … address already in use”) and exited 1."""
    ws = init(tmp_path / "ws")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        code, out = ruqi_run(ws.root, "serve", "--port", str(port))
    assert code == 2, out
    assert f"端口 {port} 已被占用（可能 ruqi serve 已经在运行）：请先停止它，或用 --port 换一个端口。（WEB_CANNOT_LISTEN）" in out
    assert stray_words(out) == [], out


def test_a_choice_is_taken_by_its_chinese_name_too(tmp_path: Path) -> None:
    ws = init(tmp_path / "ws")
    for args in (["archive", "search", "--flag", "逾期"], ["archive", "search", "--form-type", "检查计划"],
                 ["archive", "log", "--action", "四性检测"], ["archive", "search", "--flag", "late"]):
        code, out = ruqi_run(ws.root, *args)
        assert code == 0, (args, out)


def test_a_failed_archive_check_says_what_is_wrong_before_its_code(tmp_path: Path) -> None:
    """``ruqi archive verify`` began each problem with its code (“ARCHIVE_SIZE_MISMATCH J001…：真实性：…”);
    now as every command does, the problem then its code."""
    ws = init(tmp_path / "ws")
    row = file_item(ws, pdf_bytes(), card_meta())
    with (ws.archive / row.rel_path).open("ab") as f:
        f.write(b"%% appended")
    code, out = ruqi_run(ws.root, "archive", "verify")  # one problem a line
    assert code == 1 and "四性检测未通过。" in out, out
    problems = [line.strip() for line in out.splitlines() if "ARCHIVE_" in line]
    assert len(problems) == 2 and all(p.startswith("✗ ") for p in problems), out
    assert problems[0].endswith("（ARCHIVE_SIZE_MISMATCH）") and problems[1].endswith("（ARCHIVE_HASH_MISMATCH）"), out
    assert stray_words(out) == [], out
