"""Word and PDF say the same thing: the clerk's own lines come from ruqi.toml [texts] into both
versions; a line typed into one template only, or a broken tag, stops `ruqi generate` with the
template, the paragraph and the fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import docx
import pytest
from _plan_fixtures import GOOD, _plan
from _render_fixtures import docx_text, paragraph_with, pdf_text, squash
from docx.text.paragraph import Paragraph
from pypdf import PdfReader
from typer.testing import CliRunner

from engine.db import session
from engine.findings import RuqiError
from engine.forms import FORMS
from engine.forms.context import build_context
from engine.generate import GenCode, RowStatus, generate
from engine.register import summary
from engine.render import RenderCode, check_templates, render_batch
from engine.render.sample import sample_inspection
from engine.render.templates import DEFAULT_TEMPLATES_DIR
from engine.workspace import Workspace

DUTY = "值班电话：0352-7654321（工作日 8:30—17:30）"


def add_line_after(path: Path, anchor: str, text: str) -> int:
    """What the README used to invite: type a new paragraph into the Word template."""
    d = docx.Document(str(path))
    n, para = paragraph_with(d, anchor)
    new = docx.oxml.OxmlElement("w:p")
    para._p.addnext(new)
    Paragraph(new, para._parent).add_run(text)
    d.save(str(path))
    return n + 1


def test_a_line_typed_into_card_docx_only_is_caught_with_place_and_fix(tdir: Path) -> None:
    n = add_line_after(tdir / "card.docx", "{{ card.t.remark", DUTY)
    (f,) = check_templates(tdir)
    assert (f.code, f.where, f.is_error) == (RenderCode.TEMPLATE_DRIFT, f"card.docx 正文第{n}段", True)
    assert squash(DUTY)[:24] in f.message and "card.html" in f.message and "[texts]" in f.message


def test_an_edit_of_card_html_only_is_caught_too(tdir: Path) -> None:
    html = tdir / "card.html"
    html.write_text(html.read_text(encoding="utf-8").replace(
        '<p class="remark">{{ card.t.remark | nobreak }}</p>', f'<p class="remark">{{{{ card.t.remark | nobreak }}}}</p><p>{DUTY}</p>'),
        encoding="utf-8")
    (f,) = check_templates(tdir)
    assert (f.code, f.where) == (RenderCode.TEMPLATE_DRIFT, "card.html")
    assert "PDF 版（card.html）有“值班电话" in f.message


def test_clerk_lines_from_ruqi_toml_print_in_both_versions_of_every_form(ws: Workspace, tmp_path: Path) -> None:
    toml = ws.root / "ruqi.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace(  # the clerk fills the [texts] lines init wrote
        "card = []", f'card = ["{DUTY}"]').replace("notice = []", 'notice = ["联系人：王磊 0352-5000003"]').replace(
        "notice_board = []", 'notice_board = ["值班电话：0352-5000004"]'), encoding="utf-8")
    ws = Workspace.open(ws.root)
    ctx = build_context(sample_inspection(0), ws.config, ws.key)
    (rs,) = render_batch([ctx], tmp_path / "out", workers=1)
    wanted = {"card": DUTY, "notice": "联系人：王磊 0352-5000003", "notice_board": "值班电话：0352-5000004"}
    for key, line in wanted.items():
        assert squash(line) in squash(docx_text(rs.files[(key, "docx")])), key
        assert squash(line) in squash(pdf_text(rs.files[(key, "pdf")])), key
    assert len(PdfReader(rs.files[("card", "pdf")]).pages) == 1  # the card with its extra line still fits one page
    with pytest.raises(RuqiError) as e:
        toml.write_text(toml.read_text(encoding="utf-8").replace('notice = ["联系人', 'notise = ["联系人'), encoding="utf-8")
        Workspace.open(ws.root)
    assert "[texts]" in e.value.finding.message and "notise" in e.value.finding.message


@pytest.mark.parametrize(("tag", "expected"), [
    ("{{ card.t.experts }", "请把“{{ card.t.experts }”改成 {{ card.t.experts }}"),
    ("{{ card.t.expert }}", "是不是要写 {{ card.t.experts }}"),
])
def test_broken_tag_messages_name_the_fix(tdir: Path, tag: str, expected: str) -> None:
    path = tdir / "card.docx"
    d = docx.Document(str(path))
    n, para = paragraph_with(d, "{{ card.t.experts }}")
    para.runs[0].text = tag
    d.save(str(path))
    errors = [f for f in check_templates(tdir) if f.is_error]
    assert errors and errors[0].where == f"card.docx 正文第{n}段"
    assert expected in errors[0].message


def test_generate_refuses_before_registering_anything_while_a_template_is_broken(ws: Workspace, tmp_path: Path,
                                                                                 tdir: Path) -> None:
    add_line_after(tdir / "card.docx", "{{ card.t.remark", DUTY)
    plan = _plan(tmp_path / "plan.xlsx", [GOOD])
    result = generate(ws, plan, templates_dir=tdir, workers=1)
    codes = [f.code for f in result.plan_findings]
    assert codes[:2] == [GenCode.TEMPLATES_BROKEN, RenderCode.TEMPLATE_DRIFT]
    assert result.outcomes == [] and not any(result.out_dir.glob("*.pdf"))
    with session(ws) as s:
        assert summary(s, 2025) == []  # nothing registered: the clerk fixes the template and runs again
    shutil.copy(DEFAULT_TEMPLATES_DIR / "card.docx", tdir / "card.docx")
    again = generate(ws, plan, templates_dir=tdir, workers=1)
    assert [o.status for o in again.outcomes] == [RowStatus.GENERATED]


def test_templates_check_command_prints_the_chinese_explanation(tdir: Path) -> None:
    from engine.cli import app

    add_line_after(tdir / "notice.docx", "{{ notice.t.body }}", "联系人：王磊")
    res = CliRunner().invoke(app, ["templates", "check", "--dir", str(tdir)], env={"COLUMNS": "300"})
    assert res.exit_code == 1
    assert "notice.docx 正文" in res.output and "Word 版有“联系人：王磊”" in res.output and "TEMPLATE_DRIFT" in res.output


def test_the_committed_templates_agree(tmp_path: Path) -> None:
    assert check_templates(DEFAULT_TEMPLATES_DIR) == []
    assert set(FORMS) == {"notice", "notice_board", "card"}
