"""What a clerk types wrong is answered in Chinese, never with an engine error: every date option reads a date
the same way (one ``day_option``) and refuses an impossible one as a usage error; a negative sample count is
refused; messages that name a ``ruqi.toml`` section print its brackets; an archived file is shown in Chinese."""

from __future__ import annotations

import json

import pytest
from _archive_fixtures import card_meta, pdf_bytes
from test_cli_zh import ALL, english_in
from typer.testing import CliRunner

from engine.archive import file_item
from engine.cli import app
from engine.forms import NO, QUESTION_NUMBERS, YES, FormType
from engine.inbox import Flag
from engine.workspace import Workspace

DATE_OPTIONS = {"--today", "--from", "--to", "--due", "--issue-date"}
# Each command with a date option, with what else it needs to get as far as reading the date.
NEEDS: dict[str, list[str]] = {
    "status": [], "review": [], "review export": ["--out", "bag"], "archive search": [], "serve": [],
    "generate": ["--plan", "PLAN"], "stats blank": ["-t", "2", "-p", "2025Q2"],
    "stats status": ["-t", "2", "-p", "2025Q2"], "stats aggregate": ["-t", "2", "-p", "2025Q2", "-o", "out.xlsx"],
}
CASES = [(path, opt) for path, cmd in ALL for param in getattr(cmd, "params", [])
         for opt in param.opts if opt in DATE_OPTIONS]


def test_every_date_option_is_covered() -> None:
    assert {" ".join(p) for p, _ in CASES} == set(NEEDS)


def _invoke(ws: Workspace, path: list[str], opt: str, value: str) -> tuple[int, str]:
    plan = ws.root / "计划.xlsx"
    plan.write_bytes(b"")
    extra = [str(plan) if a == "PLAN" else str(ws.root / a) if a in ("bag", "out.xlsx") else a for a in NEEDS[" ".join(path)]]
    res = CliRunner().invoke(app, [*path, "-w", str(ws.root), *extra, opt, value], env={"COLUMNS": "200"})
    return res.exit_code, res.output


@pytest.mark.parametrize(("path", "opt"), CASES, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_an_impossible_date_is_a_chinese_usage_error(ws: Workspace, path: list[str], opt: str) -> None:
    code, out = _invoke(ws, path, opt, "2025-02-30")
    assert code == 2, out
    assert f"错误：“{opt}”的值不对：日期“2025-02-30”无法识别，请写成 2025-06-01 或 2025年6月1日。" in out, out
    assert english_in(out) == [] and "INTERNAL_ERROR" not in out and "Error" not in out
    assert not (ws.root / "bag").exists() and not (ws.root / "out.xlsx").exists()  # nothing was done


@pytest.mark.parametrize("path", [["status"], ["archive", "search"], ["review"]], ids=" ".join)
def test_a_date_in_chinese_is_read_by_every_date_option(ws: Workspace, path: list[str]) -> None:
    opt = "--today" if path != ["archive", "search"] else "--from"
    code, out = _invoke(ws, path, opt, "2025年6月1日")
    assert code == 0, out


def test_a_negative_sample_is_refused_in_chinese(ws: Workspace) -> None:
    res = CliRunner().invoke(app, ["archive", "verify", "-w", str(ws.root), "--sample", "-3"])
    assert res.exit_code == 2 and "错误：“--sample”的值不对：抽查件数应为 0 或正整数（现为 -3）。" in res.output, res.output


def test_messages_naming_a_config_section_keep_its_brackets(ws: Workspace) -> None:
    """rich reads ``[register]`` as a style tag and prints nothing of it unless it is escaped."""
    res = CliRunner().invoke(app, ["mail", "fetch", "-w", str(ws.root)])
    assert "ruqi.toml 中没有配置邮箱（[[mail]]）" in res.output, res.output
    res = CliRunner().invoke(app, ["register", "sync", "-w", str(ws.root)])
    assert "ruqi.toml 中没有 [register]" in res.output, res.output


def test_archive_show_speaks_chinese(ws: Workspace) -> None:
    """``ruqi archive show`` (which the README sends a clerk to for a file's mail source) printed the row's
    Python dict: English field names, ``card_returned``, ``['LATE']``, ``None``, the ``extra`` dict."""
    mail = {"sender": "企业 <a@example.cn>", "received_at": "2025-03-12T09:30:00", "subject": "反馈卡",
            "message_id": "<m1@example.cn>"}
    row = file_item(ws, pdf_bytes(), card_meta(flags=[Flag.LATE], extra={
        "answers": {str(q): NO for q in QUESTION_NUMBERS} | {"3": YES}, "mail": mail, "read_method": "pdf_form"}))
    res = CliRunner().invoke(app, ["archive", "show", row.archival_code, "-w", str(ws.root)], env={"COLUMNS": "300"})
    out = res.output
    assert res.exit_code == 0, out
    for line in (f"档号：{row.archival_code}", f"文种：{FormType.CARD_RETURNED.zh}（card_returned）",
                 f"标记：{Flag.LATE.zh}", "保管期限：30年（D30）", "替代的条目：—", "第3题 是；第4题 否",
                 "邮件来源：企业 <a@example.cn>，服务器收到 2025-03-12 09:30:00，主题“反馈卡”，邮件编号 <m1@example.cn>"):
        assert line in out, (line, out)
    for raw in ("archival_code", "form_type", "extra", "None", "{'", "['", "read_method", "pdf_form"):
        assert raw not in out, (raw, out)
    data = CliRunner().invoke(app, ["archive", "show", row.archival_code, "-w", str(ws.root), "--json"]).output
    assert json.loads(data)["extra"]["read_method"] == "pdf_form"  # every field stays there for programs


def test_a_folder_given_as_the_plan_is_told_as_a_folder(ws: Workspace) -> None:
    """The clerk drags the folder her plan is in onto the command line: she is told that, and which
    workbooks the folder holds; a name that is nowhere is told apart from it."""
    folder = ws.root / "计划"
    folder.mkdir()
    (folder / "入企检查计划.xlsx").write_bytes(b"")
    (folder / "~$入企检查计划.xlsx").write_bytes(b"")  # Excel's lock file while the plan is open
    res = CliRunner().invoke(app, ["generate", "--plan", str(folder), "-w", str(ws.root)], env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert (f"“{folder}”是一个文件夹，不是计划文件。--plan 后面要写填好的计划表文件（Excel 工作簿 .xlsx，"
            "用 ruqi plan-template 生成的模板填写），例如 --plan 入企检查计划.xlsx。该文件夹中的 .xlsx 文件：入企检查计划.xlsx。"
            "（PLAN_IS_FOLDER）") in res.output.replace("\n", "")
    assert "找不到" not in res.output and "~$" not in res.output
    res = CliRunner().invoke(app, ["generate", "--plan", str(ws.root / "没有.xlsx"), "-w", str(ws.root)], env={"COLUMNS": "400"})
    assert res.exit_code == 2 and "找不到计划文件“" in res.output and "（PLAN_NOT_FOUND）" in res.output, res.output
