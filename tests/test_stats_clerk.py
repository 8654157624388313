"""The statistics desk as a clerk uses it (issue 11, "Statistics"): workbooks typed by county clerks,
dropped in ``inbox/``, then ``ruqi ingest``, ``ruqi stats status``, ``ruqi stats aggregate`` and
``ruqi archive verify`` run as commands, and their Chinese output read.

- a county whose workbook was sent back shows 已退回 with the reason, not 未报送;
- an excess explained in 备注 (the row's cell, or a ``备注：`` line under a one-unit table) is not warned about;
- flags and hints read in Chinese, never as codes or bare counts;
- phone numbers are checked (mobile 11 digits, fixed line with its area code) and a bad one never
  reaches the contacts summary;
- ``stats aggregate --archive`` files an incomplete summary only with ``--partial``, and the summary
  PDF passes the archive's own PDF/A check.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path

import pdfplumber
import pytest
from _stats_fixtures import clerk_table2, fill_blank, seed_roster
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine.archive import search
from engine.archive.formats import pdfa_version
from engine.cli import app
from engine.cli.common import run_app
from engine.stats import NoSuchTable, table, write_blanks
from engine.stats.codes import StatsCode
from engine.workspace import Workspace

WIDE = {"COLUMNS": "400"}  # one table row per line, so a unit's row can be read whole


def _run(ws: Workspace, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, [*args, "-w", str(ws.root)], env=WIDE)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, res.output


def _row(output: str, unit: str) -> str:
    """The printed table row of ``unit`` (box characters removed, cells separated by |)."""
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)][1:-1]
        if cells and cells[0] == unit:
            return " | ".join(cells)
    raise AssertionError(f"no row for {unit} in:\n{output}")


def _blanks(ws: Workspace, table_no: int, units: str | None = None) -> dict[str, Path]:
    batch = write_blanks(ws, table_no, "2025Q2", units=units)  # no due date: received today is not late
    return {u.name: f for u, f in zip(batch.units, batch.files, strict=True)}


def _status_json(ws: Workspace, table_no: int) -> dict[str, dict]:  # type: ignore[type-arg]
    code, out = _run(ws, "stats", "status", "-t", str(table_no), "-p", "2025Q2", "--json")
    assert code == 0, out
    return {d["unit"]: d for d in map(json.loads, out.splitlines())}


# ---- 已退回 ----------------------------------------------------------------------------------------


def test_a_county_whose_workbook_was_sent_back_shows_as_returned_with_the_reason(ws: Workspace,
                                                                                tmp_path: Path) -> None:
    blanks = _blanks(ws, 2)
    # 平城区 typed a minus sign; 云州区 sent its own workbook whose 合计 row does not add up.
    fill_blank(blanks["平城区"], ws.inbox / "平城区附件2.xlsx", {"B6": -12, "C6": 10, "D6": 30, "E6": 25})
    fill_blank(blanks["云冈区"], ws.inbox / "云冈区附件2.xlsx", {"B6": 9, "C6": 9, "D6": 41, "E6": 40})
    clerk_table2(ws.inbox / "云州区调度表.xlsx",
                 [{"unit": "云州区应急管理局", "staff_expected": "１５", "staff_actual": 12, "ent_expected": 20,
                   "ent_actual": "18家"}],
                 total={"unit": "合计", "staff_expected": 15, "staff_actual": 12, "ent_expected": 20, "ent_actual": 81},
                 submitter="云州区应急管理局")
    code, out = _run(ws, "ingest")
    assert code == 0, out
    assert (ws.rejected / "平城区附件2.xlsx").exists() and (ws.rejected / "云州区调度表.xlsx").exists()

    code, out = _run(ws, "stats", "status", "-t", "2", "-p", "2025Q2")
    assert code == 0, out
    pc = _row(out, "平城区")
    assert "已退回" in pc and "未报送" not in pc
    assert "附件2!B6" in pc and "不能是负数" in pc and "inbox/rejected/平城区附件2.xlsx" in pc
    yz = _row(out, "云州区")
    assert "已退回" in yz and "合计行" in yz and "81" in yz
    assert "已报送" in _row(out, "云冈区") and "未报送" in _row(out, "新荣区")
    assert "已退回（待重新报送）：平城区、云州区。" in out.replace("\n", "")
    states = _status_json(ws, 2)
    assert (states["平城区"]["state"], states["平城区"]["returned"], states["新荣区"]["state"]) == ("已退回", True, "未报送")

    # The summary says the same: 报送情况 sheet and 备注 column.
    code, out = _run(ws, "stats", "aggregate", "-t", "2", "-p", "2025Q2", "-o", str(tmp_path / "汇总.xlsx"), "--no-pdf")
    wb = load_workbook(tmp_path / "汇总.xlsx")
    sheet = {r[0]: r for r in wb["报送情况"].iter_rows(min_row=2, values_only=True)}
    assert sheet["平城区"][1] == "已退回" and "不能是负数" in sheet["平城区"][6]
    assert sheet["平城区"][7] == "inbox/rejected/平城区附件2.xlsx"
    assert sheet["新荣区"][1] == "未报送"

    # Corrected and sent again: 已报送, and nothing about the old rejection.
    fill_blank(blanks["平城区"], ws.inbox / "平城区附件2（改）.xlsx", {"B6": 12, "C6": 10, "D6": 30, "E6": 25})
    _run(ws, "ingest")
    states = _status_json(ws, 2)
    assert (states["平城区"]["state"], states["平城区"]["hints"]) == ("已报送", [])
    assert states["云州区"]["state"] == "已退回"


def test_a_rejected_resubmission_is_named_beside_the_accepted_numbers(ws: Workspace) -> None:
    blanks = _blanks(ws, 2, "平城区")
    fill_blank(blanks["平城区"], ws.inbox / "v1.xlsx", {"B6": 12, "C6": 10, "D6": 30, "E6": 25})
    _run(ws, "ingest")
    fill_blank(blanks["平城区"], ws.inbox / "v2.xlsx", {"B6": 12, "C6": "十", "D6": 30, "E6": 25})
    _run(ws, "ingest")
    line = _status_json(ws, 2)["平城区"]
    assert line["state"] == "已报送" and line["version"] == 1
    assert len(line["hints"]) == 1 and "重报的表已退回" in line["hints"][0] and "附件2!C6" in line["hints"][0]


# ---- 备注 explains an excess ------------------------------------------------------------------------


def _with_note_below(path: Path, note: str) -> Path:
    wb = load_workbook(path)
    sh = wb.active
    sh.cell(sh.max_row + 1, 1, note)
    wb.save(path)
    return path


def test_an_excess_explained_in_remarks_is_not_warned_about(ws: Workspace) -> None:
    blanks = _blanks(ws, 2)
    # Explained in the blank's 备注 column.
    fill_blank(blanks["平城区"], ws.inbox / "平城区.xlsx",
               {"B6": 12, "C6": 10, "D6": 30, "E6": 33, "F6": "外地迁入3家企业，已在本区注册"})
    # Explained in the 备注 column of the county's own workbook (备注 first, columns reordered).
    clerk_table2(ws.inbox / "云冈区自制.xlsx",
                 [{"unit": "云冈区", "staff_expected": 9, "staff_actual": 11, "ent_expected": 41, "ent_actual": 40,
                   "remark": "新招录2名执法人员"}],
                 order=("unit", "remark", "staff_expected", "staff_actual", "ent_expected", "ent_actual"),
                 submitter="云冈区应急管理局")
    # Explained in a 备注： line under the table of a one-unit workbook.
    _with_note_below(clerk_table2(ws.inbox / "新荣区.xlsx",
                                  [{"unit": "新荣区", "staff_expected": 6, "staff_actual": 6, "ent_expected": 10,
                                    "ent_actual": 12}], submitter="新荣区应急管理局"),
                     "备注：2家企业为区外迁入，应注册数按年初口径。")
    # Not explained: nothing, or only 无.
    fill_blank(blanks["市本级"], ws.inbox / "市本级.xlsx", {"B6": 20, "C6": 22, "D6": 15, "E6": 15})
    fill_blank(blanks["云州区"], ws.inbox / "云州区.xlsx", {"B6": 8, "C6": 8, "D6": 15, "E6": 16, "F6": "无"})
    code, out = _run(ws, "ingest")
    assert code == 0, out
    for name in ("平城区.xlsx", "云冈区自制.xlsx", "新荣区.xlsx"):  # 文件 | 结果 | 检查编号 | 标记 | 说明
        _, result, _, flags, notes = _row(out, name).split(" | ")
        assert (result, flags) == ("已归档", "") and "备注已说明" in notes
    for name in ("市本级.xlsx", "云州区.xlsx"):
        assert _row(out, name).split(" | ")[3] == "实际注册数大于应注册数"

    states = _status_json(ws, 2)
    assert [states[u]["flags"] for u in ("平城区", "云冈区", "新荣区")] == [[], [], []]
    assert states["市本级"]["hints"] == ["实际注册数大于应注册数（附件2!C6）"]
    assert states["云州区"]["hints"] == ["实际注册数大于应注册数（附件2!E6）"]

    # The explanation travels to the summary's 备注 column.
    code, out = _run(ws, "stats", "aggregate", "-t", "2", "-p", "2025Q2", "-o", str(ws.outbox / "s.xlsx"), "--no-pdf")
    rows = {r[0]: r for r in load_workbook(ws.outbox / "s.xlsx")["附件2汇总"].iter_rows(min_row=6, values_only=True)}
    assert rows["新荣区"][-1] == "2家企业为区外迁入，应注册数按年初口径。"
    assert rows["平城区"][-1] == "外地迁入3家企业，已在本区注册"



# ---- Chinese labels -------------------------------------------------------------------------------


def test_flags_and_hints_read_in_chinese(ws: Workspace) -> None:
    blanks = _blanks(ws, 2)
    fill_blank(blanks["市本级"], ws.inbox / "市本级.xlsx", {"B6": 20, "C6": 22, "D6": 15, "E6": "—"})
    code, out = _run(ws, "ingest")
    assert code == 0 and "STATS_" not in out
    assert _row(out, "市本级.xlsx").split(" | ")[3] == "实际注册数大于应注册数、“—”按0计"
    code, out = _run(ws, "stats", "status", "-t", "2", "-p", "2025Q2")
    assert code == 0 and "STATS_" not in out
    city = _row(out, "市本级")
    assert city.split(" | ")[-1] == "“—”按0计（附件2!E6）；实际注册数大于应注册数（附件2!C6）"
    assert not re.search(r"\|\s*\d+\s*$", city)  # no bare count as the hint
    pc = _row(out, "平城区").split(" | ")
    assert (pc[1], pc[-1]) == ("未报送", "")


# ---- phone numbers --------------------------------------------------------------------------------


def test_phone_numbers_are_checked_and_a_bad_one_never_reaches_the_contacts_summary(ws: Workspace,
                                                                                    tmp_path: Path) -> None:
    blanks = _blanks(ws, 1, "市本级,平城区,云冈区,新荣区")
    fill_blank(blanks["市本级"], ws.inbox / "市本级联络人.xlsx",
               {"C6": "刘阳锋", "D6": "0352-2217654", "C7": "库盛", "D7": "13903520002、0352-2217655转801"})
    fill_blank(blanks["平城区"], ws.inbox / "平城区联络人.xlsx", {"C6": "王建军", "D6": "1390352000"})  # 10 digits
    seed_roster(ws.inbox / "云冈区联络人.xlsx", [(1, "云冈区", "李娜", "科员", "2021234", "", "")])  # no area code
    seed_roster(ws.inbox / "新荣区联络人.xlsx", [(1, "新荣区", "赵六", "科员", "+86 139 0352 0003", "", "")])
    code, out = _run(ws, "ingest")
    assert code == 0, out
    assert "已归档" in _row(out, "市本级联络人.xlsx") and "已归档" in _row(out, "新荣区联络人.xlsx")
    _, result, _, _, notes = _row(out, "平城区联络人.xlsx").split(" | ")
    assert result == "已退回" and "附件1!D6（电话）填的是“1390352000”：手机号应为11位" in notes
    reason = (ws.rejected / "平城区联络人.xlsx.reason.txt").read_text(encoding="utf-8")
    assert reason.count("附件1!D6") == 1 and "“1390352000”" in reason and "手机号应为11位" in reason and "是10位" in reason
    reason = (ws.rejected / "云冈区联络人.xlsx.reason.txt").read_text(encoding="utf-8")
    assert reason.count("Sheet!E5") == 1 and "座机号“2021234”缺少区号" in reason

    states = _status_json(ws, 1)
    assert [states[u]["state"] for u in ("市本级", "平城区", "云冈区", "新荣区")] == ["已报送", "已退回", "已退回", "已报送"]
    code, out = _run(ws, "stats", "aggregate", "-t", "1", "-p", "2025Q2", "-o", str(tmp_path / "联络人汇总.xlsx"),
                     "--no-pdf")
    sh = load_workbook(tmp_path / "联络人汇总.xlsx")["附件1汇总"]
    phones = [r[3] for r in sh.iter_rows(min_row=5, values_only=True) if r[2]]
    assert phones == ["0352-2217654", "13903520002、0352-2217655转801", "+86 139 0352 0003"]


# ---- --partial and PDF/A ----------------------------------------------------------------------------


def _report_items(ws: Workspace) -> list:  # type: ignore[type-arg]
    return [r for r in search(ws, form_type="stats_report")]


def test_an_incomplete_summary_is_filed_only_with_partial_and_passes_the_archive_check(ws: Workspace,
                                                                                     tmp_path: Path) -> None:
    blanks = _blanks(ws, 2)
    assert len(blanks) == 11
    fill_blank(blanks["平城区"], ws.inbox / "平城区.xlsx", {"B6": 12, "C6": 10, "D6": 30, "E6": 25})
    fill_blank(blanks["云冈区"], ws.inbox / "云冈区.xlsx", {"B6": 9, "C6": 9, "D6": "四十一", "E6": 40})
    _run(ws, "ingest")
    out_file = tmp_path / "附件2汇总.xlsx"

    code, out = _run(ws, "stats", "aggregate", "-t", "2", "-p", "2025Q2", "-o", str(out_file), "--archive")
    assert code == 1
    assert "未归档" in out and "应报11个单位，只收到1个" in out and "--partial" in out and "已归档" not in out
    assert "已退回待重报：云冈区" in out.replace("\n", "")
    assert _report_items(ws) == []

    code, out = _run(ws, "stats", "aggregate", "-t", "2", "-p", "2025Q2", "-o", str(out_file), "--archive",
                     "--partial")
    assert code == 0, out
    assert "不完整" in out and out.count("已归档：") == 2
    items = _report_items(ws)
    assert len(items) == 2 and all("partial" in r.flags and "不完整：已报1/11个单位" in r.title for r in items)
    pdf = next(r for r in items if r.format == "pdf")
    assert pdf.format_version == "PDF/A-3B" and pdfa_version(pdf.path.read_bytes()) == "PDF/A-3B"
    with pdfplumber.open(pdf.path) as doc:
        text = doc.pages[0].extract_text().replace("\n", "")
        assert len(doc.pages) == 1
    assert "1（不完" in text and "已退回单位：云冈区" in text and "附件2!D6" in text

    code, out = _run(ws, "archive", "verify", "--deep", "--json")
    rep = json.loads(out)
    assert code == 0 and rep["ok"], out
    assert not [f for f in rep["findings"] if f["code"] == "ARCHIVE_NOT_PDFA"]
    code, out = _run(ws, "archive", "verify")
    assert code == 0 and "四性检测全部通过" in out and "PDF/A" not in out


def test_a_complete_summary_is_filed_without_partial(ws: Workspace, tmp_path: Path) -> None:
    blanks = _blanks(ws, 3, "平城区,云冈区")
    fill_blank(blanks["平城区"], ws.inbox / "平城区.xlsx", {"B7": 40, "C7": 31, "D7": 4})
    fill_blank(blanks["云冈区"], ws.inbox / "云冈区.xlsx", {"B7": 25, "C7": 25, "D7": 0})
    _run(ws, "ingest")
    code, out = _run(ws, "stats", "aggregate", "-t", "3", "-p", "2025Q2", "-o", str(tmp_path / "附件3汇总.xlsx"),
                     "--archive")
    assert code == 0, out
    assert "不完整" not in out and out.count("已归档：") == 2
    items = _report_items(ws)
    assert [r.flags for r in items] == [[], []] and all("不完整" not in r.title for r in items)
    code, out = _run(ws, "archive", "verify", "--json")
    assert code == 0 and not [f for f in json.loads(out)["findings"] if f["code"] == "ARCHIVE_NOT_PDFA"]


@pytest.mark.parametrize("remark", ["无", "—", " "])
def test_a_placeholder_in_remarks_is_no_explanation(ws: Workspace, tmp_path: Path, remark: str) -> None:
    from engine.stats import read_submission

    blank = _blanks(ws, 2, "平城区")["平城区"]
    sub = read_submission(fill_blank(blank, tmp_path / "x.xlsx", {"B6": 1, "C6": 2, "D6": 3, "E6": 3, "F6": remark}), ws)
    assert sub.findings.flatten("code", "severity") == [("STATS_ACTUAL_ABOVE_EXPECTED", "warning")]


def test_rejections_are_not_lost_when_the_file_is_deleted(ws: Workspace) -> None:
    blanks = _blanks(ws, 2, "平城区")
    fill_blank(blanks["平城区"], ws.inbox / "a.xlsx", {"B6": "一二", "C6": 10, "D6": 30, "E6": 25})
    _run(ws, "ingest")
    shutil.rmtree(ws.rejected)  # the clerk tidies up, as the reason file allows
    assert _status_json(ws, 2)["平城区"]["state"] == "已退回"


# ---- a mistyped table number, and only that, is the clerk's mistake ----------------------------------


def test_a_table_number_that_is_none_of_the_four_is_told_in_chinese(ws: Workspace, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for command in (("aggregate", "-o", str(tmp_path / "汇总.xlsx")), ("blank",)):
        # As the console script runs it (``run_app``: a RuqiError becomes Chinese lines and exit code 2).
        monkeypatch.setattr(sys, "argv", ["ruqi", "stats", *command, "-t", "7", "-p", "2025Q2", "-w", str(ws.root)])
        with pytest.raises(SystemExit) as ex:
            run_app(app)
        code, out = ex.value.code, "".join(capsys.readouterr())
        assert code == 2, out
        assert "没有统计表“7”，只有附件1、附件2、附件3、附件4。" in out and StatsCode.BAD_ARGUMENT in out
        assert "'" not in out and "KeyError" not in out


def test_only_the_typed_lookup_of_a_table_is_turned_into_a_clerks_message() -> None:
    """``_aggregate`` caught every ``KeyError`` as a mistyped number: a bug's bare key would have been
    shown to the clerk as if it were her mistake.  Now only ``NoSuchTable`` is; ``table()`` raises it."""
    with pytest.raises(NoSuchTable) as e:
        table("附件9")
    assert str(e.value) == "没有统计表“附件9”，只有附件1、附件2、附件3、附件4。"
    engine = Path(__file__).resolve().parent.parent / "engine"
    broad = []
    for path in [*engine.joinpath("cli").glob("*.py"), engine / "stats" / "blank.py", engine / "web" / "routes" / "stats.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ExceptHandler) and node.type is not None and "KeyError" in ast.unparse(node.type):
                broad.append(f"{path.name}:{node.lineno}")
    assert broad == []
