"""What every command shares: the --workspace option, Chinese error output, JSON printing.

Everything the clerk typed or the disk holds (paths, names, cell values, messages that quote
them) goes through ``esc`` before it reaches a rich console: ``[/tmp/x]`` or ``[red]`` in a value
would otherwise be read as markup (a crash, or text that silently changes).
"""

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from sqlalchemy.exc import DatabaseError
from typer._click.globals import get_current_context

from ..archive import index_state, sync_journal
from ..db import database_finding, dispose_engines, reading
from ..findings import Finding, RuqiError, exception_reason
from ..labels import FLAG_ZH, flag_zh  # noqa: F401  (the commands print flags from here)
from ..text import printable
from ..workspace import Workspace, os_reason

# No emoji codes: ":fire:" in an enterprise name prints as typed (``esc`` escapes markup, not emoji),
# and rich's emoji table is not loaded with the first line printed.
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

WorkspaceOpt = typer.Option(
    Path("."), "--workspace", "-w", help="工作目录（含 ruqi.toml），默认当前目录", show_default=False
)


class CliCode(StrEnum):
    """Problems with what was typed on the command line, and the two ways a command stops short."""

    ARCHIVE_BAD_DATE = "ARCHIVE_BAD_DATE"
    ARCHIVE_NOT_FOUND = "ARCHIVE_NOT_FOUND"
    ARCHIVE_REASON_REQUIRED = "ARCHIVE_REASON_REQUIRED"
    WEB_BAD_DATE = "WEB_BAD_DATE"
    WEB_CANNOT_LISTEN = "WEB_CANNOT_LISTEN"  # ruqi serve: the port is taken, or the address is not this machine's
    PASSWORD_MISMATCH = "ACCOUNT_PASSWORD_MISMATCH"
    PASSWORD_FILE_EXISTS = "PASSWORD_FILE_EXISTS"  # --password-out names a file that is there already
    DEMO_FOLDER_IN_USE = "DEMO_FOLDER_IN_USE"  # ruqi demo names a folder holding files that are not a demo's
    OS_ERROR = "OS_ERROR"  # a file or folder could not be read or written
    INTERNAL_ERROR = "INTERNAL_ERROR"  # an engine bug: the traceback is saved for the administrator


JsonOpt = typer.Option(False, "--json", help="输出 JSON（每行一个对象），供程序读取")


def esc(value: object) -> str:
    """``value`` as text that rich prints literally, without control characters (an escape sequence
    in an enterprise name would drive the terminal)."""
    return escape(printable(str(value)))


def cells(*values: object) -> list[Any]:
    """Table cells (engine/cli/table.py) from values: text as a ``Text`` (printed as it is, without
    control characters; a str cell would be read as markup), a styled ``Text`` kept."""
    return [v if hasattr(v, "__rich_console__") or hasattr(v, "__rich__") else Text(printable("" if v is None else str(v)))
            for v in values]


def open_workspace(path: Path, *, check_index: bool = True) -> Workspace:
    """The workspace, refused (every problem listed) when its config or key is wrong or, with
    ``check_index``, when its database is behind the archive (lost, truncated, an old backup):
    only ``ruqi archive repair``, ``verify`` and ``log`` run then."""
    ws = Workspace.open(path)
    if check_index:
        with reading():  # the journal's missing lines are written to its file, not the database
            problem = index_state(ws)
            if problem is not None:
                raise RuqiError(problem)
            sync_journal(ws)
    return ws


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


Command = Callable[..., Any]


def add_group(app: typer.Typer, name: str, commands: dict[str, tuple[Command, str]], alone: Command | None = None) -> None:
    """``ruqi <name> <subcommand>``: ``commands`` is {subcommand: (function, help)}.  ``alone`` is what
    ``ruqi <name>`` itself does (``ruqi register`` prints the year's register); without it the bare
    group prints its help.  The group's own help is in engine/cli ``COMMANDS``."""
    group = typer.Typer(invoke_without_command=alone is not None, no_args_is_help=alone is None,
                        rich_markup_mode=None)
    if alone is not None:
        group.callback()(_unless_subcommand(alone))
    for sub, (fn, text) in commands.items():
        group.command(sub, help=text)(fn)
    app.add_typer(group, name=name)


def _unless_subcommand(fn: Command) -> Command:
    """``fn`` (same options) run only when the group is called without a subcommand: typer calls a
    group's callback before each of its subcommands too."""
    @functools.wraps(fn)
    def alone(**options: Any) -> None:
        if get_current_context().invoked_subcommand is None:
            fn(**options)
    return alone


class Outcome(Protocol):
    """What an engine call that records one thing returns (``ConfirmResult``, ``VoidResult``…)."""

    @property
    def ok(self) -> bool: ...
    @property
    def findings(self) -> Any: ...
    def to_json(self) -> dict[str, Any]: ...


def settle(res: Outcome, as_json: bool) -> None:
    """With --json, the outcome as one line and exit code 0 or 1.  Else each problem in red on
    stderr, exit code 1 if it failed; on success the command goes on to say what it did."""
    if as_json:
        print_json(res.to_json())
        raise typer.Exit(0 if res.ok else 1)
    for f in res.findings:
        err_console.print(Text(f"✗ {f.message}（{f.code}）"), style="red")
    if not res.ok:
        raise typer.Exit(1)


# Options whose value may be left out, and what a bare option means (typer has no optional values):
# `ruqi generate --allow-over-cap --reason …` keeps approving every over-cap row, as before rows could be named.
BARE_OPTION_VALUES = {"--allow-over-cap": "全部"}


def fill_bare_options(argv: list[str]) -> list[str]:
    out: list[str] = []
    for i, a in enumerate(argv):
        out.append(a)
        if a in BARE_OPTION_VALUES and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            out.append(BARE_OPTION_VALUES[a])
    return out


def print_findings(findings: list[Finding]) -> None:
    """Every problem on its own line: where, what, the code."""
    head = "错误：" if len(findings) == 1 else f"发现 {len(findings)} 处问题："
    err_console.print(f"[red]{head}[/red]")
    for f in findings:
        err_console.print(f"  ✗ {esc(f.located('{}：'))}（{esc(f.code)}）")


def crash_report(e: BaseException) -> Path | None:
    """The traceback of an engine bug, saved where the clerk can hand it on (None if even that fails)."""
    path = Path(tempfile.gettempdir()) / f"ruqi-crash-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.txt"
    try:
        path.write_text(" ".join(sys.argv) + "\n\n" + "".join(traceback.format_exception(e)), encoding="utf-8")
    except OSError:
        return None
    return path


# Ctrl+C: true of every command that changes anything.  ``generate`` registers and files row by row
# (a rerun finds the rows already registered and generates them again, counted once); ``ingest``
# files card by card and leaves the rest claimed in inbox/.processing/, which the next run takes up.
INTERRUPTED = "已中断（Ctrl+C）。已经做完的部分都已保存；再次运行同一命令即可完成其余部分。"
INTERRUPTED_EXIT = 130  # the shell's code for a program stopped by Ctrl+C (128 + SIGINT)


def run_app(app: typer.Typer) -> None:
    """Run the CLI; a RuqiError becomes Chinese lines and exit code 2, never a traceback.  So does
    a failing disk (full, read-only) or a database the engine cannot read.  An engine bug says so in
    Chinese (exit code 3); its traceback goes to a file for the administrator, not to the clerk.
    Ctrl+C says in one Chinese line what is safe (exit code 130).
    However it ends, the database connections are closed (SQLite's WAL written back, see
    ``dispose_engines``)."""
    try:
        _run(app)
    finally:
        dispose_engines()


def quiet_library_noise() -> None:
    """What libraries would print to a clerk's terminal, left out of it:

    - a Ctrl+C that lands while a C library runs a callback into Python (pypdfium2 reading or
      writing a PDF) cannot leave the callback: Python prints "Exception ignored on calling ctypes
      callback function … KeyboardInterrupt" and carries on.  It is passed on to the main thread
      instead, which stops as for any Ctrl+C (``INTERRUPTED``);
    - pypdf's warnings about a damaged PDF ("incorrect startxref pointer"): the engine says in its
      own words what is wrong with a file it cannot read."""
    import _thread
    import logging
    import threading

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    before = sys.unraisablehook

    def hook(unraisable: Any) -> None:
        if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
            # A moment later, from another thread: raised now, it would be ignored again, inside this hook.
            later = threading.Timer(0.05, _thread.interrupt_main)
            later.daemon = True  # a command ending meanwhile is not held back by it
            later.start()
            return
        before(unraisable)

    sys.unraisablehook = hook


def _run(app: typer.Typer) -> None:
    quiet_library_noise()
    try:
        app(args=fill_bare_options(sys.argv[1:]), standalone_mode=True)
    except SystemExit as e:
        # typer turns Ctrl+C into a silent exit code 130: the clerk would not know what was kept.
        if e.code == INTERRUPTED_EXIT and _interrupted(e):
            err_console.print(Text(INTERRUPTED))
        raise
    except KeyboardInterrupt:  # before or after typer's own handling (parsing the command line)
        err_console.print(Text(INTERRUPTED))
        sys.exit(INTERRUPTED_EXIT)
    except RuqiError as e:
        print_findings(e.findings)
        sys.exit(2)
    except OSError as e:
        name = e.filename or ""
        print_findings([Finding(CliCode.OS_ERROR, f"无法读写“{name}”：{os_reason(e)}。" if name else f"{os_reason(e)}。")])
        sys.exit(2)
    except DatabaseError as e:
        print_findings([database_finding(e)])
        sys.exit(2)
    except Exception as e:
        path = crash_report(e)
        saved = f"出错记录已保存到“{path}”，请交给管理员。" if path else "请记下所做的操作，告诉管理员。"
        print_findings([Finding(CliCode.INTERNAL_ERROR, f"程序内部错误（{exception_reason(e)}），本次操作未完成。{saved}")])
        sys.exit(3)


def _interrupted(e: BaseException) -> bool:
    """Whether ``e`` was raised because of a KeyboardInterrupt (typer: ``Exit(130) from`` it)."""
    seen: set[int] = set()
    cause: BaseException | None = e
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False

