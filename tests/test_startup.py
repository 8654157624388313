"""Start-up: a command loads only what it uses (issue 10, whole-process speed).

`ruqi status`, `register`, `review` and `archive search` read the database and print; the
renderers, the PDF and Office libraries and the image decoders load only in a process that
renders, reads or writes those files.  Checked in a fresh interpreter, on the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer._click import Context
from typer.main import get_group
from typer.testing import CliRunner

from engine.cli import COMMAND_MODULES, COMMANDS, app, load_commands
from engine.workspace import init

# Third-party libraries that only rendering, reading returns or writing workbooks need.
HEAVY = ("weasyprint", "pypdf", "pypdfium2", "docxtpl", "docx", "openpyxl", "PIL", "segno", "zxingcpp", "bagit",
         "jinja2", "lxml", "cssselect2", "fontTools", "xlrd")

_PROBE = """
import json, sys
from engine.cli import main
sys.argv = ["ruqi", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\nLOADED=" + json.dumps(sorted(sys.modules)))
"""


# The engine's own subsystems none of the read-only commands needs: each command imports only the
# module that registers it (engine/cli COMMANDS), and the packages load their parts on use.
NOT_FOR_READING = ("engine.generate", "engine.mail", "engine.inbox.pipeline", "engine.stats.aggregate", "engine.web")
# ... and what `status` and `register` (the register and the database, nothing else) need neither.
NOT_FOR_REGISTER = (*NOT_FOR_READING, "engine.render", "engine.readback", "engine.review", "engine.recover")


def modules_loaded_by(args: list[str], cwd: Path) -> set[str]:
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], cwd=cwd, capture_output=True, text=True,
                       timeout=120, check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("LOADED=")), None)
    assert line is not None, r.stderr[-2000:]
    return set(json.loads(line.removeprefix("LOADED=")))


def engine_parts(modules: set[str], parts: tuple[str, ...]) -> set[str]:
    return {p for p in parts if any(m == p or m.startswith(p + ".") for m in modules)}


def test_importing_the_cli_loads_no_renderer_and_no_command(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-c", "import sys, json, engine.cli; print(json.dumps(sorted(sys.modules)))"],
                       capture_output=True, text=True, timeout=120, check=True)
    modules = set(json.loads(r.stdout))
    assert {m.split(".")[0] for m in modules} & set(HEAVY) == set()
    assert {f"engine.cli.{m}" for m in COMMAND_MODULES} & modules == set()  # loaded when their command runs
    assert engine_parts(modules, NOT_FOR_REGISTER) == set()


def test_the_command_table_names_what_each_module_registers() -> None:
    """`ruqi status` imports the module COMMANDS names for it: the table must be that module's."""
    registered = {name: module for module in COMMAND_MODULES for name in load_commands(module)}
    assert registered == COMMANDS
    assert list(get_group(app).list_commands(Context(get_group(app)))) == list(COMMANDS)  # --help lists them all


def test_every_command_runs_and_helps_through_the_lazy_table(tmp_path: Path) -> None:
    for args in (["--help"], ["register", "--help"], ["archive", "search", "--help"], ["statu"]):
        r = CliRunner().invoke(app, args)
        assert (r.exit_code == 0) == (args != ["statu"]), (args, r.output)
    assert "status" in CliRunner().invoke(app, ["--help"]).output
    assert "--overdue" in CliRunner().invoke(app, ["status", "--help"]).output


@pytest.mark.parametrize("args", [["status"], ["register"], ["review"], ["archive", "search"], ["--help"]])
def test_read_only_commands_load_no_renderer(tmp_path: Path, args: list[str]) -> None:
    init(tmp_path / "ws")
    modules = modules_loaded_by(args, tmp_path / "ws")
    assert {m.split(".")[0] for m in modules} & set(HEAVY) == set()
    if args != ["--help"]:
        assert engine_parts(modules, NOT_FOR_REGISTER if args in (["status"], ["register"]) else NOT_FOR_READING) == set()
