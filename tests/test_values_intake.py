"""What users type (issue 9): control characters and absurd lengths, cleaned or refused at intake, cell named.

Plans and county workbooks are typed with openpyxl the way Excel stores them: a Shift+Enter pasted
from Word is the escape ``_x000B_`` in the cell's XML, a bell ``_x0007_``; a zero-width space is
stored as itself.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import pypdf
import pytest
from _inbox_fixtures import SOFFICE, to_pdf_with_libreoffice
from _plan_fixtures import GOOD, _plan
from docx import Document
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from engine.cells import CellCode
from engine.db import session
from engine.findings import Severity
from engine.generate import RowStatus, generate
from engine.inbox import Flag, Status, ingest
from engine.plan import COLUMNS, MAX_CHARS, read_plan
from engine.simulate import fill_docx, tick_pdf
from engine.stats import accept, read_submission, write_blanks
from engine.stats.aggregate import aggregate, write_aggregate
from engine.stats.submissions import StatsRecord, current
from engine.workspace import Workspace

VT = "_x000B_"  # how Excel writes a vertical tab (Word's manual line break) into the sheet XML
BELL = "_x0007_"
JUNE_17 = datetime(2025, 6, 17, 9, 30)  # before the blanks' due date: no 逾期 in the remark column
HEADERS = [c.header for c in COLUMNS]


def where(row: int, header: str) -> str:
    return f"第{row}行 {header}（{get_column_letter(HEADERS.index(header) + 1)}列）"


def test_control_characters_are_removed_at_intake_and_each_cell_is_named(tmp_path: Path) -> None:
    rows = [GOOD | {"企业名称": f"大同市恒泰{VT}机械有限公司", "成员": f"李明{VT}王芳",
                    "检查内容": f"粉尘防爆{BELL}\u200b，通风", "组长": "张建国"}]
    row = read_plan(_plan(tmp_path / "plan.xlsx", rows)).rows[0]
    assert row.ok and row.inspection is not None
    assert (row.inspection.enterprise, row.inspection.members, row.inspection.content) == (
        "大同市恒泰机械有限公司", ["李明", "王芳"], "粉尘防爆，通风")
    assert row.findings.flatten("code", "where", "severity") == [
        (CellCode.CONTROL_CHARS, where(2, h), Severity.WARNING) for h in ("企业名称", "成员", "检查内容")]
    assert "“大同市恒泰机械有限公司”" in row.findings.items[0].message


def test_generate_with_control_characters_gives_files_word_and_libreoffice_open(ws: Workspace, tmp_path: Path) -> None:
    rows = [GOOD | {"企业名称": f"大同市恒泰{VT}机械有限公司", "检查依据": f"《计划》{VT}第三条", "专家": f"孙伟{BELL}"}]
    result = generate(ws, _plan(tmp_path / "plan.xlsx", rows), issue_date=date(2025, 3, 28), today=date(2025, 3, 28))
    (o,) = result.outcomes
    assert o.status is RowStatus.GENERATED, o.findings.to_list()
    docxs = [p for p in o.files if p.suffix == ".docx"]
    assert len(docxs) == 3
    for p in docxs:
        text = "".join(par.text for par in Document(str(p)).paragraphs)
        text += "".join(c.text for t in Document(str(p)).tables for r in t.rows for c in r.cells)
        assert "大同市恒泰机械有限公司" in text
    manifest = load_workbook(result.out_dir / "生成清单.xlsx").active
    assert manifest["D2"].value == "大同市恒泰机械有限公司"
    if SOFFICE:
        pdfs = to_pdf_with_libreoffice(docxs, tmp_path / "lo")
        assert all(len(pypdf.PdfReader(p).pages) >= 1 for p in pdfs)


def test_absurd_lengths_are_refused_with_the_limit_and_the_cell(ws: Workspace, tmp_path: Path) -> None:
    rows = [GOOD | {"企业名称": "晋" * 10_000},
            GOOD | {"检查内容": "通风" * 5_000, "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 7)},
            GOOD | {"开始日期": date(2025, 6, 3), "结束日期": date(2025, 6, 4)}]
    result = generate(ws, _plan(tmp_path / "plan.xlsx", rows), formats=("docx",), issue_date=date(2025, 3, 28), today=date(2025, 3, 28))
    assert [o.status for o in result.outcomes] == [RowStatus.INVALID, RowStatus.INVALID, RowStatus.GENERATED]
    assert [o.findings.flatten("code", "where") for o in result.outcomes[:2]] == [
        [(CellCode.TOO_LONG, where(2, "企业名称"))], [(CellCode.TOO_LONG, where(3, "检查内容"))]]
    first = result.outcomes[0].findings.items[0].message
    assert f"有 10000 个字，超过上限 {MAX_CHARS['enterprise']} 个字" in first
    assert len(first) < 200  # the message quotes the start of the value, not all of it


def test_a_row_at_every_limit_gives_a_card_that_comes_back_readable(ws: Workspace, tmp_path: Path) -> None:
    def names(n: int) -> str:
        return "、".join(["欧阳建国"] * 60)[:n].rstrip("、")

    row = GOOD | {"企业名称": "晋" * (MAX_CHARS["enterprise"] - 4) + "有限公司", "检查依据": "依" * MAX_CHARS["basis"],
                  "联合单位": "联" * MAX_CHARS["joint_units"], "组长": "组" * MAX_CHARS["leader"],
                  "成员": names(MAX_CHARS["members"]), "专家": names(MAX_CHARS["experts"]),
                  "检查内容": "容" * MAX_CHARS["content"]}
    result = generate(ws, _plan(tmp_path / "plan.xlsx", [row]), formats=("pdf",), issue_date=date(2025, 3, 28),
                      today=date(2025, 3, 28))
    (o,) = result.outcomes
    assert o.status is RowStatus.GENERATED and not o.findings, o.findings.to_list()
    pages = {k: len(pypdf.PdfReader(p).pages) for (k, _), p in o.forms.items()}
    assert pages["card"] <= 2 and max(pages.values()) <= 3 < ws.config.limits.max_pdf_pages
    tick_pdf(o.forms[("card", "pdf")], ws.inbox / "card.pdf", {i: "否" for i in range(1, 11)})
    (back,) = ingest(ws, now=datetime(2025, 4, 3, 9)).outcomes
    assert (back.status, back.serial, back.flags) == (Status.FILED, o.serial, [])
    assert set(back.answers.values()) == {"否"}


@pytest.mark.skipif(not SOFFICE, reason="LibreOffice not installed")
def test_long_names_wrap_on_the_card_and_come_back_whole(ws: Workspace, tmp_path: Path) -> None:
    """A name of 40–100 characters wraps to several lines in its cell; the reader takes them all, so the
    enterprise's genuine card (filled in Word, exported by LibreOffice, or the PDF ticked) is not SUSPECT."""
    lengths = (40, 60, MAX_CHARS["enterprise"] - 4)
    rows = [GOOD | {"企业名称": "晋" * n + "有限公司", "检查类别": "调查核查", "开始日期": date(2025, 4, k + 1),
                    "结束日期": date(2025, 4, k + 2)} for k, n in enumerate(lengths)]
    result = generate(ws, _plan(tmp_path / "plan.xlsx", rows), issue_date=date(2025, 3, 28), today=date(2025, 3, 28))
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED] * 3
    no = {i: "否" for i in range(1, 11)}
    docxs = [fill_docx(o.forms[("card", "docx")], tmp_path / f"word-{k}.docx", no) for k, o in enumerate(result.outcomes)]
    for pdf in to_pdf_with_libreoffice(docxs, tmp_path / "lo"):
        shutil.copy(pdf, ws.inbox / pdf.name)
    for k, o in enumerate(result.outcomes):
        tick_pdf(o.forms[("card", "pdf")], ws.inbox / f"ticked-{k}.pdf", no)
    outs = ingest(ws, now=datetime(2025, 4, 30, 9)).outcomes
    assert len(outs) == 6
    assert [(x.file, x.status, Flag.SUSPECT in x.flags) for x in outs if x.status is not Status.FILED
            or Flag.SUSPECT in x.flags] == []


# ---- statistics workbooks ----------------------------------------------------------------------------


def _filled(ws: Workspace, tmp: Path, remark: str) -> Path:
    from engine.simulate import fill_blank

    blank = next(f for f in write_blanks(ws, 2, "2025Q2", due=date(2025, 6, 18)).files if "-平城区-" in f.name)
    return fill_blank(blank, tmp / "平城区.xlsx", {"B6": 12, "C6": 10, "D6": 30, "E6": 25, "F6": remark})


def test_a_county_remark_with_a_line_break_is_cleaned_and_named(ws: Workspace, tmp_path: Path) -> None:
    sub = read_submission(_filled(ws, tmp_path, f"已说明{VT}原因{BELL}"), ws)
    assert sub.ok, sub.findings.to_list()
    assert [(f.code, f.severity) for f in sub.findings if f.code == CellCode.CONTROL_CHARS] == [
        (CellCode.CONTROL_CHARS, Severity.WARNING)]
    assert next(f.where for f in sub.findings if f.code == CellCode.CONTROL_CHARS).endswith("F6")
    accept(ws, sub, "item-1", received_at=JUNE_17)
    xlsx, _ = write_aggregate(aggregate(ws, 2, "2025Q2"), tmp_path / "out" / "附件2汇总.xlsx")
    cells = [c.value for row in load_workbook(xlsx).worksheets[0].iter_rows() for c in row]
    assert [v for v in cells if isinstance(v, str) and "已说明" in v] == ["已说明原因"]


@pytest.mark.parametrize("remark", ["旧版\x0b备注\x01", "=HYPERLINK(\"http://x\",\"\x0b点我\")"])
def test_a_remark_stored_by_an_older_version_does_not_stop_the_city_aggregate(ws: Workspace, tmp_path: Path,
                                                                             remark: str) -> None:
    accept(ws, read_submission(_filled(ws, tmp_path, "说明"), ws), "item-1", received_at=JUNE_17)
    with session(ws) as s:  # what a version without intake cleaning stored
        rec = s.get(StatsRecord, current(s, 2, "2025Q2")[0].id)
        assert rec is not None
        rec.values = [dict(v, remark=remark) for v in rec.values]
    xlsx, pdf = write_aggregate(aggregate(ws, 2, "2025Q2"), tmp_path / "out" / "附件2汇总.xlsx")
    sheet = load_workbook(xlsx).worksheets[0]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert remark.replace("\x0b", "\n").replace("\x01", "") in texts  # kept as typed, less what cannot be stored
    assert len(pypdf.PdfReader(pdf).pages) >= 1
