"""`ruqi`: a thin command-line layer over the library API.

Each command group lives in its own module with a ``register(app)`` function; this file
only assembles them.  Commands print Chinese for the clerk; ``--json`` prints data for programs.
"""

from __future__ import annotations

import importlib

import typer

from .. import __version__
from . import zh
from .common import run_app

zh.install()  # typer's own words (Usage, Options, usage errors) in Chinese, for every command

app = typer.Typer(
    name="ruqi",
    help="入企检查文书引擎：生成通知书、公示、反馈卡，收取反馈卡和统计表，归档并供纪委审查。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

# Command groups, in the order `ruqi --help` lists them.
COMMAND_MODULES = (
    "workspace_cmd", "generate_cmd", "register_cmd", "templates_cmd", "inbox_cmd", "confirm_cmd", "mail_cmd",
    "archive_cmd", "stats_cmd", "review_cmd", "web_cmd",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ruqi {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="显示版本"),
) -> None:
    pass


for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"{__name__}.{_name}")
    except ModuleNotFoundError as e:
        if e.name != f"{__name__}.{_name}":
            raise
        continue  # that command group has not been written yet
    _mod.register(app)


def main() -> None:
    run_app(app)
