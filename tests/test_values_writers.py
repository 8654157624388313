"""No writer can be crashed by a value, and no workbook the engine writes holds a formula (issue 9).

The register rows here are written straight into the database, as a version without intake
cleaning would have stored them: a formula for an enterprise name, control characters (a vertical
tab, a NUL, a terminal escape) and rich markup (``[/]``).  Every writer then runs through its CLI:
``register`` (screen and ``--out``), ``review`` (``--out``, ``--pdf``), ``review export``, the
generate manifest, and the .docx/PDF renderer.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pypdf
import pytest
from _inbox_fixtures import SOFFICE, kit_inspection, render_card, to_pdf_with_libreoffice
from _plan_fixtures import GOOD, _plan
from docx import Document
from openpyxl import load_workbook
from typer.testing import CliRunner

from engine import register, workspace
from engine.cli import app
from engine.db import session
from engine.generate import generate
from engine.inspection import Inspection
from engine.text import printable
from engine.workspace import Workspace

FORMULA = "=cmd|' /C calc'!A0"
CONTROL = "大同市恒泰\x0b机械\x00有限公司\x1b[2J"
MARKUP = "大同市[/]化工有限公司"
NAMES = (FORMULA, CONTROL, MARKUP)
WIDE = {"COLUMNS": "300"}  # rich wraps table cells at the terminal width


def _dirty(i: int, name: str) -> Inspection:
    insp = kit_inspection(i)
    return dataclasses.replace(insp, enterprise=name, leader="张\x0c建国", members=["李\x07明", "王芳"],
                               basis="《计划》\x0b第三条", content="通风\x1f瓦斯")


@pytest.fixture
def dirty_ws(tmp_path: Path) -> Workspace:
    ws = workspace.init(tmp_path / "ws")
    with session(ws) as s:
        for i, name in enumerate(NAMES):
            register.record(s, _dirty(i, name), ws.config.division_code, issue_date=date(2025, 3, 1))
    return ws


def formula_cells(path: Path) -> list[str]:
    wb = load_workbook(path)
    return [f"{sh.title}!{c.coordinate}" for sh in wb.worksheets for row in sh.iter_rows() for c in row
            if c.data_type == "f"]


def texts(path: Path) -> set[str]:
    wb = load_workbook(path)
    return {c.value for sh in wb.worksheets for row in sh.iter_rows() for c in row if isinstance(c.value, str)}


def run(*args: str) -> str:
    r = CliRunner().invoke(app, list(args), env=WIDE)
    assert r.exit_code in (0, 1), r.output  # 1: the review found something to report; never a crash
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.stdout


def test_register_out_writes_names_as_text_and_the_screen_survives_them(dirty_ws: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "台账.xlsx"
    screen = run("register", "--year", "2025", "--out", str(out), "--workspace", str(dirty_ws.root))
    assert formula_cells(out) == []
    assert {FORMULA, printable(CONTROL), MARKUP} <= texts(out)
    assert MARKUP in screen and "\x1b" not in screen and "\x00" not in screen
    sheet = load_workbook(out).active
    formula_cell = next(c for row in sheet.iter_rows() for c in row if c.value == FORMULA)
    assert formula_cell.quotePrefix  # stays text even after someone edits it in Excel


def test_review_list_pdf_and_export_are_written(dirty_ws: Workspace, tmp_path: Path) -> None:
    xlsx, pdf, bag = tmp_path / "审查清单.xlsx", tmp_path / "审查报告.pdf", tmp_path / "审查包"
    period = ("--from", "2025-01-01", "--to", "2025-12-31", "--today", "2025-12-31")
    run("review", *period, "--out", str(xlsx), "--pdf", str(pdf), "--workspace", str(dirty_ws.root))
    assert formula_cells(xlsx) == []
    assert {FORMULA, MARKUP} <= texts(xlsx)
    assert len(pypdf.PdfReader(pdf).pages) >= 1
    out = run("review", "export", "--out", str(bag), *period, "--json", "--workspace", str(dirty_ws.root))
    assert json.loads(out)["errors"] == []
    (index,) = bag.rglob("index.xlsx")
    assert formula_cells(index) == []
    assert {FORMULA, printable(CONTROL), MARKUP} <= texts(index)


def test_the_generate_manifest_keeps_a_formula_name_as_text(ws: Workspace, tmp_path: Path) -> None:
    plan = _plan(tmp_path / "plan.xlsx", [GOOD | {"企业名称": FORMULA}])
    wb = load_workbook(plan)
    wb.active["A2"].data_type = "s"  # typed as '=… in Excel: text
    wb.save(plan)
    result = generate(ws, plan, formats=("docx",), issue_date=date(2025, 3, 28), today=date(2025, 3, 28))
    assert result.ok, [o.findings.to_list() for o in result.outcomes]
    manifest = result.out_dir / "生成清单.xlsx"
    assert formula_cells(manifest) == []
    assert load_workbook(manifest).active["D2"].value == FORMULA


def test_forms_render_from_a_register_row_with_control_characters(dirty_ws: Workspace, tmp_path: Path) -> None:
    insp = _dirty(1, CONTROL)
    files = render_card(dirty_ws, dataclasses.replace(insp, serial="140200-2025-0002", visit_total=1, visit_kind=1),
                        tmp_path / "out")
    doc = Document(str(files["docx"]))
    text = "".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "机械有限公司" in text and "\x00" not in text
    assert len(pypdf.PdfReader(files["pdf"]).pages) == 1
    if SOFFICE:
        (pdf,) = to_pdf_with_libreoffice([files["docx"]], tmp_path / "lo")
        assert len(pypdf.PdfReader(pdf).pages) >= 1
