"""The shared register on a real PostgreSQL server: counts across 省/市/县 printed on the card, the race for
the last allowed visit, row-level security, offline generation and sync.  Skipped without PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from _register_fixtures import CITY, COUNTY, join, join_existing, register_database
from _render_fixtures import pdf_text, squash
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError
from test_archive_pg import pg_server  # noqa: F401  (fixture)
from test_dates_numbers import _card_text

from engine import register
from engine.archive import Action, audit_log
from engine.db import session
from engine.db.migrations import BUREAU_GROUP
from engine.findings import RuqiError
from engine.generate import OverCapApproval, RowStatus, Run, generate, record_rows
from engine.identifiers import make_uscc
from engine.inspection import Inspection
from engine.plan import Plan, PlanRow
from engine.register_import import ImportCode, import_visits
from engine.review import ReviewFlag, build_review
from engine.review.stored import stored_counts
from engine.shared_register import (
    RegisterCode,
    enterprise_year,
    pending,
    register_engine,
    role_name,
    setup,
    shared_book,
    sync,
)
from engine.void import void_visit
from engine.workspace import Workspace, init

psycopg = pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def passwords(pg_server: tuple[str, int]) -> tuple[str, int]:  # noqa: F811
    """The throw-away server trusts everyone; bureaus here must prove their password (SCRAM), as on a real server."""
    host, port = pg_server
    hba = Path(host) / "data" / "pg_hba.conf"
    hba.write_text(f"local all +{BUREAU_GROUP} scram-sha-256\n" + hba.read_text())
    with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
        con.execute("SELECT pg_reload_conf()")
    return pg_server


@pytest.fixture
def admin(passwords: tuple[str, int]) -> str:
    return register_database(passwords)


@pytest.fixture
def city(admin: str, tmp_path: Path) -> Workspace:
    return join(tmp_path / "大同市", admin, CITY)


@pytest.fixture
def county(admin: str, tmp_path: Path) -> Workspace:
    return join(tmp_path / "平城区", admin, COUNTY)


def _visit(start: date, kind: str = "执法检查", **more: object) -> dict[str, object]:
    return GOOD | {"开始日期": start, "结束日期": start, "检查类别": kind} | more


def test_city_and_county_count_each_others_visits_on_the_printed_card(city: Workspace, county: Workspace,
                                                                       tmp_path: Path) -> None:
    first = generate(county, _plan(tmp_path / "县1.xlsx", [_visit(date(2025, 3, 10))]), formats=("docx",),
                     today=date(2025, 3, 1))
    second = generate(city, _plan(tmp_path / "市.xlsx", [_visit(date(2025, 4, 8), "督导检查")]),
                      formats=("docx", "pdf"), today=date(2025, 4, 1))
    third = generate(county, _plan(tmp_path / "县2.xlsx", [_visit(date(2025, 5, 12))]), formats=("docx", "pdf"),
                     today=date(2025, 5, 1))
    assert [o.outcomes[0].status for o in (first, second, third)] == [RowStatus.GENERATED] * 3
    assert "第1次入企业检查" in _card_text(first.outcomes[0].files)
    city_card = _card_text(second.outcomes[0].files)
    assert "第2次入企业检查，第1次□执法检查、☑督导检查" in city_card
    county_card = _card_text(third.outcomes[0].files)
    assert "第3次入企业检查，第2次☑执法检查" in county_card
    # The printed PDFs say the same: the county's card counts the city's visit, the city's the county's.
    for made, sentence in ((second, "应急管理部门第2次入企业检查，第1次□执法检查、☑督导检查"),
                           (third, "应急管理部门第3次入企业检查，第2次☑执法检查")):
        pdf = next(p for p in made.outcomes[0].files if p.name.endswith("反馈卡.pdf"))
        assert sentence in squash(pdf_text(pdf)), pdf.name

    # The county's two 执法检查 used the cap (非高危行业 二级: 2 a year): the city is refused a third.
    over = generate(city, _plan(tmp_path / "市2.xlsx", [_visit(date(2025, 6, 3))]), formats=("docx",),
                    today=date(2025, 6, 1))
    assert over.outcomes[0].status is RowStatus.REFUSED
    assert "本年度已执法检查2次" in over.outcomes[0].findings.items[0].message

    rec = enterprise_year(city, GOOD["统一社会信用代码"], 2025)
    assert [(v.level, v.kind, v.numbers) for v in rec.visits] == [("县", "执法检查", (1, 1)), ("市", "督导检查", (2, 1)),
                                                                   ("县", "执法检查", (3, 2))]
    left = {a.kind: a.left for a in rec.allowances}
    assert left == {"执法检查": 0, "督导检查": 2, "调查核查": None}
    # The same look-up as the inspector types it, from the county's workspace.
    from typer.testing import CliRunner

    from engine.cli import app

    r = CliRunner().invoke(app, ["register", "visits", "--uscc", GOOD["统一社会信用代码"], "--year", "2025", "--json",
                                 "-w", str(county.root)])
    looked = json.loads(r.output)
    assert looked["shared"] is True and [(v["level"], v["bureau"], v["visit_total"]) for v in looked["visits"]] == [
        ("县", COUNTY[0], 1), ("市", CITY[0], 2), ("县", COUNTY[0], 3)]
    assert looked["kinds"]["执法检查"] == {"done": 2, "cap": 2, "left": 0, "rule": "执法检查：非高危行业标准化二级企业每年累计不超过2次"}

    # The city books a February visit after the county's March and May cards were printed: it is told so.
    early = generate(city, _plan(tmp_path / "市0.xlsx", [_visit(date(2025, 2, 20), "调查核查")]), formats=("docx",),
                     today=date(2025, 2, 1))
    shifted = [f for f in early.outcomes[0].findings if f.code == RegisterCode.OTHERS_RENUMBERED]
    assert len(shifted) == 1 and first.outcomes[0].serial in shifted[0].message and third.outcomes[0].serial in \
        shifted[0].message and second.outcomes[0].serial not in shifted[0].message
    assert void_visit(city, early.outcomes[0].serial, "计划调整").ok

    # Voiding the county's March visit frees an allowance for everybody.
    assert void_visit(county, first.outcomes[0].serial, "误登记").ok
    again = generate(city, _plan(tmp_path / "市3.xlsx", [_visit(date(2025, 6, 3))]), formats=("docx",),
                     today=date(2025, 6, 1))
    assert again.outcomes[0].status is RowStatus.GENERATED
    assert (again.outcomes[0].inspection.visit_total, again.outcomes[0].inspection.visit_kind) == (3, 2)


def _race_plan(uscc: str, start: date) -> Plan:
    insp = Inspection("大同市云州区鑫源铁矿", uscc, "平城区", "140213", "非煤矿山", "A", "执法检查", "计划", start, start,
                      "张三", ["李四"])
    return Plan(Path("race.xlsx"), [PlanRow(2, insp)])


RACES = 25


def test_the_last_allowed_visit_goes_to_exactly_one_bureau(city: Workspace, county: Workspace) -> None:
    """非煤矿山 A类: one 执法检查 a year.  The city and the county book it at the same instant, many times."""
    winners = []
    for i in range(RACES):
        uscc = make_uscc(f"91140200MA0R{i:04d}X")
        barrier = threading.Barrier(2)
        results: dict[str, RowStatus] = {}

        def book(ws: Workspace, day: int, uscc: str = uscc, barrier: threading.Barrier = barrier,
                 results: dict[str, RowStatus] = results, i: int = i) -> None:
            run = Run(f"race{i}", OverCapApproval(), "", "tester", None, date(2025, 1, 1))
            barrier.wait()
            results[ws.config.level] = record_rows(ws, _race_plan(uscc, date(2025, 3, day)), run)[0].status

        threads = [threading.Thread(target=book, args=(city, 10)), threading.Thread(target=book, args=(county, 11))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == [RowStatus.GENERATED, RowStatus.REFUSED], results
        winners.append(next(level for level, st in results.items() if st is RowStatus.GENERATED))
        assert sum(a.done for a in enterprise_year(city, uscc, 2025).allowances) == 1
    assert len(winners) == RACES


def test_a_bureau_reads_every_visit_but_cannot_change_or_delete_another_bureaus(city: Workspace, county: Workspace,
                                                                                tmp_path: Path) -> None:
    made = generate(city, _plan(tmp_path / "市.xlsx", [_visit(date(2025, 4, 8))]), formats=("docx",),
                    today=date(2025, 4, 1))
    serial = made.outcomes[0].serial
    eng = register_engine(county)
    with eng.connect() as c:  # reading: every bureau's visits
        assert c.execute(text("SELECT bureau_code FROM register_visits WHERE serial = :s"), {"s": serial}).scalar() == "140200"
    # Changing, voiding or taking over the city's visit: the policies hide it from the county's UPDATE.
    for sql in ("UPDATE register_visits SET start = DATE '2025-01-01' WHERE serial = :s",
                "UPDATE register_visits SET voided_at = now() WHERE serial = :s",
                "UPDATE register_visits SET bureau_code = '140213', bureau_level = '县' WHERE serial = :s"):
        with eng.begin() as c:
            assert c.execute(text(sql), {"s": serial}).rowcount == 0, sql
    # Deleting anything, writing a visit under the city's code, or claiming the city's code: refused by the server.
    refusals = ("DELETE FROM register_visits WHERE serial = :s",
                "UPDATE register_bureaus SET division_code = '140200', level = '市' WHERE role_name = current_user",
                "INSERT INTO register_bureaus (division_code, level, name, role_name) "
                "VALUES ('140299', '市', 'x', current_user)",
                "INSERT INTO register_visits (serial, bureau_code, bureau_level, uscc, enterprise, county_code, year, "
                "kind, start, \"end\") VALUES ('140200-2025-9999', '140200', '市', :u, 'x', '140213', 2025, '执法检查', "
                "DATE '2025-05-01', DATE '2025-05-01')")
    for sql in refusals:
        with eng.begin() as c, pytest.raises(DBAPIError) as refused:
            c.execute(text(sql), {"s": serial, "u": GOOD["统一社会信用代码"]})
        assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege), sql
    # Its own visits the county may void (ruqi void does it this way).
    own = generate(county, _plan(tmp_path / "县.xlsx", [_visit(date(2025, 5, 8))]), formats=("docx",),
                   today=date(2025, 5, 1)).outcomes[0].serial
    with eng.begin() as c:
        assert c.execute(text("UPDATE register_visits SET voided_at = now() WHERE serial = :s"), {"s": own}).rowcount == 1
    with eng.connect() as c:
        row = c.execute(text("SELECT start, voided_at, bureau_code FROM register_visits WHERE serial = :s"),
                        {"s": serial}).one()
        assert tuple(row) == (date(2025, 4, 8), None, "140200")
        assert c.execute(text("SELECT count(*) FROM register_visits")).scalar() == 2


def test_unreachable_register_refuses_offline_records_and_sync_reports_the_conflict(
        city: Workspace, county: Workspace, tmp_path: Path) -> None:
    # The county loses its connection: its workspace now names a port nobody listens on.
    toml = county.root / "ruqi.toml"
    good = toml.read_text(encoding="utf-8")
    toml.write_text(good.replace("&port=", "&port=1"), encoding="utf-8")
    cut = Workspace.open(county.root)
    plan = _plan(tmp_path / "县.xlsx", [_visit(date(2025, 5, 12), 行业类别="非煤矿山", 等级="A")])
    refused = generate(cut, plan, formats=("docx",), today=date(2025, 5, 1))
    assert [f.code for f in refused.plan_findings] == [RegisterCode.UNREACHABLE] and not refused.outcomes
    assert "--offline" in refused.plan_findings.items[0].message

    offline = generate(cut, plan, formats=("docx",), today=date(2025, 5, 1), offline=True)
    o = offline.outcomes[0]
    assert o.status is RowStatus.GENERATED and RegisterCode.OFFLINE in [f.code for f in o.findings]
    assert "第1次入企业检查" in _card_text(o.files)

    # Meanwhile the city books the enterprise's one allowed 执法检查 (非煤矿山 A类).
    city_plan = _plan(tmp_path / "市.xlsx", [_visit(date(2025, 5, 6), 行业类别="非煤矿山", 等级="A")])
    assert generate(city, city_plan, formats=("docx",), today=date(2025, 5, 1)).outcomes[0].status is RowStatus.GENERATED

    toml.write_text(good, encoding="utf-8")  # back online
    back = Workspace.open(county.root)
    res = sync(back)
    assert [p.serial for p in res.conflicts] == [o.serial]
    assert "补报时超过年度入企次数上限" in res.conflicts[0].conflict and res.pushed[0].now == (2, 2)
    with session(back) as s:
        v = register.by_serial(s, o.serial)
        assert v is not None and v.register_state == register.RegisterState.CONFLICT
    flagged = build_review(back, today=date(2025, 6, 1)).entry(o.serial)
    assert flagged is not None and ReviewFlag.SYNC_OVER_CAP in flagged.flags
    # The stored review (首页, the 审查 page's counts) sees the change sync made too.
    counted = stored_counts(back, today=date(2025, 6, 1))
    assert (counted.sync_over_cap, counted.cross_county) == (1, 0)
    assert sync(back).pushed == []  # nothing left to push
    assert [e.details["conflicts"] for e in audit_log(back) if e.action == Action.REGISTER_SYNC] == [[o.serial]]
    rec = enterprise_year(city, GOOD["统一社会信用代码"], 2025)
    assert [(v.level, v.source, bool(v.conflict)) for v in rec.visits] == [("市", "ruqi", False), ("县", "offline", True)]


def test_generate_refuses_a_bureau_whose_role_is_another_bureaus(admin: str, city: Workspace, county: Workspace,
                                                                 tmp_path: Path) -> None:
    toml = county.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('division_code = "140213"', 'division_code = "140215"')
                    .replace("平城区应急管理局", "云州区应急管理局"), encoding="utf-8")
    res = generate(Workspace.open(county.root), _plan(tmp_path / "p.xlsx", [_visit(date(2025, 5, 12))]), formats=("docx",))
    assert [f.code for f in res.plan_findings] == [RegisterCode.WRONG_BUREAU] and not res.outcomes


def test_a_wrong_password_is_refused_by_the_server(county: Workspace, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    secret = county.root / "register.pass"
    right = secret.read_text(encoding="utf-8").strip()
    secret.write_text("not-the-password\n", encoding="utf-8")
    plan = _plan(tmp_path / "p.xlsx", [_visit(date(2025, 5, 12))])
    res = generate(Workspace.open(county.root), plan, formats=("docx",), today=date(2025, 5, 1))
    assert [f.code for f in res.plan_findings] == [RegisterCode.UNREACHABLE] and not res.outcomes
    assert "password authentication failed" in res.plan_findings.items[0].message
    # Without password_file the password comes from RUQI_REGISTER_PASSWORD.
    toml = county.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('password_file = "register.pass"\n', ""), encoding="utf-8")
    secret.unlink()
    monkeypatch.setenv("RUQI_REGISTER_PASSWORD", right)
    res = generate(Workspace.open(county.root), plan, formats=("docx",), today=date(2025, 5, 1))
    assert res.outcomes[0].status is RowStatus.GENERATED and res.outcomes[0].serial == "140213-2025-0001"


def test_import_books_this_bureaus_outside_visits_and_refuses_other_units_rows(city: Workspace, county: Workspace,
                                                                              tmp_path: Path) -> None:
    from test_register_local import _visit_list

    printed = generate(county, _plan(tmp_path / "县.xlsx", [_visit(date(2025, 3, 15))]), formats=("docx",),
                       today=date(2025, 3, 1)).outcomes[0]
    assert "第1次入企业检查，第1次☑执法检查" in _card_text(printed.files)
    xlsx = _visit_list(tmp_path / "互联网+执法.xlsx", [
        [GOOD["企业名称"], GOOD["统一社会信用代码"], "执法检查", date(2025, 2, 10), None, "大同市平城区应急管理局", "县", "", ""],
        [GOOD["企业名称"], GOOD["统一社会信用代码"], "督导检查", date(2025, 2, 20), None, "大同市应急管理局", "市", "", ""],
        [GOOD["企业名称"], "9114", "执法检查", date(2025, 2, 21), None, "", "", "", ""],
        # 互联网+执法 lists the visit ruqi printed too: it is not counted twice.
        [GOOD["企业名称"], GOOD["统一社会信用代码"], "执法检查", date(2025, 3, 15), None, "大同市平城区应急管理局", "县", "", ""],
    ])
    res = import_visits(county, xlsx)
    assert (res.imported, res.rejected, res.duplicates) == ([3], 2, 1), [f.message for f in res.findings]
    assert [f.code for f in res.findings] == [ImportCode.OTHER_UNIT, ImportCode.USCC, ImportCode.SHIFTS_CARDS]
    assert printed.serial in res.findings.items[2].message and res.findings.items[2].where == "第3行"
    assert import_visits(county, xlsx).imported == []  # the same file again: already booked
    made = generate(city, _plan(tmp_path / "市.xlsx", [_visit(date(2025, 4, 8), "督导检查")]), formats=("docx",),
                    today=date(2025, 4, 1))
    assert (made.outcomes[0].inspection.visit_total, made.outcomes[0].inspection.visit_kind) == (3, 1)
    assert [(v.level, v.source) for v in enterprise_year(city, GOOD["统一社会信用代码"], 2025).visits] == [
        ("县", "import"), ("县", "ruqi"), ("市", "ruqi")]


def test_an_upgrade_waits_for_no_bureau_and_runs_once_they_are_done(admin: str, city: Workspace, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A later schema step (here: a new nullable column) while a bureau is in the middle of a transaction:
    the upgrade gives up after the lock timeout instead of stalling every bureau, and runs the next time."""
    from engine.db import migrations

    def _r3_note(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute(text("ALTER TABLE register_visits ADD COLUMN note varchar(200)"))

    monkeypatch.setattr(migrations, "REGISTER_MIGRATIONS", [*migrations.REGISTER_MIGRATIONS, _r3_note])
    monkeypatch.setattr(migrations, "REGISTER_LOCK_TIMEOUT", "300ms")
    generate(city, _plan(tmp_path / "市.xlsx", [_visit(date(2025, 4, 8))]), formats=("docx",), today=date(2025, 4, 1))
    eng = register_engine(city)
    with eng.connect() as busy:
        busy.begin()
        busy.execute(text("SELECT count(*) FROM register_visits"))  # the bureau's transaction holds its read lock
        with pytest.raises(RuqiError) as e:
            setup(admin)
        assert e.value.finding.code == RegisterCode.BUSY
        assert busy.execute(text("SELECT count(*) FROM register_visits")).scalar() == 1  # undisturbed
        busy.rollback()
    assert setup(admin) == (2, 3)
    assert setup(admin) == (3, 3)
    again = generate(city, _plan(tmp_path / "市2.xlsx", [_visit(date(2025, 5, 8))]), formats=("docx",),
                     today=date(2025, 5, 1))
    assert again.outcomes[0].inspection.visit_total == 2


def test_the_administrator_sets_up_the_register_and_adds_a_bureau_on_the_command_line(
        passwords: tuple[str, int], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from engine.cli import app

    host, port = passwords
    with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
        con.execute('CREATE DATABASE "ruqi_cli_register"')
    admin = f"postgresql://ruqi@/ruqi_cli_register?host={host}&port={port}"
    run = CliRunner().invoke
    assert "已建立共享台账（第2版）" in run(app, ["register", "setup", admin]).output
    assert "已是最新版本（第2版）" in run(app, ["register", "setup", admin]).output
    secret = tmp_path / "平城区-register.pass"
    r = run(app, ["register", "add-bureau", admin, "--name", "大同市平城区应急管理局", "--level", "县",
                  "--division-code", "140213", "--password-out", str(secret)])
    assert r.exit_code == 0, r.output
    assert "[register]" in r.output and 'url = "postgresql://ruqi_cli_register_140213@/ruqi_cli_register?host=' in r.output
    assert secret.stat().st_mode & 0o777 == 0o600 and secret.read_text().strip() not in r.output
    bad = run(app, ["register", "add-bureau", admin, "--name", "某局", "--level", "乡", "--division-code", "1402"])
    assert isinstance(bad.exception, RuqiError) and bad.exception.finding.code == RegisterCode.BAD_BUREAU


_CHMODS: list[str] = []  # paths os.chmod was called on, while a test listens (an audit hook stays for good)
_LISTENING: list[bool] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if _LISTENING and event == "os.chmod":
        _CHMODS.append(str(args[0]))


sys.addaudithook(_audit)


def test_the_password_file_is_private_from_its_creation_and_never_replaced(
        passwords: tuple[str, int], tmp_path: Path) -> None:
    """Written with mode 600 from the start (no chmod afterwards: the password was readable by others
    in between); an existing file is refused before any account is set up."""
    from typer.testing import CliRunner

    from engine.cli import app
    from engine.cli.common import CliCode

    admin = register_database(passwords)
    run = CliRunner().invoke
    secret = tmp_path / "平城区-register.pass"
    old_umask = os.umask(0o022)  # a clerk's usual umask: a plain open() would make the file world-readable
    _LISTENING.append(True)
    try:
        r = run(app, ["register", "add-bureau", admin, "--name", "大同市平城区应急管理局", "--level", "县",
                      "--division-code", "140213", "--password-out", str(secret)])
    finally:
        _LISTENING.clear()
        os.umask(old_umask)
    assert r.exit_code == 0, r.output
    assert secret.stat().st_mode & 0o777 == 0o600 and str(secret) not in _CHMODS
    password = secret.read_bytes()
    assert len(password.strip()) >= 24

    again = run(app, ["register", "add-bureau", admin, "--name", "大同市云冈区应急管理局", "--level", "县",
                      "--division-code", "140214", "--password-out", str(secret)])
    assert isinstance(again.exception, RuqiError) and again.exception.finding.code == CliCode.PASSWORD_FILE_EXISTS
    assert "已存在" in again.exception.finding.message and "没有建立账号" in again.exception.finding.message
    assert secret.read_bytes() == password  # the first bureau's password is kept
    host, port = passwords
    dbname = make_url(admin).database
    with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
        roles = {r[0] for r in con.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{dbname}%",))}
    assert roles == {role_name(dbname, "140213")}  # no account whose password had nowhere to go


def test_an_existing_password_file_is_refused_before_the_server_is_asked(tmp_path: Path) -> None:
    from engine.cli.common import CliCode

    secret = tmp_path / "register.pass"
    secret.write_text("另一个单位的密码\n", encoding="utf-8")
    link = tmp_path / "link.pass"
    link.symlink_to(tmp_path / "nowhere")  # a dangling link would be followed by open(): refused too
    for target in (secret, link):
        r = subprocess.run([sys.executable, "-c", "from engine.launch import main; main()", "register", "add-bureau",
                            "postgresql://ruqi@/none?host=/nonexistent&port=1", "--name", "大同市平城区应急管理局",
                            "--level", "县", "--division-code", "140213", "--password-out", str(target)],
                           capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 2, r.stderr
        said = r.stderr.replace("\n", "")  # wrapped at 80 columns wherever the temporary path's length puts the break
        assert CliCode.PASSWORD_FILE_EXISTS in said and "已存在" in said and "Traceback" not in said
    assert secret.read_text(encoding="utf-8") == "另一个单位的密码\n"
    assert not (tmp_path / "nowhere").exists()


def test_a_serial_withdrawn_with_its_failed_documents_is_booked_again(county: Workspace) -> None:
    """generate withdraws the visit of a row whose documents failed; the serial is issued again next time
    and must count in the shared register again."""
    from engine.generate import withdraw_failed

    uscc = make_uscc("91140200MA0W0001X")
    run = Run("w", OverCapApproval(), "", "tester", None, date(2025, 1, 1))
    first = record_rows(county, _race_plan(uscc, date(2025, 3, 10)), run)[0]
    first.status = RowStatus.INVALID  # as render_rows marks a row whose forms failed
    withdraw_failed(county, [first], county.outbox / "w")
    assert enterprise_year(county, uscc, 2025).visits == ()
    again = record_rows(county, _race_plan(uscc, date(2025, 3, 10)), run)[0]
    assert again.status is RowStatus.GENERATED and again.serial == "140213-2025-0001"
    assert [v.serial for v in enterprise_year(county, uscc, 2025).visits] == ["140213-2025-0001"]


def test_a_workspace_database_error_inside_a_shared_transaction_is_not_called_the_register_unreachable(
        county: Workspace) -> None:
    """generate books in the shared register and records in the workspace's SQLite in one block: a failure of
    the SQLite must reach generate as the database error it is (busy, disk full …), and book nothing."""
    from sqlalchemy.exc import OperationalError

    from engine.db import get_engine
    from engine.register import Visit

    uscc = make_uscc("91140200MA0D0001X")
    insp = _race_plan(uscc, date(2025, 3, 10)).rows[0].inspection
    with pytest.raises(OperationalError), shared_book(county) as book:
        book.book(Visit(serial="140213-2025-0099", uscc=uscc, enterprise=insp.enterprise, county_code="140213",
                        year=2025, kind="执法检查", start=insp.start, end=insp.end))
        with get_engine(county).connect() as c:
            c.execute(text("INSERT INTO no_such_table VALUES (1)"))
    assert enterprise_year(county, uscc, 2025).visits == ()


def test_a_county_that_used_ruqi_alone_joins_and_its_earlier_visits_count_for_every_bureau(
        admin: str, city: Workspace, tmp_path: Path) -> None:
    alone = init(tmp_path / "平城区", name=COUNTY[0], level=COUNTY[1], division_code=COUNTY[2])
    march, may = (generate(alone, _plan(tmp_path / f"县{m}.xlsx", [_visit(date(2025, m, d))]), formats=("docx",),
                           today=date(2025, m, 1)).outcomes[0] for m, d in ((3, 10), (5, 12)))
    # Meanwhile the city, already on the shared register, cannot see them: its April card says 第1次.
    april = generate(city, _plan(tmp_path / "市.xlsx", [_visit(date(2025, 4, 8))]), formats=("docx",),
                     today=date(2025, 4, 1)).outcomes[0]
    assert (april.inspection.visit_total, [m.inspection.visit_total for m in (march, may)]) == (1, [1, 2])

    joined = join_existing(alone, admin, COUNTY)
    assert pending(joined)
    res = sync(joined)
    assert [p.serial for p in res.pushed] == [march.serial, may.serial]
    # 非高危行业 二级: 2 执法检查 a year; the county's May visit turns out to be the third.
    assert [p.serial for p in res.conflicts] == [may.serial] and "加入共享台账前登记的检查" in res.conflicts[0].conflict
    assert not pending(joined) and sync(joined).pushed == []
    flagged = build_review(joined, today=date(2025, 6, 1)).entry(may.serial)
    assert flagged is not None and ReviewFlag.SYNC_OVER_CAP in flagged.flags
    rec = enterprise_year(city, GOOD["统一社会信用代码"], 2025)
    assert [(v.serial, v.numbers) for v in rec.visits] == [(march.serial, (1, 1)), (april.serial, (2, 2)),
                                                           (may.serial, (3, 3))]
    later = generate(city, _plan(tmp_path / "市2.xlsx", [_visit(date(2025, 6, 3), "督导检查")]), formats=("docx",),
                     today=date(2025, 6, 1)).outcomes[0]
    assert (later.inspection.visit_total, later.inspection.visit_kind) == (4, 1)
