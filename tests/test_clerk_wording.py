"""Wording a clerk tripped over in the acceptance pass after issues 9 and 11, each case made as the
clerk made it (a county workbook typed and dropped in the inbox, a plan, a template edited in Word):

- sentences joined with "；" never read "。；" (stats status hints, the summary's 备注 and 报送情况
  sheet, the reason file of a rejected workbook);
- the 报送情况 line says what is true (应于…前报送；已报N个，未报M个，已退回K个);
- a finding whose message already names its place is not prefixed with it again;
- a 是 on the card of a voided visit is counted in the per-county and per-inspector tallies;
- the template-drift message never quotes the check's own placeholder for the [texts] lines.
"""

from __future__ import annotations

import os
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import docx
from _plan_fixtures import GOOD, _plan
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine.cli import app
from engine.generate import generate
from engine.inbox import ingest
from engine.plan import BY_KEY, COLUMNS
from engine.render.templates import DEFAULT_TEMPLATES_DIR
from engine.review import build_review
from engine.review.tables import by_county_table, by_inspector_table, voided_table
from engine.simulate import tick_pdf
from engine.stats import write_blanks
from engine.workspace import Workspace
from tests._stats_fixtures import fill_blank

WIDE = {"COLUMNS": "400"}
CLEAN = {i: "否" for i in range(1, 11)}


def _run(ws: Workspace, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, [*args, "-w", str(ws.root)], env=WIDE)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, res.output


def _flat(text: str) -> str:
    return re.sub(r"[\s│┃]", "", text)


def _returned_county(ws: Workspace) -> None:
    """平城区 sends its 附件2 with two bad cells (a minus sign, a number in words): sent back."""
    batch = write_blanks(ws, 2, "2025Q2")
    blanks = {u.name: f for u, f in zip(batch.units, batch.files, strict=True)}
    fill_blank(blanks["平城区"], ws.inbox / "平城区附件2.xlsx", {"B6": -12, "C6": "十", "D6": 30, "E6": 25})
    fill_blank(blanks["云冈区"], ws.inbox / "云冈区附件2.xlsx", {"B6": 9, "C6": 9, "D6": 41, "E6": 40})
    code, out = _run(ws, "ingest")
    assert code == 0, out
    assert (ws.rejected / "平城区附件2.xlsx").exists()


def test_joined_sentences_never_read_full_stop_semicolon(ws: Workspace, tmp_path: Path) -> None:
    _returned_county(ws)
    code, out = _run(ws, "stats", "status", "-t", "2", "-p", "2025Q2")
    assert code == 0, out
    row = next(ln for ln in out.splitlines() if "平城区" in ln)
    assert "不能是负数" in row and "附件2!C6" in row  # both reasons are in the hint
    assert "。；" not in _flat(out)

    _run(ws, "stats", "aggregate", "-t", "2", "-p", "2025Q2", "-o", str(tmp_path / "汇总.xlsx"), "--no-pdf")
    wb = load_workbook(tmp_path / "汇总.xlsx")
    cells = [str(c) for sh in wb.worksheets for r in sh.iter_rows(values_only=True) for c in r if c]
    assert any("不能是负数" in c and "附件2!C6" in c for c in cells)  # the 备注 and the 报送情况 sheet
    assert not [c for c in cells if "。；" in c]

    reasons = [p.read_text(encoding="utf-8") for p in ws.rejected.glob("*.reason.txt")]
    assert reasons and not [r for r in reasons if "。；" in r]


def test_the_status_line_says_who_has_not_reported(ws: Workspace) -> None:
    _returned_county(ws)
    code, out = _run(ws, "stats", "status", "-t", "2", "-p", "2025Q2", "--due", "2026-12-18")
    assert code == 0, out
    said = _flat(out)
    assert "均在" not in said
    line = re.search(r"报送情况：应报(\d+)个单位，应于2026年12月18日前报送；已报1个，未报(\d+)个，已退回1个。", said)
    assert line is not None, said
    assert int(line[2]) == int(line[1]) - 2 and "未报送：" in said and "已退回（待重新报送）：平城区。" in said


def test_a_place_named_in_the_message_is_not_printed_again(ws: Workspace, tmp_path: Path) -> None:
    # The plan template's example row left in: "第2行是计划模板自带的示例…", once.
    example = {c.header: c.example for c in COLUMNS}
    plan = _plan(tmp_path / "plan.xlsx", [example])
    code, out = _run(ws, "generate", "--plan", str(plan), "--check")
    line = next(ln for ln in out.splitlines() if BY_KEY["enterprise"].example in ln)
    assert line.count("第2行") == 1, line

    # A line typed into notice.docx only: "notice.docx 正文第1段：…", once.
    tdir = Path(shutil.copytree(DEFAULT_TEMPLATES_DIR, tmp_path / "templates"))
    d = docx.Document(str(tdir / "notice.docx"))
    d.paragraphs[0].insert_paragraph_before("值班电话：0352-7777777")
    d.save(str(tdir / "notice.docx"))
    res = CliRunner().invoke(app, ["templates", "check", "--dir", str(tdir)], env=WIDE)
    assert res.exit_code == 1
    said = _flat(res.output)
    assert "notice.docx正文第1段：Word版有“值班电话" in said
    assert said.count("notice.docx正文第1段") == 1, res.output


def test_a_yes_on_a_voided_visit_counts_in_the_tallies(ws: Workspace, tmp_path: Path) -> None:
    row = GOOD | {"开始日期": date(2025, 6, 2), "结束日期": date(2025, 6, 3)}
    res = generate(ws, _plan(tmp_path / "plan.xlsx", [row]), formats=("pdf",), today=date(2025, 5, 20))
    o = res.outcomes[0]
    assert o.inspection is not None
    card = next(p for p in o.files if p.name.endswith("反馈卡.pdf"))
    tick_pdf(card, ws.inbox / "反馈卡.pdf", CLEAN | {3: "是", 7: "是"},
             {"head": "张三", "position": "矿长", "phone": "13903520002"})
    os.utime(ws.inbox / "反馈卡.pdf", (datetime(2025, 6, 3, 17).timestamp(),) * 2)
    ingest(ws, workers=1)
    code, out = _run(ws, "void", o.serial, "--reason", "误登记")
    assert code == 0, out

    review = build_review(ws, date(2025, 6, 1), date(2025, 6, 30), today=date(2025, 6, 30))
    county = next(t for t in review.by_county if t.name == o.inspection.county)
    assert (county.inspections, county.violations, county.yes_answers) == (0, 1, 2)
    for name in [o.inspection.leader, *o.inspection.members]:
        t = next(t for t in review.by_inspector if t.name == name)
        assert (t.violations, t.yes_answers) == (1, 2), name
    # The tables the 纪委 reads say the same, and the voided list says the 是 is counted.
    cols = [c.header for c in by_county_table(review).columns]
    row_c = next(r for r in by_county_table(review).rows if r[0] == o.inspection.county)
    assert (row_c[cols.index("反馈“是”的检查")], row_c[cols.index("“是”题数")]) == (1, 2)
    assert any(r[0] == o.inspection.leader for r in by_inspector_table(review).rows)
    card_cell = next(str(r[14]) for r in voided_table(review).rows if r[0] == o.serial)
    assert "第3、7题" in card_cell and "已计入按县区、按检查人员统计" in card_cell


def test_template_drift_quotes_no_placeholder(tmp_path: Path) -> None:
    # The duty phone typed at the end of card.docx, right after where the [texts] lines print.
    tdir = Path(shutil.copytree(DEFAULT_TEMPLATES_DIR, tmp_path / "templates"))
    d = docx.Document(str(tdir / "card.docx"))
    d.add_paragraph("值班电话：0352-7777777")
    d.save(str(tdir / "card.docx"))
    res = CliRunner().invoke(app, ["templates", "check", "--dir", str(tdir)], env=WIDE)
    assert res.exit_code == 1
    said = _flat(res.output)
    assert "Word版有“值班电话：0352-7777777”" in said
    assert "的文字〕" not in said and "〔[texts]" not in said, res.output
