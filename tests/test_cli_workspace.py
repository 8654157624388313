"""The clerk's first steps through the CLI: init, plan-template, generate, register; and the demo."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine.accounts import authenticate
from engine.cli import app, common
from engine.demo import DEMO_MARK, DEMO_PASSWORD, DEMO_USERS, fresh_folder, run_demo
from engine.findings import RuqiError
from engine.workspace import Workspace

runner = CliRunner()


def test_init_is_idempotent_and_keeps_the_clerks_edits(tmp_path: Path) -> None:
    ws_dir = tmp_path / "大同"
    r = runner.invoke(app, ["init", str(ws_dir)])
    assert r.exit_code == 0 and "工作目录已就绪" in r.stdout
    cfg = ws_dir / "ruqi.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("0352-12350", "0352-7654321"), encoding="utf-8")
    key = (ws_dir / "ruqi.key").read_bytes()
    assert runner.invoke(app, ["init", str(ws_dir)]).exit_code == 0
    ws = Workspace.open(ws_dir)
    assert (ws.config.report_phone, ws.key) == ("0352-7654321", key)
    assert all((ws_dir / d).is_dir() for d in ("inbox", "outbox", "archive"))


def test_not_a_workspace_is_one_chinese_line(tmp_path: Path) -> None:
    r = runner.invoke(app, ["register", "--workspace", str(tmp_path)])
    assert r.exit_code != 0
    assert "Traceback" not in r.output


def test_plan_template_generate_register(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tpl = tmp_path / "计划.xlsx"
    assert runner.invoke(app, ["plan-template", str(tpl)]).exit_code == 0
    assert load_workbook(tpl)["检查计划"]["A1"].value == "企业名称"
    rows = [GOOD | {"开始日期": date(2025, m, 3), "结束日期": date(2025, m, 3)} for m in (3, 5, 7)]
    rows.append(GOOD | {"检查类别": "调查核查", "开始日期": date(2025, 8, 1), "结束日期": date(2025, 8, 1)})
    plan = _plan(tmp_path / "plan.xlsx", rows)
    r = runner.invoke(app, ["generate", "--plan", str(plan), "--formats", "docx", "-w", str(ws.root)])
    assert r.exit_code == 1  # the third 执法检查 is over the 二级 cap of 2
    assert "超次数未生成" in r.stdout and "不超过2次" in r.stdout

    out = tmp_path / "台账.xlsx"
    r = runner.invoke(app, ["register", "--year", "2025", "--out", str(out), "-w", str(ws.root)])
    assert r.exit_code == 0 and "2/2" in r.stdout
    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert (row["执法检查次数"], row["执法检查上限"], row["执法检查剩余"], row["调查核查次数"], row["调查核查上限"]) == (
        2, 2, 0, 1, "不限")

    r = runner.invoke(app, ["register", "--year", "2025", "--json", "-w", str(ws.root)])
    data = json.loads(r.stdout.splitlines()[0])
    assert data["kinds"]["督导检查"] == {"done": 0, "cap": 3, "left": 3}


@pytest.mark.slow  # ~1/5 of the suite: `-m "not slow"` skips it locally; CI (.ci/run) runs every test
def test_demo_runs_the_whole_job(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "200")  # rich reads it per call: no line wrapping inside the sentences checked
    assert run_demo(tmp_path / "demo", common.console) == 0
    text = capsys.readouterr().out
    for expected in ("共 40 行：已生成 40", "有错误 6", "已在台账中的检查：40 / 40", "已归档 32 件，已退回 1 件",
                     "未报送：云州区、广灵县", "反馈“是”的检查 3", "超次数未生成", "超次数检查（经批准） 1", "四性检测：全部通过；错误 0 项",
                     # 5b: paper cards; the phone photo's rows the machine left open are recorded by a person
                     "扫描件-", "IMG_20250612_093115.jpg", "待核对的反馈卡", "十题答案已齐：否是否否否否否否否否",
                     "第2题回答“是”，已列入纪委审查清单",
                     # the scan is read by the machine; of the photo only the corrected tick waits for a person
                     "待核对的反馈卡（1）", "--q 6=否 --by 李明"):
        assert expected in text, expected
    assert re.search(r"扫描件-\S+\.pdf\s*│\s*已归档", text), "the pen-ticked scan is filed by the machine"
    bag = tmp_path / "demo" / "outbox" / "纪委审查包"
    assert (bag / "bagit.txt").is_file() and (bag / "data" / "index.xlsx").is_file()
    # The web site: its address and a demo login that works.
    assert "网页地址：http://127.0.0.1:8000/" in text and f"密码均为 {DEMO_PASSWORD}" in text
    demo_ws = Workspace.open(tmp_path / "demo")
    for name, role in DEMO_USERS.items():
        assert name in text and (user := authenticate(demo_ws, name, DEMO_PASSWORD)) and user.role is role
    assert (tmp_path / "demo" / DEMO_MARK).is_file()  # the next demo may empty this folder, and only such a one


def test_the_demo_never_deletes_a_folder_that_is_not_a_demo(tmp_path: Path) -> None:
    """``ruqi demo <folder>`` deleted the folder whatever it held: a clerk's workspace named by mistake, or
    ``ruqi demo .``, lost everything, and the demo then crashed in a current folder that no longer existed."""
    mine = tmp_path / "我的工作目录"
    init = runner.invoke(app, ["init", str(mine)])
    assert init.exit_code == 0
    (mine / "archive" / "重要.pdf").write_bytes(b"%PDF-1.7 kept")
    before = sorted(p.relative_to(mine) for p in mine.rglob("*"))
    # As the console script runs it (a RuqiError is printed in Chinese with exit code 2).
    run = subprocess.run([str(Path(sys.executable).with_name("ruqi")), "demo", "."], cwd=mine, capture_output=True,
                         text=True, env={**os.environ, "COLUMNS": "300"}, timeout=120)
    assert run.returncode == 2, run.stdout + run.stderr
    assert ("文件夹“.”里已有文件，不是以前的演示目录：演示会清空它，为免删除您的文件，演示没有运行。"
            "请换一个新的目录名，例如 ruqi demo 演示。（DEMO_FOLDER_IN_USE）") in run.stderr, run.stderr
    assert sorted(p.relative_to(mine) for p in mine.rglob("*")) == before
    assert (mine / "archive" / "重要.pdf").read_bytes() == b"%PDF-1.7 kept"


def test_an_earlier_demo_is_emptied_in_place(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    (demo / "archive" / "2025").mkdir(parents=True)
    (demo / DEMO_MARK).write_text("demo", encoding="utf-8")
    (demo / "archive" / "2025" / "a.pdf").write_bytes(b"%PDF")
    (demo / "link").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("not the demo's", encoding="utf-8")
    fresh_folder(demo)
    assert demo.is_dir() and list(demo.iterdir()) == []  # the folder itself stays (it may be the current one)
    assert (tmp_path / "elsewhere" / "keep.txt").is_file()  # a link is removed, not followed
    fresh_folder(tmp_path / "new")  # a folder that is not there yet: the demo makes it
    (tmp_path / "a file").write_text("x", encoding="utf-8")
    with pytest.raises(RuqiError):
        fresh_folder(tmp_path / "a file")


def test_ci_runs_the_slow_tests_too() -> None:
    """The demo (and every other ``slow`` test) is skipped only by hand: CI's command and pytest's own
    options select no marker away."""
    root = Path(__file__).resolve().parent.parent
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    opts = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]
    command = ci.split("python -m pytest", 1)[1].splitlines()[0].split()
    assert "-m" not in command and "-k" not in command and "slow" not in ci
    assert "-m" not in str(opts.get("addopts", "")).split()
    assert any(m.startswith("slow:") for m in opts["markers"])
