"""Reading returned statistics workbooks: ours filled in Excel, and units' own files in the official layout."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from _stats_fixtures import clerk_table2, clerk_table3, clerk_table4, fill_blank, seed_roster, to_xls
from openpyxl import Workbook, load_workbook

from engine.stats import (
    Period,
    StatsCode,
    StatsKind,
    issued_periods,
    read_submission,
    recognise,
    write_blanks,
)
from engine.workspace import Workspace, init

PINGCHENG = {"unit": "平城区应急管理局", "staff_expected": "１２", "staff_actual": 10, "ent_expected": " 30 ",
             "ent_actual": "28家", "remark": "个别企业停产"}
YUNGANG = {"unit": "云冈区", "staff_expected": 9, "staff_actual": 9.0, "ent_expected": 41, "ent_actual": "40"}
CITY = {"unit": "市本级", "staff_expected": 20, "staff_actual": 18, "ent_expected": 15, "ent_actual": 15}


def _values(sub) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    return {u.name: rows[0] for _, (u, rows) in sub.values_by_unit().items()}


# ---- our own blank, filled in Excel -------------------------------------------------------------


def test_our_blank_filled_is_recognised_by_metadata(ws: Workspace, tmp_path: Path) -> None:
    blank = write_blanks(ws, 2, "2025Q2", units="平城区").files[0]
    assert recognise(blank) is StatsKind.PROGRESS
    filled = fill_blank(blank, tmp_path / "平城区.xlsx", {"B6": 12, "C6": "１０", "D6": 30, "E6": 31, "F6": "新增1家",
                                                         "F3": "2025年6月16日"})
    sub = read_submission(filled, ws)
    assert (sub.via, sub.period, sub.meta_trusted, sub.filled_at) == ("metadata", Period(2025, 2), True, "2025年6月16日")
    assert sub.findings.flatten("code", "where", "severity") == [  # 31 > 30, and 备注 says why
        (StatsCode.EXCESS_EXPLAINED, "附件2!E6", "info")]
    assert sub.ok
    assert _values(sub) == {"平城区": {"staff_expected": 12, "staff_actual": 10, "ent_expected": 30, "ent_actual": 31,
                                     "remark": "新增1家"}}


def test_blank_returned_unfilled_is_rejected_with_a_reason(ws: Workspace) -> None:
    blank = write_blanks(ws, 2, "2025Q2", units="平城区").files[0]
    sub = read_submission(blank, ws)
    assert not sub.ok
    assert sub.findings.flatten("code", "where") == [(StatsCode.NO_ROWS, "附件2!A6")]


def test_each_bad_cell_is_named_by_its_a1_reference(ws: Workspace, tmp_path: Path) -> None:
    blank = write_blanks(ws, 2, "2025Q2", units="平城区").files[0]
    filled = fill_blank(blank, tmp_path / "bad.xlsx", {"B6": -3, "C6": "十二", "D6": 12.5, "E6": "/"})
    sub = read_submission(filled, ws)
    assert sub.findings.flatten("code", "where") == [
        (StatsCode.NEGATIVE, "附件2!B6"), (StatsCode.NOT_NUMBER, "附件2!C6"), (StatsCode.NOT_WHOLE, "附件2!D6"),
        (StatsCode.DASH_AS_ZERO, "附件2!E6")]
    assert not sub.ok
    msg = sub.findings.items[0].message
    assert "不能是负数" in msg and "-3" in msg and "请填写" in msg


def test_metadata_from_another_workspace_is_not_trusted_for_the_unit(ws: Workspace, tmp_path: Path) -> None:
    other = init(tmp_path / "other")  # same city, different key
    blank = write_blanks(other, 2, "2025Q2", units="平城区").files[0]
    filled = fill_blank(blank, tmp_path / "f.xlsx", {"B6": 1, "C6": 1, "D6": 1, "E6": 1})
    sub = read_submission(filled, ws)
    assert (sub.via, sub.meta_trusted, [u.name for u in sub.units]) == ("metadata", False, ["平城区"])
    assert sub.findings.codes() == [StatsCode.META_FOREIGN] and sub.ok


def test_a_unit_edits_the_locked_unit_name_to_another_unit(ws: Workspace, tmp_path: Path) -> None:
    blank = write_blanks(ws, 2, "2025Q2", units="平城区").files[0]
    filled = fill_blank(blank, tmp_path / "f.xlsx", {"A6": "云冈区", "B6": 1, "C6": 1, "D6": 1, "E6": 1})
    sub = read_submission(filled, ws)
    assert sub.findings.flatten("code", "where") == [(StatsCode.UNIT_MISMATCH, "附件2!A6")]


# ---- a unit's own file in the official layout -----------------------------------------------------


def test_own_file_shuffled_columns_text_numbers_total_and_bureau_names(ws: Workspace, tmp_path: Path) -> None:
    order = ("remark", "ent_expected", "ent_actual", "unit", "staff_expected", "staff_actual")
    total = {"staff_expected": 41, "staff_actual": "３７", "ent_expected": 86, "ent_actual": 83}
    p = clerk_table2(tmp_path / "大同市.xlsx", [PINGCHENG, YUNGANG, CITY], order=order, total=total)
    assert recognise(p) is StatsKind.PROGRESS
    sub = read_submission(p, ws)
    assert sub.findings.flatten("code") == []
    assert (sub.via, sub.sheet, sub.submitter_text, sub.period) == ("headers", "Sheet1", "大同市应急管理局", Period(2025, 2))
    assert sub.submitter is not None and sub.submitter.name == "市本级"
    assert _values(sub) == {
        "平城区": {"staff_expected": 12, "staff_actual": 10, "ent_expected": 30, "ent_actual": 28, "remark": "个别企业停产"},
        "云冈区": {"staff_expected": 9, "staff_actual": 9, "ent_expected": 41, "ent_actual": 40, "remark": ""},
        "市本级": {"staff_expected": 20, "staff_actual": 18, "ent_expected": 15, "ent_actual": 15, "remark": ""},
    }
    assert sub.total is not None and sub.total.line == 10


def test_a_wrong_total_is_an_error_on_its_cell(ws: Workspace, tmp_path: Path) -> None:
    total = {"staff_expected": 41, "staff_actual": 36, "ent_expected": 86, "ent_actual": 83}
    p = clerk_table2(tmp_path / "t.xlsx", [PINGCHENG, YUNGANG, CITY], total=total)
    sub = read_submission(p, ws)
    assert sub.findings.flatten("code", "where") == [(StatsCode.TOTAL_MISMATCH, "Sheet1!C10")]
    assert "37" in sub.findings.items[0].message and "36" in sub.findings.items[0].message


def test_unknown_and_repeated_units(ws: Workspace, tmp_path: Path) -> None:
    rows = [PINGCHENG, YUNGANG | {"unit": "朔城区"}, CITY, PINGCHENG | {"unit": "平城区"}]
    sub = read_submission(clerk_table2(tmp_path / "u.xlsx", rows, blank_rows_between=False), ws)
    assert sub.findings.flatten("code", "where") == [
        (StatsCode.UNKNOWN_UNIT, "Sheet1!A7"), (StatsCode.DUPLICATE_UNIT, "Sheet1!A9")]
    assert "朔城区" in sub.findings.items[0].message and "第6行" in sub.findings.items[1].message


def test_group_headers_typed_once_without_merging(ws: Workspace, tmp_path: Path) -> None:
    p = clerk_table2(tmp_path / "m.xlsx", [PINGCHENG], merge_groups=False, extra_col=None, unit_header="县（区）")
    sub = read_submission(p, ws)
    assert sub.ok, sub.findings.to_list()
    assert _values(sub)["平城区"]["ent_actual"] == 28


def test_missing_column_rejects_with_the_column_names(ws: Workspace, tmp_path: Path) -> None:
    order = ("unit", "staff_expected", "ent_expected", "ent_actual")
    p = clerk_table2(tmp_path / "c.xlsx", [CITY], order=order)
    sub = read_submission(p, ws)
    assert sub.findings.codes() == [StatsCode.MISSING_COLUMN]
    assert "实际注册人数" in sub.findings.items[0].message


def test_xls_from_libreoffice_reads_like_the_xlsx(ws: Workspace, tmp_path: Path) -> None:
    total = {"staff_expected": 41, "staff_actual": 37, "ent_expected": 86, "ent_actual": 83}
    own = clerk_table2(tmp_path / "大同市附件2.xlsx", [PINGCHENG, YUNGANG, CITY], total=total)
    blank = write_blanks(ws, 2, "2025Q2", units="云州区").files[0]
    ours = fill_blank(blank, tmp_path / "云州区.xlsx", {"B6": 7, "C6": 7, "D6": 12, "E6": 11})
    converted = to_xls([own, ours], tmp_path / "xls")
    if converted is None:
        pytest.skip("LibreOffice (soffice) is not installed: cannot make a real .xls")
    own_xls, ours_xls = converted
    assert [recognise(own_xls), recognise(ours_xls)] == [StatsKind.PROGRESS, StatsKind.PROGRESS]
    a, b = read_submission(own, ws), read_submission(own_xls, ws)
    assert b.ok and b.findings.codes() == a.findings.codes() == []
    assert _values(b) == _values(a)
    assert b.total is not None and b.total.refs["staff_actual"] == a.total.refs["staff_actual"]
    c = read_submission(ours_xls, ws)  # the hidden metadata sheet survives the .xls round trip
    assert (c.ok, c.via, c.meta_trusted, _values(c)["云州区"]["ent_actual"]) == (True, "metadata", True, 11)


def test_table3_three_level_header_gives_the_quarter_and_the_rules(ws: Workspace, tmp_path: Path) -> None:
    rows = [("平城区", 40, 35, 6), ("云冈区", 20, 25, 0), ("云州区", 10, 0, 3), ("合计", 70, 60, 9)]
    p = clerk_table3(tmp_path / "t3.xlsx", rows, quarter="第三季度", filled="2025-09-28")
    assert recognise(p) is StatsKind.SELF_CHECK
    sub = read_submission(p, ws)
    assert sub.period == Period(2025, 3)
    assert sub.findings.flatten("code", "where") == [
        (StatsCode.REPORTED_ABOVE_REGISTERED, "Sheet!C7"), (StatsCode.HAZARDS_WITHOUT_REPORTER, "Sheet!D8")]


def test_table4_merged_unit_and_loose_choices(ws: Workspace, tmp_path: Path) -> None:
    rows = [("阳高县应急局", "企业用户", "第6部分", "隐患上报后看不到状态", "增加上报状态提示"),
            ("", "政务", "政务人员如何从“互联网+执法”系统查看上报隐患", "客户端打不开", ""),
            ("", "企业", "第八部分", "=HYPERLINK(\"http://x\")", "")]
    write_blanks(ws, 4, "2025Q2")  # the round this list answers
    p = clerk_table4(tmp_path / "t4.xlsx", rows)
    assert recognise(p) is StatsKind.FEEDBACK
    sub = read_submission(p, ws, rounds=issued_periods(ws))
    assert sub.findings.flatten("code", "where") == [(StatsCode.CHOICE_INVALID, "Sheet!D5")]
    got = [(r.unit.name if r.unit else None, r.values["user_type"], r.values["part"][:4]) for r in sub.rows]
    assert got == [("阳高县", "企业", "第六部分"), ("阳高县", "政务人员", "第七部分"), ("阳高县", "企业", "第八部分")]


def test_roster_with_seed_002_columns(ws: Workspace, tmp_path: Path) -> None:
    rows = [(1, "平城区", "王建军", "副局长", "13903520001", "wjj001", ""),
            (2, "", "李娜", "科员", "0352-2021234", "", "煤矿系统管理员"),
            (3, "", "赵六", "科员", "12345", "", "")]
    write_blanks(ws, 1, "2025Q2", units="平城区")
    p = seed_roster(tmp_path / "r.xlsx", rows)
    assert recognise(p) is StatsKind.ROSTER
    sub = read_submission(p, ws, rounds=issued_periods(ws))
    assert sub.findings.flatten("code", "where", "severity") == [(StatsCode.PHONE_INVALID, "Sheet!E7", "error")]
    assert not sub.ok and "“12345”不是有效的手机号或带区号的座机号" in sub.findings.items[0].message
    assert [(r.unit.name, r.values["name"], r.values["position"]) for r in sub.rows] == [
        ("平城区", "王建军", "副局长"), ("平城区", "李娜", "科员"), ("平城区", "赵六", "科员")]


# ---- not ours, or not readable -----------------------------------------------------------------


def test_other_workbooks_and_files_are_not_recognised(ws: Workspace, tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["企业名称", "统一社会信用代码", "所属县区"])
    wb.save(tmp_path / "plan.xlsx")
    (tmp_path / "junk.xlsx").write_bytes(b"not a zip at all")
    (tmp_path / "card.pdf").write_bytes(b"%PDF-1.4\n")
    assert [recognise(tmp_path / n) for n in ("plan.xlsx", "junk.xlsx", "card.pdf")] == [None, None, None]
    assert read_submission(tmp_path / "plan.xlsx", ws).findings.codes() == [StatsCode.NOT_STATS]
    assert read_submission(tmp_path / "junk.xlsx", ws).findings.codes() == [StatsCode.UNREADABLE]


def test_period_falls_back_to_the_round_sent_out(ws: Workspace, tmp_path: Path) -> None:
    write_blanks(ws, 2, "2025Q3", units="平城区")
    p = clerk_table2(tmp_path / "p.xlsx", [PINGCHENG], filled="")
    assert issued_periods(ws) == {2: Period(2025, 3)}
    assert read_submission(p, ws, rounds=issued_periods(ws)).period == Period(2025, 3)
    assert read_submission(p, ws).period == Period.of(date.today())  # reading alone asks no database


def test_a_second_sheet_with_another_table_is_flagged(ws: Workspace, tmp_path: Path) -> None:
    p = clerk_table2(tmp_path / "two.xlsx", [PINGCHENG])
    t3 = clerk_table3(tmp_path / "t3.xlsx", [("平城区", 4, 3, 1)])
    wb, other = load_workbook(p), load_workbook(t3).active
    sh = wb.create_sheet("附件3")
    for row in other.iter_rows(values_only=True):
        sh.append(list(row))
    for rng in other.merged_cells.ranges:
        sh.merge_cells(str(rng))
    wb.save(p)
    sub = read_submission(p, ws)
    assert (sub.kind, sub.findings.flatten("code", "where")) == (StatsKind.PROGRESS, [(StatsCode.EXTRA_SHEET, "附件3")])


def test_the_seeds_placeholder_rows_left_empty_are_skipped(ws: Workspace, tmp_path: Path) -> None:
    rows = [{"unit": "省本级"}, CITY, {"unit": "市辖区（县）"}, PINGCHENG]
    sub = read_submission(clerk_table2(tmp_path / "seed.xlsx", rows, blank_rows_between=False), ws)
    assert sub.ok and sub.findings.codes() == []
    assert [u.name for u in sub.units] == ["市本级", "平城区"]


def test_a_province_reads_a_citys_own_file(tmp_path: Path) -> None:
    prov = init(tmp_path / "sx", name="山西省应急管理厅", level="省", division_code="140000")
    rows = [CITY | {"unit": "大同市应急管理局"}, YUNGANG | {"unit": "晋城市"}]
    sub = read_submission(clerk_table2(tmp_path / "p.xlsx", rows, submitter="大同市应急管理局"), prov)
    assert sub.ok, sub.findings.to_list()
    assert [(u.code, u.name) for u in sub.units] == [("140200", "大同市"), ("140500", "晋城市")]
