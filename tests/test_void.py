"""Undoing mistakes: `ruqi void` a visit registered by mistake, `generate --check` a plan without registering."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pdfplumber
from _plan_fixtures import GOOD, _plan
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine import register
from engine.archive import audit_log, items_for_serial, verify
from engine.cli import app
from engine.db import session
from engine.generate import RowStatus, generate
from engine.inbox import pending_cards
from engine.plan import COLUMNS, write_template
from engine.review import build_review
from engine.review.export import export_bundle
from engine.void import VoidCode, void_visit

runner = CliRunner()
# 非高危行业 一级: one 执法检查 a year.
ONE_A_YEAR = GOOD | {"等级": "一级", "开始日期": date(2025, 6, 2), "结束日期": date(2025, 6, 3)}
NEXT_YEAR = date.today().year + 1  # CLI runs use the real today: plan visits ahead of it, as a clerk does


def _hashes(ws, serial: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {i.rel_path: hashlib.sha256((ws.archive / i.rel_path).read_bytes()).hexdigest()
            for i in items_for_serial(ws, serial)}


def test_void_keeps_the_record_and_the_files_and_frees_the_cap(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plan = _plan(tmp_path / "plan.xlsx", [ONE_A_YEAR])
    first = generate(ws, plan, formats=("docx",), today=date(2025, 5, 20))
    serial = first.outcomes[0].serial
    files = _hashes(ws, serial)
    assert len(files) == 3
    second = ONE_A_YEAR | {"开始日期": date(2025, 9, 1), "结束日期": date(2025, 9, 1), "组长": "王海涛"}
    refused = generate(ws, _plan(tmp_path / "p2.xlsx", [second]), formats=("docx",), today=date(2025, 8, 20))
    assert refused.outcomes[0].status is RowStatus.REFUSED
    assert [p.serial for p in pending_cards(ws, today=date(2025, 6, 30))] == [serial]

    r = runner.invoke(app, ["void", serial, "--reason", "误登记：企业名称填错", "--actor", "李文书", "-w", str(ws.root)],
                      env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert f"已作废检查 {serial}" in r.output and "李文书" in r.output and "3 件" in r.output

    with session(ws) as s:
        v = register.by_serial(s, serial)
        assert v is not None and (v.voided_by, v.voided_reason) == ("李文书", "误登记：企业名称填错")
        assert register.counts(s, GOOD["统一社会信用代码"], 2025) == {}
    assert _hashes(ws, serial) == files  # documents stay archived, byte for byte
    assert verify(ws).ok
    entry = [e for e in audit_log(ws) if e.action == "void"]
    assert [(e.object, e.actor, e.details["reason"]) for e in entry] == [(serial, "李文书", "误登记：企业名称填错")]
    assert sorted(entry[0].details["documents"]) == sorted(i.archival_code for i in items_for_serial(ws, serial))
    assert pending_cards(ws, today=date(2025, 6, 30)) == []

    # The cap it took is free again; and the same dates can be registered again, corrected.
    assert generate(ws, _plan(tmp_path / "p2.xlsx", [second]), formats=("docx",),
                    today=date(2025, 8, 20)).outcomes[0].status is RowStatus.GENERATED
    fixed = generate(ws, _plan(tmp_path / "p3.xlsx", [ONE_A_YEAR | {"等级": "三级"}]), formats=("docx",),
                     today=date(2025, 5, 20))
    assert fixed.outcomes[0].status is RowStatus.GENERATED and fixed.outcomes[0].serial != serial
    assert not fixed.outcomes[0].existing

    review = build_review(ws, date(2025, 1, 1), date(2025, 12, 31), today=date(2025, 12, 31))
    assert [x.entry.serial for x in review.voided] == [serial]
    assert serial not in [e.serial for e in review.entries]
    assert (review.voided[0].voided_by, review.voided[0].reason) == ("李文书", "误登记：企业名称填错")
    out = tmp_path / "审查清单.xlsx"
    assert runner.invoke(app, ["review", "--out", str(out), "-w", str(ws.root)]).exit_code == 0
    sheet = load_workbook(out)["已作废的检查"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[1][0] == serial and "误登记：企业名称填错" in rows[1]
    pdf = tmp_path / "审查报告.pdf"
    assert runner.invoke(app, ["review", "--pdf", str(pdf), "-w", str(ws.root)]).exit_code == 0
    with pdfplumber.open(pdf) as doc:
        text = "".join((page.extract_text() or "") for page in doc.pages).replace("\n", "")
    assert "已作废的检查（1）" in text and serial in text  # (the reason wraps inside its narrow cell)
    bag = export_bundle(ws, tmp_path / "审查包", only_flagged=True, today=date(2025, 12, 31), actor="机关纪委")
    assert serial in bag.serials
    index = load_workbook(tmp_path / "审查包" / "data" / "index.xlsx").active
    row = next([c.value for c in r] for r in index.iter_rows(min_row=2) if r[0].value == serial)
    assert "已作废" in row
    copied = {hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp_path / "审查包" / "data").rglob("*.docx")}
    assert set(files.values()) <= copied  # the voided visit's originals are in the bag, byte for byte


def test_void_refuses_without_reason_unknown_serial_or_twice(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    serial = generate(ws, _plan(tmp_path / "p.xlsx", [GOOD]), formats=("docx",),
                      today=date(2025, 3, 1)).outcomes[0].serial
    assert void_visit(ws, serial, "  ").findings.flatten("code") == [(VoidCode.REASON_REQUIRED,)]
    assert void_visit(ws, "140200-2025-0099", "误登记").findings.flatten("code") == [(VoidCode.UNKNOWN,)]
    assert void_visit(ws, serial, "误登记", actor="甲").ok
    again = runner.invoke(app, ["void", serial, "--reason", "再来一次", "-w", str(ws.root), "--json"])
    assert again.exit_code == 1
    data = json.loads(again.stdout)
    assert data["errors"][0]["code"] == VoidCode.ALREADY and data["voided_by"] == "甲"
    assert [e.action for e in audit_log(ws)].count("void") == 1


def test_check_registers_and_writes_nothing(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [GOOD, GOOD | {"统一社会信用代码": "91140200MA0K123455"},
            GOOD | {"开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6)},
            GOOD | {"开始日期": date(2025, 7, 6), "结束日期": date(2025, 7, 6)}]  # third 执法检查 of a 二级: over
    plan = _plan(tmp_path / "计划.xlsx", rows)
    log_before = len(audit_log(ws))
    r = runner.invoke(app, ["generate", "--plan", str(plan), "--check", "-w", str(ws.root)], env={"COLUMNS": "200"})
    assert r.exit_code == 1  # one bad row, one over the cap: the same answer a real run gives
    assert "可生成（仅检查）" in r.output and "没有登记任何检查" in r.output and "超次数未生成" in r.output
    assert "第3行 统一社会信用代码" in r.output
    assert list(ws.outbox.iterdir()) == []
    assert len(audit_log(ws)) == log_before
    with session(ws) as s:
        assert register.counts(s, GOOD["统一社会信用代码"], 2025) == {}

    checked = generate(ws, plan, check=True, today=date(2025, 3, 1))
    real = generate(ws, plan, formats=("docx",), today=date(2025, 3, 1))
    assert [o.status for o in checked.outcomes] == [RowStatus.READY, RowStatus.INVALID, RowStatus.READY,
                                                    RowStatus.REFUSED]
    assert [o.status for o in real.outcomes] == [RowStatus.GENERATED, RowStatus.INVALID, RowStatus.GENERATED,
                                                 RowStatus.REFUSED]
    assert [o.serial for o in checked.outcomes] == [""] * 4
    assert [o.inspection.visit_total for o in checked.outcomes if o.status is RowStatus.READY] == [1, 2]


def test_approve_named_over_cap_rows_only(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [ONE_A_YEAR | {"开始日期": date(NEXT_YEAR, m, 2), "结束日期": date(NEXT_YEAR, m, 2)} for m in (3, 6, 9, 11)]
    plan = _plan(tmp_path / "计划.xlsx", rows)  # rows 2..5; 3, 4, 5 are over the cap of 1
    r = runner.invoke(app, ["generate", "--plan", str(plan), "--formats", "docx", "--allow-over-cap", "5，3",
                            "--reason", "群众举报，经局长批准", "-w", str(ws.root)], env={"COLUMNS": "250"})
    assert r.exit_code == 1, r.output  # row 4 stays refused
    lines = r.output.splitlines()
    assert any("第4行" in ln and "请经批准后使用 --allow-over-cap 4 --reason" in ln for ln in lines)
    for row in (3, 5):
        mine = [ln for ln in lines if f"第{row}行" in ln]
        assert mine and all("已批准" in ln and "群众举报，经局长批准" in ln for ln in mine), mine
        assert not any("请经批准后" in ln for ln in mine)
    assert "超次数，已批准" in r.output and "（其中超次数已批准 2）" in r.output
    manifest = json.loads(next(ws.outbox.glob("*/manifest.json")).read_text(encoding="utf-8"))
    assert [(x["row"], x["status"], x["over_cap"]) for x in manifest["rows"]] == [
        (2, "generated", False), (3, "generated", True), (4, "refused", False), (5, "generated", True)]
    overrides = [e.details["row"] for e in audit_log(ws) if e.action == "override"]
    assert overrides == [3, 5]

    typo = runner.invoke(app, ["generate", "--plan", str(plan), "--check", "--allow-over-cap", "4,2",
                               "--reason", "经批准", "-w", str(ws.root)], env={"COLUMNS": "250"})
    assert "--allow-over-cap 指定的第2行未超过年度上限" in typo.output
    bad = runner.invoke(app, ["generate", "--plan", str(plan), "--allow-over-cap", "第四行", "--reason", "x",
                              "-w", str(ws.root)])
    assert bad.exit_code == 2 and "行号" in bad.output


def test_bare_allow_over_cap_still_approves_every_row(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    rows = [ONE_A_YEAR | {"开始日期": date(NEXT_YEAR, m, 2), "结束日期": date(NEXT_YEAR, m, 2)} for m in (3, 6)]
    plan = _plan(tmp_path / "计划.xlsx", rows)
    r = subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", "generate", "--plan", str(plan),
                        "--check", "--allow-over-cap", "--reason", "经局长批准", "-w", str(ws.root)],
                       capture_output=True, text=True, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"}, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "超次数，已批准" in r.stdout


def test_the_template_example_is_never_registered(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A clerk who copies the example onto the plan sheet, or fills an old template without deleting it.
    tpl = write_template(tmp_path / "计划.xlsx")
    wb = load_workbook(tpl)
    sh = wb["检查计划"]
    for col, c in enumerate(COLUMNS, start=1):
        sh.cell(2, col, c.example)
    wb.save(tpl)
    res = generate(ws, tpl, formats=("docx",))
    assert res.outcomes == [] and res.plan_findings.flatten("code", "where") == [("PLAN_EXAMPLE_ROW", "第2行")]
    with session(ws) as s:
        assert register.counts(s, "91140200MA0K123454", 2025) == {}
