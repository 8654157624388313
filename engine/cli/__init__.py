"""`ruqi`: a thin command-line layer over the library API.

Each command group lives in its own module with a ``register(app)`` function; this file
only assembles them.  Commands print Chinese for the clerk; ``--json`` prints data for programs.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import typer
import typer.main
from typer import _click as click
from typer.core import TyperGroup

from .. import __version__
from . import values, zh
from .common import run_app

zh.install()  # typer's own words (Usage, Options, usage errors) in Chinese, for every command
values.install()  # text, numbers and paths converted without loading pydantic (start-up time)

# Command groups, in the order `ruqi --help` lists them.
COMMAND_MODULES = (
    "workspace_cmd", "generate_cmd", "register_cmd", "templates_cmd", "inbox_cmd", "status_cmd", "confirm_cmd",
    "mail_cmd", "archive_cmd", "stats_cmd", "review_cmd", "web_cmd",
)
# Which module registers each top-level command, so a command imports only its own module (and what
# that needs): `ruqi status` does not load the renderers, the inbox readers or the mail client.
# tests/test_startup.py checks this table against what the modules register.
COMMANDS: dict[str, str] = {
    "init": "workspace_cmd", "demo": "workspace_cmd",
    "plan-template": "generate_cmd", "generate": "generate_cmd", "register": "register_cmd", "void": "generate_cmd",
    "templates": "templates_cmd",
    "ingest": "inbox_cmd", "watch": "inbox_cmd", "status": "status_cmd", "confirm": "confirm_cmd",
    "mail": "mail_cmd", "archive": "archive_cmd", "stats": "stats_cmd", "review": "review_cmd",
    "serve": "web_cmd", "user": "web_cmd",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ruqi {__version__}")
        raise typer.Exit()


def load_commands(module: str) -> dict[str, click.Command]:
    """The click commands one command module registers (on a Typer of its own, as the root would)."""
    sub = typer.Typer(rich_markup_mode=None)
    importlib.import_module(f"{__name__}.{module}").register(sub)
    return dict(typer.main.get_group(sub).commands)


class LazyCommands(dict[str, click.Command]):
    """The root group's commands: asking for one (``get``, ``in``, ``[]``) imports its module only;
    listing them (iterating, ``items``, ``len``) imports every command module."""

    def __init__(self, commands: dict[str, click.Command]):
        super().__init__(commands)
        self.loaded: set[str] = set()

    def load(self, module: str) -> None:
        if module not in self.loaded:
            self.loaded.add(module)
            for name, cmd in load_commands(module).items():
                super().setdefault(name, cmd)

    def load_all(self) -> None:
        for module in COMMAND_MODULES:
            self.load(module)

    def _want(self, name: object) -> None:
        if not super().__contains__(name):
            module = COMMANDS.get(name) if isinstance(name, str) else None
            if module is not None:
                self.load(module)
            if not super().__contains__(name):  # not in the table: whichever module has it
                self.load_all()

    def __contains__(self, name: object) -> bool:
        self._want(name)
        return super().__contains__(name)

    def __getitem__(self, name: str) -> click.Command:
        self._want(name)
        return super().__getitem__(name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self._want(name)
        return super().get(name, default)

    def __iter__(self) -> Iterator[str]:
        self.load_all()
        return iter(sorted(super().keys(), key=_listed))

    def __len__(self) -> int:
        self.load_all()
        return super().__len__()

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self)

    def values(self) -> list[click.Command]:  # type: ignore[override]
        return [super(LazyCommands, self).__getitem__(k) for k in self]

    def items(self) -> list[tuple[str, click.Command]]:  # type: ignore[override]
        return [(k, super(LazyCommands, self).__getitem__(k)) for k in self]


def _listed(name: str) -> int:
    """`ruqi --help` lists the commands in the table's order (a command missing from it last)."""
    order = list(COMMANDS)
    return order.index(name) if name in order else len(order)


class LazyGroup(TyperGroup):
    """The root command group: a command's module is imported when that command is asked for (a
    run, its --help); ``ruqi --help`` asks for all of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(dict(self.commands))


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
