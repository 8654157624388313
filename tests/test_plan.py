"""Plan intake: a clerk's workbook in, inspections or per-cell findings out."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from _plan_fixtures import GOOD, _plan
from openpyxl import Workbook, load_workbook

from engine.plan import COLUMNS, PlanCode, read_plan, write_template


def test_template_has_dropdowns_and_its_example_on_its_own_sheet(tmp_path: Path) -> None:
    p = write_template(tmp_path / "plan.xlsx")
    wb = load_workbook(p)
    sh = wb["检查计划"]
    assert [c.value for c in sh[1]] == [c.header for c in COLUMNS]
    # No example among the data rows: a clerk who leaves it would register it.
    assert all(c.value is None for row in sh.iter_rows(min_row=2) for c in row)
    lists = {str(dv.sqref): dv.formula1 for dv in sh.data_validations.dataValidation if dv.type == "list"}
    assert lists["F2:F1000"] == '"执法检查,督导检查,调查核查"'
    assert sh["I2"].number_format == "yyyy-mm-dd"
    assert read_plan(p, "140200").rows == []
    example = wb["填写示例"]
    assert [c.value for c in example[1]] == [c.header for c in COLUMNS]
    # The example itself is a valid row: copied onto the plan sheet under other data it reads back,
    # but the reader knows it and skips it with a warning.
    wb.remove(example)
    wb.active = wb.sheetnames.index("检查计划")
    for col, c in enumerate(COLUMNS, start=1):  # typed into rows 2 and 3, as in Excel
        sh.cell(2, col, c.example)
        sh.cell(3, col, GOOD.get(c.header) or None)
    wb.save(p)
    plan = read_plan(p, "140200")
    assert [(r.row, r.ok) for r in plan.rows] == [(3, True)]
    assert plan.findings.flatten("code", "where") == [(PlanCode.EXAMPLE_ROW, "第2行")]


def test_columns_in_any_order_under_a_title_extra_columns_ignored(tmp_path: Path) -> None:
    headers = ["备注", *reversed([c.header for c in COLUMNS])]
    p = _plan(tmp_path / "p.xlsx", [GOOD | {"备注": "随便写"}], headers, title="2025年入企检查计划")
    plan = read_plan(p, "140200")
    assert plan.ok and len(plan.rows) == 1
    i = plan.rows[0].inspection
    assert (i.county, i.county_code, i.members, i.people) == ("平城区", "140213", ["李明", "王芳", "赵强"], 5)


def test_each_bad_cell_is_named_by_row_and_column(tmp_path: Path) -> None:
    rows = [
        GOOD,
        GOOD | {"统一社会信用代码": "91140200MA0K123455"},
        GOOD | {"所属县区": "朔城区"},
        GOOD | {"结束日期": date(2025, 3, 1)},
        GOOD | {"组长": ""},
        GOOD | {"检查类别": "帮扶指导"},
        GOOD | {"开始日期": "2025年13月1日"},
        GOOD | {"行业类别": "煤矿", "等级": "二级"},
        GOOD | {"标杆企业": "可能"},
    ]
    plan = read_plan(_plan(tmp_path / "p.xlsx", rows), "140200")
    got = [(r.row, r.findings.flatten("code", "where")) for r in plan.rows]
    assert got == [
        (2, []),
        (3, [("USCC_INVALID", "第3行 统一社会信用代码（B列）")]),
        (4, [(PlanCode.COUNTY_UNKNOWN, "第4行 所属县区（C列）")]),
        (5, [(PlanCode.DATE_ORDER, "第5行 结束日期（J列）")]),
        (6, [(PlanCode.REQUIRED, "第6行 组长（K列）")]),
        (7, [(PlanCode.KIND_UNKNOWN, "第7行 检查类别（F列）")]),
        (8, [(PlanCode.DATE_INVALID, "第8行 开始日期（I列）")]),
        (9, [(PlanCode.GRADE_INVALID, "第9行 等级（E列）")]),
        (10, [(PlanCode.YESNO_INVALID, "第10行 标杆企业（O列）")]),
    ]
    assert "第18位应为“4”" in plan.rows[1].findings.items[0].message


def test_dates_as_clerks_type_them(tmp_path: Path) -> None:
    rows = [GOOD | {"开始日期": "2025年4月1日", "结束日期": "２０２５-4-3"}, GOOD | {"开始日期": "2025/4/5", "结束日期": "2025.4.5"}]
    plan = read_plan(_plan(tmp_path / "p.xlsx", rows), "140200")
    assert [(r.inspection.start, r.inspection.end) for r in plan.rows] == [
        (date(2025, 4, 1), date(2025, 4, 3)), (date(2025, 4, 5), date(2025, 4, 5))]


def test_not_a_plan_gets_one_clear_message(tmp_path: Path) -> None:
    wb = Workbook()
    wb.active.append(["序号", "单位", "姓名", "电话"])
    wb.save(tmp_path / "roster.xlsx")
    assert read_plan(tmp_path / "roster.xlsx").findings.flatten("code") == [(PlanCode.NOT_A_PLAN,)]
    (tmp_path / "plan.xlsx").write_bytes(b"%PDF-1.4 not a workbook")
    assert read_plan(tmp_path / "plan.xlsx").findings.flatten("code") == [(PlanCode.UNREADABLE,)]


def test_missing_required_column_is_reported(tmp_path: Path) -> None:
    headers = [c.header for c in COLUMNS if c.header != "组长"]
    plan = read_plan(_plan(tmp_path / "p.xlsx", [GOOD], headers), "140200")
    assert plan.findings.flatten("code") == [(PlanCode.MISSING_COLUMN,)]
    assert "组长" in plan.findings.items[0].message


def test_sample_plans_read_as_documented(samples: Path) -> None:
    good = read_plan(samples / "检查计划-2025.xlsx", "140200")
    assert len(good.rows) == 40 and all(r.ok for r in good.rows)
    bad = read_plan(samples / "检查计划-有错误.xlsx", "140200")
    assert sum(r.ok for r in bad.rows) == 2 and len(bad.rows) == 8


def test_column_letters_are_excels_own() -> None:
    from openpyxl.utils import get_column_letter

    from engine.plan import column_letter

    assert [column_letter(n) for n in range(1, 18279)] == [get_column_letter(n) for n in range(1, 18279)]


def test_reading_a_plan_does_not_load_openpyxl(tmp_path: Path) -> None:
    """openpyxl (and numpy with it) cost ~0.35 s to import: ``ruqi generate`` reads the plan without it."""
    import subprocess
    import sys

    plan = _plan(tmp_path / "plan.xlsx", [GOOD, {**GOOD, "统一社会信用代码": "bad"}])
    code = ("import sys; from engine.plan import read_plan; p = read_plan(sys.argv[1]); "
            "assert p.rows and any(r.findings for r in p.rows); print('openpyxl' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(plan)], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
