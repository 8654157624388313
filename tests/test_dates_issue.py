"""Issue dates: the 通知书 and 公示 carry the date the plan or the command gives, never a date after the visit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from _plan_fixtures import GOOD, _plan
from docx import Document
from typer.testing import CliRunner

from engine import register
from engine.cli import app
from engine.db import session
from engine.generate import GenCode, RowStatus, generate
from engine.plan import PlanCode

runner = CliRunner()


def _text(p: Path) -> str:
    d = Document(str(p))
    parts = [para.text for para in d.paragraphs] + [c.text for t in d.tables for row in t.rows for c in row.cells]
    return re.sub(r"\s+", "", "".join(parts))


def _form(files: list[Path], title: str) -> str:
    return _text(next(p for p in files if p.name.endswith(f"{title}.docx")))


def _row(start: date, **extra: object) -> dict[str, object]:
    return GOOD | {"开始日期": start, "结束日期": start + timedelta(days=1)} | extra


def test_plan_column_then_command_then_today_never_after_the_start(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    uscc2 = "91140200MA0K77777N"
    rows = [
        _row(date(2025, 11, 17), 发文日期="2025年11月10日"),  # row 2: the plan says when
        _row(date(2025, 11, 24), 统一社会信用代码=uscc2),  # row 3: the command says when
        _row(date(2025, 11, 20), 发文日期=date(2025, 11, 21), 检查类别="督导检查"),  # row 4: after the start
    ]
    res = generate(ws, _plan(tmp_path / "plan.xlsx", rows), formats=("docx",), issue_date=date(2025, 11, 12),
                   today=date(2025, 11, 3))
    assert [o.status for o in res.outcomes] == [RowStatus.GENERATED, RowStatus.GENERATED, RowStatus.INVALID]
    first, second, late = res.outcomes
    assert (first.inspection.issue_date, second.inspection.issue_date) == (date(2025, 11, 10), date(2025, 11, 12))
    for o, shown in ((first, "2025年11月10日"), (second, "2025年11月12日")):
        assert shown in _form(o.files, "入企检查活动通知书")
        assert shown in _form(o.files, "入企检查监督公示")
        assert "2025年11月3日" not in _form(o.files, "入企检查活动通知书")
    assert late.findings.flatten("code", "where") == [(PlanCode.ISSUE_AFTER_START, "第4行 发文日期（Q列）")]
    assert not first.findings.items and not second.findings.items  # generated ahead of the visit: nothing to say
    with session(ws) as s:
        assert register.by_serial(s, first.serial).issue_date == date(2025, 11, 10)  # type: ignore[union-attr]


def test_a_plan_generated_after_the_visit_began_is_dated_its_start_and_warned(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The issue's case: an inspection on 11月17日, generated on 12月3日.
    other = {"企业名称": "大同市云冈区另一家机械有限公司", "统一社会信用代码": "91140200MA0K77777N"}
    plan = _plan(tmp_path / "plan.xlsx", [_row(date(2025, 12, 8)), _row(date(2025, 11, 17), **other)])
    res = generate(ws, plan, formats=("docx",), today=date(2025, 12, 3))
    upcoming, begun = res.outcomes
    assert (upcoming.inspection.issue_date, begun.inspection.issue_date) == (date(2025, 12, 3), date(2025, 11, 17))
    assert "2025年11月17日" in _form(begun.files, "入企检查活动通知书")
    assert "2025年12月3日" not in _form(begun.files, "入企检查活动通知书")
    assert upcoming.findings.items == []
    assert begun.findings.flatten("code", "where") == [(GenCode.VISIT_STARTED, "第3行")]
    assert "2025-11-17" in begun.findings.items[0].message and "2025-12-03" in begun.findings.items[0].message
    # Regenerating the same plan with another date keeps what the register (and the archive) say.
    again = generate(ws, plan, formats=("docx",), issue_date=date(2025, 11, 1), today=date(2025, 12, 4))
    assert again.outcomes[1].inspection.issue_date == date(2025, 11, 17)
    assert again.outcomes[1].findings.flatten("code") == [(GenCode.ISSUE_DATE_KEPT,)]


def test_cli_issue_date_and_the_warning_with_its_row(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    today = date.today()
    soon, begun = today + timedelta(days=10), today - timedelta(days=5)
    plan = _plan(tmp_path / "计划.xlsx", [_row(soon), _row(begun, 检查类别="调查核查")])
    wanted = today - timedelta(days=7)  # the batch's notices were signed a week ago
    r = runner.invoke(app, ["generate", "--plan", str(plan), "--formats", "docx", "--issue-date",
                            f"{wanted:%Y-%m-%d}", "-w", str(ws.root)], env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert f"第3行：检查已于 {begun:%Y-%m-%d} 开始" in r.output
    assert GenCode.VISIT_STARTED in r.output
    out = next(p for p in ws.outbox.iterdir() if p.is_dir())
    notice = next(out.glob("*入企检查活动通知书.docx"))
    assert f"{wanted.year}年{wanted.month}月{wanted.day}日" in _text(notice)
    bad = runner.invoke(app, ["generate", "--plan", str(plan), "--issue-date", "下周一", "-w", str(ws.root)])
    assert bad.exit_code == 2 and "--issue-date" in bad.output
