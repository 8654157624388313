"""Accepting submissions (versions, duplicates, archive) and aggregating them (xlsx + one-page PDF, CLI)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pdfplumber
import pytest
from _stats_fixtures import clerk_table2, clerk_table4, fill_blank
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine.db import session
from engine.findings import RuqiError
from engine.stats import AcceptStatus, accept, issued_periods, read_submission, write_blanks
from engine.stats.aggregate import aggregate, write_aggregate
from engine.stats.submissions import current, history
from engine.workspace import Workspace

JUNE = lambda d: datetime(2025, 6, d, 9, 30)  # noqa: E731


def _blank_filled(ws: Workspace, tmp: Path, unit: str, b: int, c: int, d: int, e: int, remark: str = "",
                  name: str | None = None) -> Path:
    blank = next(f for f in write_blanks(ws, 2, "2025Q2", due=date(2025, 6, 18)).files if f"-{unit}-" in f.name)
    return fill_blank(blank, tmp / (name or f"{unit}.xlsx"), {"B6": b, "C6": c, "D6": d, "E6": e, "F6": remark or None})


def _accept(ws: Workspace, path: Path, ref: str, day: int) -> object:
    sub = read_submission(path, ws, rounds=issued_periods(ws))
    assert sub.ok, sub.findings.to_list()
    return accept(ws, sub, ref, received_at=JUNE(day))


# ---- accepting ----------------------------------------------------------------------------------


def test_a_corrected_workbook_supersedes_the_earlier_one_and_both_are_kept(ws: Workspace, tmp_path: Path) -> None:
    first = _accept(ws, _blank_filled(ws, tmp_path, "平城区", 12, 10, 30, 25, name="v1.xlsx"), "item-1", 16)
    second = _accept(ws, _blank_filled(ws, tmp_path, "平城区", 12, 11, 30, 27, name="v2.xlsx"), "item-2", 17)
    assert (first.status, first.version, second.status, second.version) == (AcceptStatus.ACCEPTED, 1,
                                                                           AcceptStatus.ACCEPTED, 2)
    assert (second.superseded_ids, second.superseded_refs) == (first.record_ids, ["item-1"])
    with session(ws) as s:
        assert [(r.version, r.superseded, r.archive_ref) for r in history(s, 2, "2025Q2", "140213")] == [
            (1, True, "item-1"), (2, False, "item-2")]
        assert [r.values[0]["staff_actual"] for r in current(s, 2, "2025Q2")] == [11]


def test_the_same_file_twice_is_a_duplicate(ws: Workspace, tmp_path: Path) -> None:
    p = _blank_filled(ws, tmp_path, "云冈区", 5, 5, 8, 8)
    a, b = _accept(ws, p, "item-1", 16), _accept(ws, p, "item-9", 17)
    assert (a.status, b.status, b.record_ids, b.archive_ref) == (AcceptStatus.ACCEPTED, AcceptStatus.DUPLICATE,
                                                                  a.record_ids, "item-1")


def test_a_workbook_with_errors_cannot_be_accepted(ws: Workspace, tmp_path: Path) -> None:
    sub = read_submission(_blank_filled(ws, tmp_path, "云冈区", -5, 5, 8, 8), ws)
    with pytest.raises(RuqiError, match="不能是负数"):
        accept(ws, sub, "item-1")
    with session(ws) as s:
        assert current(s, 2, "2025Q2") == []


def test_without_a_ref_accept_files_the_workbook_in_the_archive(ws: Workspace, tmp_path: Path) -> None:
    p1 = _blank_filled(ws, tmp_path, "平城区", 12, 10, 30, 25, name="v1.xlsx")
    p2 = _blank_filled(ws, tmp_path, "平城区", 12, 10, 30, 26, name="v2.xlsx")
    r1 = accept(ws, read_submission(p1, ws), received_at=JUNE(16))
    r2 = accept(ws, read_submission(p2, ws), received_at=JUNE(17))
    assert r1.archival_code.startswith("J001-") and r1.item.form_type == "stats_table"
    assert r1.item.path.read_bytes() == p1.read_bytes()  # filed byte for byte
    assert (r2.item.supersedes, r2.item.version, r2.superseded_refs) == (r1.item.id, 2, [str(r1.item.id)])
    assert "平城区" in r1.item.title and "2025年第二季度" in r1.item.title


# ---- aggregating --------------------------------------------------------------------------------


def _three_units(ws: Workspace, tmp_path: Path) -> None:
    _accept(ws, _blank_filled(ws, tmp_path, "平城区", 12, 10, 40, 30, remark="=HYPERLINK(\"http://x\",\"点我\")"),
            "a", 17)
    _accept(ws, _blank_filled(ws, tmp_path, "云冈区", 8, 8, 20, 22), "b", 20)  # two days late, 110 %
    own = clerk_table2(tmp_path / "市本级.xlsx", [{"unit": "市本级", "staff_expected": 20, "staff_actual": "１５",
                                                  "ent_expected": 10, "ent_actual": 5}],
                       total={"staff_expected": 20, "staff_actual": 15, "ent_expected": 10, "ent_actual": 5})
    _accept(ws, own, "c", 18)


def test_aggregate_recomputes_totals_rates_missing_and_late(ws: Workspace, tmp_path: Path) -> None:
    _three_units(ws, tmp_path)
    agg = aggregate(ws, 2, "2025Q2")
    assert agg.due == date(2025, 6, 18)  # from the round
    assert agg.totals() == {"staff_expected": 40, "staff_actual": 33, "ent_expected": 70, "ent_actual": 57}
    assert [round(v, 4) for v in (agg.rate(r) for r in agg.table.rates)] == [0.825, 0.8143]
    assert [ln.unit.name for ln in agg.submitted] == ["市本级", "平城区", "云冈区"]
    assert len(agg.missing) == 8 and agg.missing[0].name == "新荣区"
    assert [(ln.unit.name, ln.late_days) for ln in agg.late] == [("云冈区", 2)]


def test_summary_workbook_and_one_page_pdf(ws: Workspace, tmp_path: Path) -> None:
    _three_units(ws, tmp_path)
    xlsx, pdf = write_aggregate(aggregate(ws, 2, "2025Q2"), tmp_path / "out" / "附件2汇总.xlsx")
    assert pdf == tmp_path / "out" / "附件2汇总.pdf"
    wb = load_workbook(xlsx)
    sh = wb["附件2汇总"]
    assert [c.value for c in sh[4]][:8] == ["单位", "移动应急APP政务人员注册数", None, "移动应急APP企业实名认证注册数", None,
                                            "注册率", None, "备注"]
    rows = {r[0]: r for r in sh.iter_rows(min_row=6, max_row=17, values_only=True)}
    assert rows["合计"][1:5] == (40, 33, 70, 57)
    assert rows["云冈区"][6] == pytest.approx(1.1) and rows["云冈区"][7] == "逾期2天"
    assert rows["新荣区"][1:8] == (None, None, None, None, "—", "—", "未报送")
    assert sh["F6"].number_format == "0.0%"
    remark = sh.cell(8, 8)  # 平城区 (row 8, after 市本级 and 新荣区): its 备注 as typed, kept as text
    assert (remark.value, remark.data_type) == ("=HYPERLINK(\"http://x\",\"点我\")", "s")
    status = {r[0]: r[1] for r in wb["报送情况"].iter_rows(min_row=2, values_only=True)}
    assert (status["云冈区"], status["平城区"], status["左云县"]) == ("逾期报送", "已报送", "未报送")
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) == 1
        text = doc.pages[0].extract_text()
    assert "未报送单位" in text and "新荣区" in text and "逾期1天" not in text and "逾期2天" in text


def test_table4_aggregates_as_one_list_grouped_by_manual_part(ws: Workspace, tmp_path: Path) -> None:
    write_blanks(ws, 4, "2025Q2")
    a = clerk_table4(tmp_path / "a.xlsx", [("阳高县", "企业", "第六部分", "上报后看不到状态", ""),
                                           ("", "政务人员", "第七部分", "客户端打不开", "修复")])
    b = clerk_table4(tmp_path / "b.xlsx", [("天镇县", "企业", "6", "=cmd|' /C calc'!A0", "")])
    for i, p in enumerate((a, b)):
        _accept(ws, p, f"t4-{i}", 15)
    agg = aggregate(ws, 4, "2025Q2")
    counts = {g.part[:4]: (g.count("企业"), g.count("政务人员")) for g in agg.by_part() if g.items}
    assert counts == {"第六部分": (2, 0), "第七部分": (0, 1)}
    xlsx, pdf = write_aggregate(agg, tmp_path / "附件4汇总.xlsx")
    sh = load_workbook(xlsx)["附件4汇总"]
    values = [[c.value for c in row] for row in sh.iter_rows(min_row=5, max_row=9)]
    assert values[0][0].startswith("第六部分：隐患自查自纠功能操作（2条")
    assert values[2][1:5] == ["天镇县", "企业", "第六部分：隐患自查自纠功能操作", "=cmd|' /C calc'!A0"]
    assert sh.cell(7, 5).data_type == "s"
    assert values[3][0].startswith("第七部分")
    with pdfplumber.open(pdf) as doc:
        assert len(doc.pages) == 1


def test_cli_blank_and_aggregate_json(ws: Workspace, tmp_path: Path) -> None:
    from engine.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["stats", "blank", "--table", "3", "--period", "2025Q2", "--due", "2025-06-25",
                              "--units", "平城区,云冈区", "--json", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    made = [json.loads(line) for line in res.output.splitlines()]
    assert [m["unit"] for m in made] == ["平城区", "云冈区"]
    filled = fill_blank(Path(made[0]["file"]), tmp_path / "t3.xlsx", {"B7": 40, "C7": 31, "D7": 4})
    _accept(ws, filled, "x", 24)
    res = runner.invoke(app, ["stats", "aggregate", "-t", "3", "-p", "2025Q2", "-o", str(tmp_path / "s3.xlsx"),
                              "--no-pdf", "--json", "-w", str(ws.root)])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert (out["totals"], out["missing"], out["rates"]["上报率"]) == (
        {"registered": 40, "reporters": 31, "hazards": 4}, ["云冈区"], pytest.approx(0.775))
    res = runner.invoke(app, ["stats", "check", str(filled), "-w", str(ws.root)])
    assert res.exit_code == 0 and "✓" in res.output


def test_the_aggregate_reads_only_the_latest_version(ws: Workspace, tmp_path: Path) -> None:
    _accept(ws, _blank_filled(ws, tmp_path, "平城区", 12, 10, 30, 25, name="v1.xlsx"), "item-1", 16)
    _accept(ws, _blank_filled(ws, tmp_path, "平城区", 12, 12, 30, 29, name="v2.xlsx"), "item-2", 19)
    line = next(ln for ln in aggregate(ws, 2, "2025Q2").lines if ln.unit.name == "平城区")
    assert (line.version, line.values["staff_actual"], line.late_days) == (2, 12, 1)


def test_roster_aggregate_lists_every_contact_and_is_archived(ws: Workspace, tmp_path: Path) -> None:
    files = write_blanks(ws, 1, "2025Q2", due=date(2025, 6, 12), units="市本级,平城区,云冈区").files
    _accept(ws, fill_blank(files[0], tmp_path / "a.xlsx", {"C6": "刘阳锋", "D6": "0352-2217654",
                                                           "C7": "库盛", "D7": "13903520002"}), "r1", 11)
    _accept(ws, fill_blank(files[1], tmp_path / "b.xlsx", {"C6": "王建军", "D6": "+8613903520001"}), "r2", 13)
    agg = aggregate(ws, 1, "2025Q2")
    assert ([u.name for u in agg.missing], [(ln.unit.name, ln.late_days) for ln in agg.late]) == (
        ["云冈区"], [("平城区", 1)])
    xlsx, pdf = write_aggregate(agg, tmp_path / "附件1汇总.xlsx")
    sh = load_workbook(xlsx)["附件1汇总"]
    assert [[c.value for c in row] for row in sh.iter_rows(min_row=5, max_row=7)] == [
        [1, "市本级", "刘阳锋", "0352-2217654"], [2, "市本级", "库盛", "13903520002"], [3, "平城区", "王建军", "+8613903520001"]]
    assert sh["D7"].data_type == "s"  # "+86…" stays text
    from engine.stats.aggregate import file_report

    rows = file_report(ws, agg, [xlsx, pdf], partial=True)  # 云冈区 has not reported
    assert [r.form_type for r in rows] == ["stats_report", "stats_report"]
    assert rows[1].path.read_bytes() == pdf.read_bytes() and "联络人报名表汇总" in rows[0].title


def test_cli_check_names_each_file_once(ws: Workspace, tmp_path: Path) -> None:
    """A file that is no workbook: its line names it, the reason under it does not repeat the name."""
    from engine.cli import app

    bad = tmp_path / "平城区报表.xlsx"
    bad.write_bytes(b"not a workbook")
    res = CliRunner().invoke(app, ["stats", "check", str(bad), "-w", str(ws.root)], env={"COLUMNS": "200"})
    assert res.exit_code == 1, res.output
    first, reason = res.output.splitlines()[:2]
    assert first == "✗ 平城区报表.xlsx"
    assert reason.strip().endswith("（STATS_UNREADABLE）") and not reason.strip().startswith("[")
