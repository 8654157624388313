"""Blank statistics workbooks: official layout, locked unit, validated inputs, hidden metadata, units per workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from engine.db import session
from engine.findings import RuqiError
from engine.stats import StatsKind, recognise, units_for, write_blanks
from engine.stats.submissions import get_round
from engine.stats.units import resolve
from engine.workspace import Workspace, init
from engine.xlsx_safe import csv_text, set_text


def test_table2_layout_matches_the_seed(ws: Workspace) -> None:
    f = write_blanks(ws, 2, "2025Q2", units="平城区").files[0]
    assert f.name == "附件2-调度统计表-平城区-2025Q2.xlsx"
    sh = load_workbook(f)["附件2"]
    assert (sh["A1"].value, sh["A2"].value, sh["A3"].value, sh["E3"].value) == (
        "附件2", "“扫码入企”工作推进情况调度统计表", "填报单位：平城区应急管理局", "填报时间：")
    assert [c.value for c in sh[4]] == ["单位", "移动应急APP政务人员注册数", None, "移动应急APP企业实名认证注册数", None, "备注"]
    assert [c.value for c in sh[5]] == [None, "应注册人数", "实际注册人数", "应注册企业数", "实际注册企业数", None]
    assert {"A2:F2", "A4:A5", "B4:C4", "D4:E4", "F4:F5"} <= {str(r) for r in sh.merged_cells.ranges}
    assert sh["A6"].value == "平城区"


def test_unit_locked_inputs_unlocked_and_validated(ws: Workspace) -> None:
    sh = load_workbook(write_blanks(ws, 2, "2025Q2", units="平城区").files[0])["附件2"]
    assert sh.protection.sheet
    assert sh["A6"].protection.locked and sh["A3"].protection.locked
    assert not any(sh[ref].protection.locked for ref in ("B6", "C6", "D6", "E6", "F6", "F3"))
    whole = sorted((str(dv.sqref), dv.operator, dv.formula1) for dv in sh.data_validations.dataValidation
                   if dv.type == "whole")
    assert whole == [(ref, "greaterThanOrEqual", "0") for ref in ("B6", "C6", "D6", "E6")]


def test_hidden_metadata_sheet_and_custom_properties(ws: Workspace) -> None:
    f = write_blanks(ws, 3, "2025Q2", due=None, units="云冈区").files[0]
    wb = load_workbook(f)
    meta = wb["_ruqi"]
    assert meta.sheet_state == "veryHidden"
    pairs = {r[0].value: r[1].value for r in meta.iter_rows()}
    assert {k: pairs[k] for k in ("app", "table", "period", "unit_code", "unit_name")} == {
        "app": "ruqi", "table": "3", "period": "2025Q2", "unit_code": "140214", "unit_name": "云冈区"}
    assert len(pairs["sig"]) == 20
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert props["ruqi.table"] == "3" and props["ruqi.unit_code"] == "140214"
    assert recognise(f) is StatsKind.SELF_CHECK


def test_table3_header_names_the_quarter_in_three_levels(ws: Workspace) -> None:
    sh = load_workbook(write_blanks(ws, 3, "2025Q3", units="平城区").files[0])["附件3"]
    assert [c.value for c in sh[4]] == ["省市县（区）", "冶金工贸企业", None, None]
    assert [c.value for c in sh[5]] == [None, "应注册企业数", "第三季度企业重大事故隐患排查上报", None]
    assert [c.value for c in sh[6]] == [None, None, "上报企业数", "上报重大事故隐患条数"]
    assert {"A4:A6", "B4:D4", "B5:B6", "C5:D5"} <= {str(r) for r in sh.merged_cells.ranges}


def test_table4_drop_downs_for_user_type_and_manual_part(ws: Workspace) -> None:
    sh = load_workbook(write_blanks(ws, 4, "2025Q2", units="平城区").files[0])["附件4"]
    lists = [dv.formula1 for dv in sh.data_validations.dataValidation if dv.type == "list"]
    assert lists[0] == '"企业,政务人员"'
    assert lists[1].count("部分：") == 7 and "第七部分：政务人员如何从“互联网+执法”系统查看上报隐患" in lists[1]
    assert len(lists[1]) <= 257  # Excel's limit for an inline list is 255 characters plus the quotes


def test_due_date_is_printed_and_the_round_recorded(ws: Workspace) -> None:
    from datetime import date

    batch = write_blanks(ws, 2, "2025Q2", due=date(2025, 6, 18))
    assert len(batch.files) == 11
    note = load_workbook(batch.files[0])["附件2"]["A8"].value
    assert "请于2025年6月18日前报送" in note
    with session(ws) as s:
        rnd = get_round(s, 2, "2025Q2")
        assert (rnd.due, len(rnd.unit_codes)) == (date(2025, 6, 18), 11)


def test_jincheng_includes_the_development_zone_with_a_synthetic_code(tmp_path: Path) -> None:
    jc = init(tmp_path / "jc", name="晋城市应急管理局", division_code="140500")
    units = units_for(jc.config)
    assert [(u.code, u.name) for u in units][:2] == [("140500", "市本级"), ("140502", "城区")]
    assert (units[-1].code, units[-1].name, units[-1].full_name) == ("140500KF", "开发区", "晋城市开发区经济发展与安全监管部")
    assert resolve("开发区经济发展与安全监管部", units, jc.config) is units[-1]
    assert resolve("晋城市应急管理局", units, jc.config) is units[0]
    files = write_blanks(jc, 2, "2025Q2").files
    assert files[-1].name == "附件2-调度统计表-开发区-2025Q2.xlsx"


def test_province_workspace_reports_cities_and_units_option_picks_one(tmp_path: Path) -> None:
    prov = init(tmp_path / "sx", name="山西省应急管理厅", level="省", division_code="140000")
    assert [u.name for u in units_for(prov.config)] == ["省本级", "大同市", "晋城市", "临汾市", "吕梁市"]
    batch = write_blanks(prov, 2, "2025Q2", units="大同市")
    assert [u.code for u in batch.units] == ["140200"]
    assert load_workbook(batch.files[0])["附件2"]["A3"].value == "填报单位：大同市应急管理局"
    with pytest.raises(RuqiError) as e:
        write_blanks(prov, 2, "2025Q2", units="朔州市")
    assert "朔州市" in str(e.value)


def test_bad_table_or_period_is_a_clear_error(ws: Workspace) -> None:
    with pytest.raises(RuqiError, match="附件1、附件2"):
        write_blanks(ws, 5, "2025Q2")
    with pytest.raises(RuqiError, match="2025Q2"):
        write_blanks(ws, 2, "2025-06")


def test_outside_text_never_becomes_a_formula(tmp_path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    sh = wb.active
    for i, v in enumerate(["=HYPERLINK(\"http://x\",\"点我\")", "+86 13800000000", "-1", "@SUM(A1)", "正常文字"], 1):
        set_text(sh.cell(i, 1), v)
    wb.save(tmp_path / "x.xlsx")
    back = load_workbook(tmp_path / "x.xlsx").active
    assert [(c.value, c.data_type, c.quotePrefix) for c in back["A"]] == [
        ("=HYPERLINK(\"http://x\",\"点我\")", "s", True), ("+86 13800000000", "s", True), ("-1", "s", True),
        ("@SUM(A1)", "s", True), ("正常文字", "s", False)]
    assert [csv_text(v) for v in ("=1+1", "正常", None)] == ["'=1+1", "正常", ""]
