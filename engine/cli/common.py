"""What every command shares: the --workspace option, Chinese error output, JSON printing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..findings import RuqiError
from ..workspace import Workspace

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

WorkspaceOpt = typer.Option(
    Path("."), "--workspace", "-w", help="工作目录（含 ruqi.toml），默认当前目录", show_default=False
)
JsonOpt = typer.Option(False, "--json", help="输出 JSON（每行一个对象），供程序读取")


def open_workspace(path: Path) -> Workspace:
    return Workspace.open(path)


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


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


def run_app(app: typer.Typer) -> None:
    """Run the CLI; a RuqiError becomes one Chinese line and exit code 2, never a traceback."""
    try:
        app(args=fill_bare_options(sys.argv[1:]), standalone_mode=True)
    except RuqiError as e:
        err_console.print(f"[red]错误：[/red]{e.finding}")
        sys.exit(2)
