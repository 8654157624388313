"""The register without a shared server: jurisdiction of a 县 bureau, visits imported from a spreadsheet,
the look-up before entering, the [register] settings, and a shared register that cannot be reached."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from engine import register
from engine.archive import Action, audit_log
from engine.cli import app
from engine.db import session
from engine.findings import RuqiError
from engine.generate import RowStatus, generate
from engine.identifiers import USCC_INVALID
from engine.jurisdiction import JurisdictionCode
from engine.register_import import ImportCode, import_visits
from engine.review import ReviewFlag, build_review
from engine.review.stored import stored_counts
from engine.shared_register import RegisterCode, enterprise_year, register_engine
from engine.workspace import ConfigCode, Workspace, init

YUNZHOU_FIRM = GOOD | {"企业名称": "大同市云州区鑫源铁矿", "统一社会信用代码": "91140200MA0K123454", "所属县区": "云州区"}


@pytest.fixture
def county(tmp_path: Path) -> Workspace:
    return init(tmp_path / "平城区", name="大同市平城区应急管理局", level="县", division_code="140213")


def test_a_county_is_refused_an_enterprise_of_another_county_unless_the_row_names_the_reason(
        county: Workspace, tmp_path: Path) -> None:
    rows = [YUNZHOU_FIRM | {"开始日期": date(2025, 4, 1), "结束日期": date(2025, 4, 1)},
            YUNZHOU_FIRM | {"开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6), "跨县区事由": "异地交叉检查"},
            YUNZHOU_FIRM | {"开始日期": date(2025, 6, 3), "结束日期": date(2025, 6, 3), "跨县区事由": "顺路看看"},
            GOOD | {"开始日期": date(2025, 7, 1), "结束日期": date(2025, 7, 1)}]
    res = generate(county, _plan(tmp_path / "计划.xlsx", rows), formats=("docx",), today=date(2025, 3, 1))
    refused, crossed, unknown, own = res.outcomes
    assert refused.status is RowStatus.INVALID
    assert [f.code for f in refused.findings] == [JurisdictionCode.OUTSIDE_COUNTY]
    assert "云州区" in refused.findings.items[0].message and "跨县区事由" in refused.findings.items[0].message
    assert unknown.status is RowStatus.INVALID and [f.code for f in unknown.findings] == [JurisdictionCode.REASON_UNKNOWN]
    assert (crossed.status, own.status) == (RowStatus.GENERATED, RowStatus.GENERATED)
    with session(county) as s:
        v = register.by_serial(s, crossed.serial)
        assert v is not None and v.cross_reason == "异地交叉检查"
    review = build_review(county, today=date(2025, 8, 1))
    assert [e.serial for e in review.entries if ReviewFlag.CROSS_COUNTY in e.flags] == [crossed.serial]
    # The 纪委 list as the 纪委 reads it: on screen, in the workbook and as JSON, with the reason.
    out = tmp_path / "审查清单.xlsx"
    r = CliRunner().invoke(app, ["review", "--today", "2025-08-01", "--out", str(out), "-w", str(county.root)],
                           env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    assert "跨县区检查和补报时超上限（1）" in r.output and "跨县区事由：异地交叉检查" in r.output
    sheets = {sh.title: [[c for c in row if c] for row in sh.iter_rows(values_only=True)] for sh in load_workbook(out)}
    listed = next(rows for title, rows in sheets.items() if title.startswith("跨县区检查"))
    assert any(crossed.serial in row and "跨县区事由：异地交叉检查" in row for row in listed)
    r = CliRunner().invoke(app, ["review", "--today", "2025-08-01", "--json", "-w", str(county.root)])
    entries = {e["serial"]: e for e in json.loads(r.output)["entries"]}
    assert entries[crossed.serial]["cross_reason"] == "异地交叉检查" and entries[own.serial]["cross_reason"] is None
    assert stored_counts(county, today=date(2025, 8, 1)).cross_county == 1
    # A city bureau inspects in all its counties by office.
    city = init(tmp_path / "大同市")
    assert generate(city, _plan(tmp_path / "市.xlsx", rows[:1]), formats=("docx",),
                    today=date(2025, 3, 1)).outcomes[0].status is RowStatus.GENERATED


def _visit_list(path: Path, rows: list[list[object]]) -> Path:
    wb = Workbook()
    sh = wb.active
    sh.append(["互联网+执法系统导出的检查记录"])
    sh.append(["序号", "企业名称", "统一社会信用代码", "检查类别", "检查日期", "结束日期", "检查单位", "单位级别", "行业类别", "等级"])
    for i, r in enumerate(rows, start=1):
        sh.append([i, *r])
    wb.save(path)
    return path


FIRM, USCC = GOOD["企业名称"], GOOD["统一社会信用代码"]


def test_import_outside_visits_counts_them_and_explains_every_rejected_row(tmp_path: Path) -> None:
    ws = init(tmp_path / "大同市")
    xlsx = _visit_list(tmp_path / "互联网+执法.xlsx", [
        [FIRM, USCC, "执法检查", date(2025, 2, 10), None, "大同市平城区应急管理局", "县", "非高危行业", "二级"],
        [FIRM, USCC, "督导检查", "2025.3.5", "2025.3.6", "山西省应急管理厅", "省级", "", ""],
        [FIRM, "91140200MA0K123455", "执法检查", date(2025, 2, 11), None, "平城区", "县", "", ""],  # check digit
        [FIRM, USCC, "帮扶指导", date(2025, 2, 12), None, "平城区", "县", "", ""],
        [FIRM, USCC, "执法检查", "三月初", None, "平城区", "县", "", ""],
        ["", USCC, "执法检查", date(2025, 4, 2), date(2025, 4, 1), "平城区", "乡", "", ""],
        [FIRM, USCC, "执法检查", date(2025, 2, 10), None, "大同市平城区应急管理局", "县", "非高危行业", "二级"],  # again
    ])
    res = import_visits(ws, xlsx)
    assert (res.rows, res.imported, res.rejected, res.duplicates) == (7, [3, 4], 4, 1)
    by_row = {}
    for f in res.findings:
        by_row.setdefault(f.where.split(" ")[0], []).append(f.code)
    assert by_row == {"第5行": [ImportCode.USCC], "第6行": [ImportCode.KIND], "第7行": [ImportCode.DATE],
                      "第8行": [ImportCode.REQUIRED, ImportCode.DATE, ImportCode.LEVEL], "第9行": [ImportCode.DUPLICATE]}
    assert "第8行 单位级别（H列）" in [f.where for f in res.findings]
    assert import_visits(ws, xlsx).imported == []  # a second import changes nothing
    logged = [e for e in audit_log(ws) if e.action == Action.REGISTER_IMPORT]
    assert [(e.object, e.details["imported"], e.details["rejected"]) for e in logged] == [(xlsx.name, [3, 4], 4)]

    # The city's own visit is numbered after the two imported ones, and the cap counts them.
    plan = _plan(tmp_path / "计划.xlsx", [GOOD | {"开始日期": date(2025, 4, 8), "结束日期": date(2025, 4, 8)},
                                        GOOD | {"开始日期": date(2025, 5, 8), "结束日期": date(2025, 5, 8)}])
    made = generate(ws, plan, formats=("docx",), today=date(2025, 4, 1))
    assert [(o.status, o.inspection.visit_total if o.status is RowStatus.GENERATED else None) for o in made.outcomes] == [
        (RowStatus.GENERATED, 3), (RowStatus.REFUSED, None)]
    rec = enterprise_year(ws, USCC, 2025)
    assert [(v.level, v.source, v.numbers) for v in rec.visits] == [
        ("县", "import", (1, 1)), ("省", "import", (2, 1)), ("市", "local", (3, 2))]
    # A visit found later on paper, dated before the printed card: the clerk is told which card is now wrong.
    late = import_visits(ws, _visit_list(tmp_path / "补录.xlsx", [
        [FIRM, USCC, "调查核查", date(2025, 3, 20), None, "大同市云冈区应急管理局", "县", "", ""]]))
    assert late.imported == [3] and [f.code for f in late.findings] == [ImportCode.SHIFTS_CARDS]
    assert made.outcomes[0].serial in late.findings.items[0].message


def test_import_of_a_file_that_is_not_a_visit_list(tmp_path: Path) -> None:
    ws = init(tmp_path / "ws")
    junk = tmp_path / "x.xlsx"
    junk.write_bytes(b"not a workbook")
    assert [f.code for f in import_visits(ws, junk).findings] == [ImportCode.UNREADABLE]
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    wb.save(tmp_path / "通讯录.xlsx")
    assert [f.code for f in import_visits(ws, tmp_path / "通讯录.xlsx").findings] == [ImportCode.NOT_A_LIST]


def test_visits_lookup_on_the_command_line(tmp_path: Path) -> None:
    ws = init(tmp_path / "ws")
    generate(ws, _plan(tmp_path / "p.xlsx", [GOOD]), formats=("docx",), today=date(2025, 3, 1))
    r = CliRunner().invoke(app, ["register", "visits", "--uscc", USCC, "--year", "2025", "--json", "-w", str(ws.root)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["kinds"]["执法检查"] == {"done": 1, "cap": 2, "left": 1, "rule": "执法检查：非高危行业标准化二级企业每年累计不超过2次"}
    assert data["shared"] is False and [v["visit_total"] for v in data["visits"]] == [1]
    r = CliRunner().invoke(app, ["register", "visits", "--uscc", USCC, "--year", "2025", "-w", str(ws.root)])
    assert "执法检查：已 1 次，还可 1 次（上限 2 次）" in r.output
    # A mistyped code (check digit) is refused, not answered with "no visits, full allowance".
    r = CliRunner().invoke(app, ["register", "visits", "--uscc", USCC[:-1] + "5", "-w", str(ws.root)])
    assert isinstance(r.exception, RuqiError) and r.exception.finding.code == USCC_INVALID
    assert "第18位应为“4”" in r.exception.finding.message and r.exception.finding.where == "--uscc"


def _with_register(ws: Workspace, lines: str) -> Path:
    toml = ws.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n[register]\n" + lines, encoding="utf-8")
    return ws.root


def test_register_settings_refuse_a_password_in_the_toml_and_a_password_file_others_can_read(
        county: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _with_register(county, 'url = "postgresql://ruqi_register_140213@127.0.0.1:1/ruqi_register"\n'
                                  'password = "123456"\n')
    with pytest.raises(RuqiError) as e:
        Workspace.open(root)
    assert [f.code for f in e.value.findings] == [ConfigCode.BAD_VALUE] and "不能写在 ruqi.toml" in e.value.finding.message
    assert "123456" not in e.value.finding.message  # not printed back on the screen either
    toml = root / "ruqi.toml"
    # Nor in the url: not as user:password, not as a connection option libpq would read.
    written = toml.read_text(encoding="utf-8")
    base = written[:written.rindex("\n[register]") + 1]
    for url in ("postgresql://ruqi_register_140213:123456@127.0.0.1:1/ruqi_register",
                "postgresql://ruqi_register_140213@127.0.0.1:1/ruqi_register?sslmode=require&Password=123456"):
        toml.write_text(f'{base}[register]\nurl = "{url}"\n', encoding="utf-8")
        with pytest.raises(RuqiError) as e:
            Workspace.open(root)
        assert [f.code for f in e.value.findings] == [ConfigCode.BAD_VALUE] and "123456" not in e.value.finding.message
    toml.write_text(written, encoding="utf-8")
    toml.write_text(toml.read_text(encoding="utf-8").replace('password = "123456"', 'password_file = "register.pass"'),
                    encoding="utf-8")
    secret = root / "register.pass"
    secret.write_text("123456\n", encoding="utf-8")
    secret.chmod(0o644)
    with pytest.raises(RuqiError) as e:
        register_engine(Workspace.open(root))
    assert e.value.finding.code == RegisterCode.PASSWORD_FILE_OPEN and "chmod 600" in e.value.finding.message
    toml.write_text(toml.read_text(encoding="utf-8").replace('password_file = "register.pass"\n', ""), encoding="utf-8")
    monkeypatch.delenv("RUQI_REGISTER_PASSWORD", raising=False)
    with pytest.raises(RuqiError) as e:
        register_engine(Workspace.open(root))
    assert e.value.finding.code == RegisterCode.NO_PASSWORD and "RUQI_REGISTER_PASSWORD" in e.value.finding.message


def test_an_unreachable_register_refuses_generate_and_offline_records_unconfirmed(
        county: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    root = _with_register(county, 'url = "postgresql://ruqi_register_140213@127.0.0.1:1/ruqi_register"\n')
    monkeypatch.setenv("RUQI_REGISTER_PASSWORD", "secret")
    ws = Workspace.open(root)
    plan = _plan(tmp_path / "p.xlsx", [GOOD])
    refused = generate(ws, plan, formats=("docx",), today=date(2025, 3, 1))
    assert [f.code for f in refused.plan_findings] == [RegisterCode.UNREACHABLE] and refused.outcomes == []
    assert "secret" not in refused.plan_findings.items[0].message
    with session(ws) as s:
        assert register.by_serial(s, "140213-2025-0001") is None
    offline = generate(ws, plan, formats=("docx",), today=date(2025, 3, 1), offline=True)
    assert offline.outcomes[0].status is RowStatus.GENERATED
    with session(ws) as s:
        v = register.by_serial(s, offline.outcomes[0].serial)
        assert v is not None and v.register_state == register.RegisterState.UNCONFIRMED
    r = CliRunner().invoke(app, ["register", "sync", "-w", str(root)], env={"COLUMNS": "300"})
    assert r.exit_code == 1 and RegisterCode.UNREACHABLE in r.output
    assert "--offline" not in r.output and "没有在共享台账登记或更改任何内容" in r.output  # generate's advice is generate's


def test_a_locked_local_register_is_busy_not_damaged(tmp_path: Path) -> None:
    """Many processes on one SQLite register (benchmarks/bench_register.py): one that waits past the busy
    timeout is told to try again, not that its database is damaged."""
    import sqlite3

    from sqlalchemy import create_engine
    from sqlalchemy import text as sql
    from sqlalchemy.exc import OperationalError

    from engine.db import DbCode, database_finding

    ws = init(tmp_path / "ws")
    path = ws.archive / "ruqi.sqlite"
    generate(ws, _plan(tmp_path / "p.xlsx", [GOOD]), formats=("docx",), today=date(2025, 3, 1))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        waiter = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
        with pytest.raises(OperationalError) as locked, waiter.connect() as c:
            c.execute(sql("INSERT INTO schema_version (version) VALUES (99)"))
            c.commit()
        f = database_finding(locked.value, str(path))
        assert f.code == DbCode.BUSY and "稍后重试" in f.message and "repair" not in f.message
        waiter.dispose()
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_migration_10_upgrades_a_filled_workspace(tmp_path: Path) -> None:
    """A workspace as migration 9 left it, with visits: it gains the shared-register columns, the import table
    and the serial index, keeps its visits (numbered by this workspace: register_state NULL) and counts on."""
    import sqlite3

    from sqlalchemy import inspect as reflect

    from engine.db import dispose_engine, get_engine

    ws = init(tmp_path / "ws")
    made = generate(ws, _plan(tmp_path / "p.xlsx", [GOOD]), formats=("docx",), today=date(2025, 3, 1))
    dispose_engine(ws)
    db = sqlite3.connect(ws.archive / "ruqi.sqlite")
    db.executescript("DROP TABLE outside_visits; DROP INDEX ix_visits_year_seq; ALTER TABLE visits DROP COLUMN "
                     "register_state; ALTER TABLE visits DROP COLUMN register_note; ALTER TABLE visits DROP COLUMN "
                     "cross_reason; DELETE FROM schema_version WHERE version >= 10;")
    db.close()
    with get_engine(ws).connect() as c:
        cols = {x["name"] for x in reflect(c).get_columns("visits")}
        assert {"register_state", "register_note", "cross_reason"} <= cols
        assert "ix_visits_year_seq" in {x["name"] for x in reflect(c).get_indexes("visits")}
        assert "outside_visits" in reflect(c).get_table_names()
    with session(ws) as s:
        v = register.by_serial(s, made.outcomes[0].serial)
        assert v is not None and v.register_state is None and v.visit_total == 1
    later = generate(ws, _plan(tmp_path / "p2.xlsx", [GOOD | {"开始日期": date(2025, 6, 2), "结束日期": date(2025, 6, 2)}]),
                     formats=("docx",), today=date(2025, 6, 1))
    assert (later.outcomes[0].serial, later.outcomes[0].inspection.visit_total) == ("140200-2025-0002", 2)


def test_a_workspace_without_register_needs_no_postgresql_at_all(tmp_path: Path) -> None:
    """The demo's case: no [register], and no PostgreSQL driver importable (as on a machine without it)."""
    import subprocess
    import sys

    ws = init(tmp_path / "ws")
    plan = _plan(tmp_path / "p.xlsx", [GOOD | {"开始日期": date(2025, 4, 8), "结束日期": date(2025, 4, 8)}])
    script = ("import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None; from engine.cli import main; "
              "sys.argv = ['ruqi', *sys.argv[1:]]; main()")
    for args in (["generate", "--plan", str(plan), "--formats", "docx", "--issue-date", "2025-04-01"],
                 ["register", "visits", "--uscc", USCC, "--year", "2025", "--json"],
                 ["register", "--year", "2025", "--json"], ["review", "--json"]):
        r = subprocess.run([sys.executable, "-c", script, *args, "-w", str(ws.root)], capture_output=True, text=True,
                           env={**os.environ, "COLUMNS": "200"})
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    assert json.loads(r.stdout)["entries"][0]["visit_total"] == 1
