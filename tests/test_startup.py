"""Start-up: a command loads only what it uses (issue 10, whole-process speed).

`ruqi status`, `register`, `review` and `archive search` read the database and print; the
renderers, the PDF and Office libraries, the image decoders, the web server and pydantic load
only in a process that needs them.  Checked in a fresh interpreter, on the real CLI, against a
filled workspace (a month of inspections, their forms and returned cards filed, one of them a
scan the inbox read as an image), so each command does its real work; timings are never asserted
here (benchmarks/bench_startup.py measures them)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from _review_fixtures import TODAY, file_month, register_month, small_pdf
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from typer._click import Context
from typer.main import get_group
from typer.testing import CliRunner

from engine.archive import ItemMeta, file_item, latest_item
from engine.cli import COMMAND_MODULES, COMMANDS, app, load_commands
from engine.db import dispose_engine, reading, session, sqlite_path
from engine.forms import FormType
from engine.readback.common import ReadMethod
from engine.workspace import Workspace, init

# Third-party libraries that only rendering, reading returns, writing workbooks, the web pages or
# scanned cards need; pydantic only typer's conversion of unusual option values.
HEAVY = ("weasyprint", "pypdf", "pypdfium2", "pdfplumber", "pdfminer", "docxtpl", "docx", "openpyxl", "PIL", "segno",
         "zxingcpp", "bagit", "jinja2", "lxml", "cssselect2", "fontTools", "xlrd", "python_calamine", "cv2", "numpy",
         "pillow_heif", "fastapi", "starlette", "uvicorn", "pydantic", "imapclient", "argon2", "psycopg")
# Everything third-party the four read-only commands may load: the database, the command line, the
# terminal.  A library beyond these on their path is a start-up cost to justify here first.
READING_NEEDS = {"sqlalchemy", "typer", "rich", "shellingham", "annotated_doc", "typing_extensions", "cython_runtime"}
STDLIB = set(sys.stdlib_module_names)

_PROBE = """
import json, sys
from engine.launch import main
sys.argv = ["ruqi", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\nLOADED=" + json.dumps(sorted(sys.modules)))
"""


# The engine's own subsystems none of the read-only commands needs: each command imports only the
# module that registers it (engine/cli COMMANDS), and the packages load their parts on use.
NOT_FOR_READING = ("engine.generate", "engine.mail", "engine.inbox.pipeline", "engine.stats.aggregate", "engine.web",
                   "engine.plan", "engine.recover", "engine.review.report", "engine.review.export", "engine.archive.verify",
                   "engine.readback.card", "engine.readback.pdf_source", "engine.readback.docx", "engine.readback.image")
# ... and what `status` and `register` (the register and the database, nothing else) need neither.
NOT_FOR_REGISTER = (*NOT_FOR_READING, "engine.render", "engine.readback", "engine.review")


def run_probe(args: list[str], cwd: Path) -> tuple[set[str], str]:
    """The modules a fresh ``ruqi <args>`` process has loaded when it ends, and what it printed."""
    r = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(args)], cwd=cwd, capture_output=True, text=True,
                       timeout=120, check=False, env={**os.environ, "COLUMNS": "200"})
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("LOADED=")), None)
    assert line is not None, r.stderr[-2000:]
    return set(json.loads(line.removeprefix("LOADED="))), r.stdout.removesuffix(line + "\n")


def modules_loaded_by(args: list[str], cwd: Path) -> set[str]:
    return run_probe(args, cwd)[0]


def third_party(modules: set[str]) -> set[str]:
    tops = {m.split(".")[0] for m in modules}
    return {t for t in tops if t not in STDLIB and not t.startswith("_") and t != "engine"}


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
    loaded = {name: (module, cmd) for module in COMMAND_MODULES for name, cmd in load_commands(module).items()}
    assert {name: module for name, (module, _cmd) in loaded.items()} == {n: e.module for n, e in COMMANDS.items()}
    assert list(get_group(app).list_commands(Context(get_group(app)))) == list(COMMANDS)  # --help lists them all
    # each command carries its help from the table (the modules give none), Chinese and not empty
    assert all(cmd.help == COMMANDS[name].help and cmd.help for name, (_m, cmd) in loaded.items())


def test_help_lists_every_command_from_the_table_without_loading_one(tmp_path: Path) -> None:
    """`ruqi --help` lists every command with the start of its help, whole sentences or clauses (a
    Chinese help has no space for click to cut at: it printed "..." alone), and imports no command
    module; nor does a mistyped command (its suggestion comes from the table too)."""
    modules, out = run_probe(["--help"], tmp_path)
    assert {f"engine.cli.{m}" for m in COMMAND_MODULES} & modules == set()
    listed: dict[str, str] = {}  # each command's line, its wrapped continuation joined on
    for ln in out.split("命令：")[-1].splitlines():
        if ln[2:3].strip():
            name, _, text = ln.strip().partition(" ")
            listed[name] = text.strip()
        elif ln.strip():
            listed[name] += ln.strip()
    assert list(listed) == list(COMMANDS)
    for name, line in listed.items():
        line, whole = "".join(line.split()), "".join(COMMANDS[name].help.split())  # wrapping ate the spaces
        assert line == whole or (line.endswith("……") and whole.startswith(line.removesuffix("……"))
                                 and len(line) > 12), (name, line)
    cut = [line for line in listed.values() if line.endswith("……")]
    assert len(cut) >= 2 and not any("..." in line for line in listed.values())  # review, confirm: at a clause
    modules, out = run_probe(["statu"], tmp_path)
    assert {f"engine.cli.{m}" for m in COMMAND_MODULES} & modules == set()


def test_every_command_runs_and_helps_through_the_lazy_table(tmp_path: Path) -> None:
    for args in (["--help"], ["register", "--help"], ["archive", "search", "--help"], ["statu"]):
        r = CliRunner().invoke(app, args)
        assert (r.exit_code == 0) == (args != ["statu"]), (args, r.output)
    assert "status" in CliRunner().invoke(app, ["--help"]).output
    assert "--overdue" in CliRunner().invoke(app, ["status", "--help"]).output


@pytest.fixture(scope="module")
def month_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """June 2025 registered, its forms and returned cards filed; the latest card of one inspection a
    scan the inbox read as an image (no 第N次 on record: the review must not parse it again)."""
    ws = init(tmp_path_factory.mktemp("startup") / "ws")
    planted = register_month(ws)
    filed = file_month(ws, planted)
    serial = next(s for s, forms in filed.codes.items() if FormType.CARD_RETURNED in forms)
    card = latest_item(ws, serial, FormType.CARD_RETURNED)
    assert card is not None
    file_item(ws, small_pdf(f"scan {serial}"), ItemMeta(
        form_type=FormType.CARD_RETURNED, title="入企检查监督反馈卡（扫描件）", responsible=card.enterprise,
        date=TODAY, year=2025, serial=serial, enterprise=card.enterprise, uscc=card.uscc, county=card.county,
        original_name="扫描件.pdf", received_at=datetime(2025, 6, 29, 9),
        extra={"read_method": str(ReadMethod.IMAGE), "stated_visit_total": None, "stated_visit_kind": None,
               "serial_read": serial, "codes": []}), actor="clerk")
    return ws


# Each command, and what it prints when it has done its work on the filled workspace.
READ_ONLY = {
    "status": (["status", "--today", "2025-07-20"], ("尚未交回的反馈卡", "140200-2025-")),
    "register": (["register", "--year", "2025"], ("2025年度入企检查台账", "大同市云州区晋北矿业有限公司")),
    # the planted scan: its 第N次 unread, and left so (the review opens no card file to look again)
    "review": (["review", "--today", "2025-06-30"], ("有 1 张已交回的反馈卡未能核对所填的检查次数", "140200-2025-")),
    "archive search": (["archive", "search", "--year", "2025"], ("检索到", "140200-2025-")),
}


@pytest.mark.parametrize("name", list(READ_ONLY))
def test_read_only_commands_load_only_the_database_the_cli_and_the_terminal(month_ws: Workspace, name: str) -> None:
    args, done = READ_ONLY[name]
    modules, out = run_probe(args, month_ws.root)
    assert all(text in out for text in done), out[-2000:]  # the command did its real work
    assert {m.split(".")[0] for m in modules} & set(HEAVY) == set()
    assert third_party(modules) <= READING_NEEDS, third_party(modules) - READING_NEEDS
    parts = NOT_FOR_REGISTER if name in ("status", "register") else NOT_FOR_READING
    assert engine_parts(modules, parts) == set()
    # a SQLite workspace: SQLAlchemy's PostgreSQL dialect (~20 ms) stays unloaded (engine.db.partial_index)
    assert "sqlalchemy.dialects.postgresql" not in modules


def test_help_loads_no_renderer(tmp_path: Path) -> None:
    init(tmp_path / "ws")
    modules = modules_loaded_by(["--help"], tmp_path / "ws")
    assert {m.split(".")[0] for m in modules} & set(HEAVY) == set()


# Collections of the cyclic garbage collector while the command line loads (from the start of
# engine.cli's import until it has its ``main``); whether it is on when the command has run; how many objects are frozen.
_GC_PROBE = """
import gc, json, sys
during = []
def seen(phase, info):
    if phase == "start":
        cli = sys.modules.get("engine.cli")
        if cli is not None and not hasattr(cli, "main"):
            during.append(info["generation"])
gc.callbacks.append(seen)
sys.argv = ["ruqi", *json.loads(sys.argv[1])]
ENTRY
try:
    main()
except SystemExit:
    pass
print("GC=" + json.dumps({"during": len(during), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def gc_probe(entry: str, args: list[str], cwd: Path) -> dict[str, int]:
    r = subprocess.run([sys.executable, "-c", _GC_PROBE.replace("ENTRY", entry), json.dumps(args)], cwd=cwd,
                       capture_output=True, text=True, timeout=120, check=False)
    line = next((ln for ln in r.stdout.splitlines() if ln.startswith("GC=")), None)
    assert line is not None, r.stderr[-2000:]
    return json.loads(line.removeprefix("GC="))


def test_the_ruqi_program_is_the_launcher() -> None:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["ruqi"] == "engine.launch:main"


def test_the_launcher_loads_the_command_line_without_collecting_and_runs_the_command_with_the_collector_on(
        month_ws: Workspace) -> None:
    """Loading SQLAlchemy, typer and the tables makes objects and frees almost none: collecting then
    only costs time.  Through ``engine.cli.main`` directly (as before) the collector runs while they
    load; through the launcher it does not, and what was loaded is frozen before the command runs."""
    args, done = READ_ONLY["status"]
    direct = gc_probe("from engine.cli import main", args, month_ws.root)
    launched = gc_probe("from engine.launch import main", args, month_ws.root)
    assert direct["during"] > 0 and direct["frozen"] == 0
    assert launched["during"] == 0
    assert launched["enabled"] and launched["frozen"] > 0


def test_a_command_closes_the_database_when_it_ends(month_ws: Workspace) -> None:
    """SQLite writes its WAL back into the database file when the last connection closes.  The
    launcher's frozen objects are never collected, so nothing at exit would close a connection they
    reach: the command closes its own (engine.cli.common.run_app)."""
    dispose_engine(month_ws)  # this test process's own connection would keep the WAL
    wal = sqlite_path(month_ws).with_name("ruqi.sqlite-wal")
    args, done = READ_ONLY["status"]
    _modules, out = run_probe(args, month_ws.root)
    assert all(text in out for text in done)
    assert not wal.exists()


def test_read_only_commands_neither_take_nor_wait_for_the_write_lock(month_ws: Workspace) -> None:
    """Another process holds SQLite's write lock (``ruqi generate`` filing a chunk): the four reading
    commands still run at once and see the last commit (they waited for the busy timeout, 30 s, then
    failed with DB_BUSY)."""
    writer = sqlite3.connect(sqlite_path(month_ws), timeout=1, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        for name, (args, done) in READ_ONLY.items():
            r = subprocess.run([sys.executable, "-c", "from engine.launch import main; main()", *args], cwd=month_ws.root,
                               capture_output=True, text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "200"})
            assert r.returncode == 0, (name, r.stderr[-2000:])
            assert all(text in r.stdout for text in done), (name, r.stdout[-2000:])
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_write_while_reading_is_refused_and_the_next_transaction_writes(month_ws: Workspace) -> None:
    with pytest.raises(OperationalError, match="readonly"), reading(), session(month_ws) as s:
        s.execute(text("UPDATE schema_version SET version = version"))
    with session(month_ws) as s:  # the pooled connection writes again (query_only is per transaction)
        s.execute(text("UPDATE schema_version SET version = version"))
