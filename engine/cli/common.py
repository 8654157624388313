"""What every command shares: the --workspace option, Chinese error output, JSON printing."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from ..findings import RuqiError
from ..text import printable
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


def run_app(app: typer.Typer) -> None:
    """Run the CLI; a RuqiError becomes one Chinese line and exit code 2, never a traceback."""
    try:
        app(standalone_mode=True)
    except RuqiError as e:
        err_console.print(f"[red]错误：[/red]{e.finding}")
        sys.exit(2)


def plain(value: object) -> Text:
    """Outside text (an enterprise name) for a rich table: never read as markup (``[/]`` would raise),
    no control characters (an escape sequence would drive the terminal)."""
    return Text(printable("" if value is None else str(value)))
