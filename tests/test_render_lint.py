"""`ruqi templates check`: templates a clerk edited in Word, broken the ways Word breaks them."""

from __future__ import annotations

from pathlib import Path

import docx
from _render_fixtures import docx_text, paragraph_with
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from engine.render import RenderCode, check_templates, render_docx
from engine.render.build_templates import set_run_font
from engine.render.sample import sample_context


def split_run(para: Paragraph, at: str) -> None:
    """What Word does when a clerk retypes half a tag: one run becomes two, the second in bold."""
    run = para.runs[0]
    head, tail = run.text.split(at, 1)
    run.text = head
    new = para.add_run(at + tail)
    set_run_font(new._r, "仿宋_GB2312", 16)
    new.bold = True


def test_the_shipped_templates_are_clean() -> None:
    assert check_templates() == []


def test_a_tag_split_across_runs_is_named_with_file_and_paragraph(tdir: Path) -> None:
    path = tdir / "notice.docx"
    d = docx.Document(str(path))
    n, para = paragraph_with(d, "{{ notice.t.body }}")
    split_run(para, "t.body }}")
    d.save(str(path))
    assert [r.text for r in docx.Document(str(path)).paragraphs[n - 1].runs] == ["{{ notice.", "t.body }}"]

    findings = check_templates(tdir)
    assert [(f.code, f.where) for f in findings] == [(RenderCode.TEMPLATE_SPLIT_TAG, f"notice.docx 正文第{n}段")]
    msg = findings[0].message
    assert "{{ notice.t.body }}" in msg and "拆成了 2 段" in msg and "“{{ notice.”+“t.body }}”" in msg
    # docxtpl glues this one back together: generation still works, the lint only warns.
    assert not findings[0].is_error
    out = render_docx("notice", sample_context(0), tdir / "out.docx", templates_dir=tdir)
    assert sample_context(0)["notice"]["t"]["body"] in docx_text(out)


def test_unknown_variable_syntax_error_and_tag_across_paragraphs(tdir: Path) -> None:
    board = tdir / "notice_board.docx"
    d = docx.Document(str(board))
    n1, p1 = paragraph_with(d, "{{ notice_board.t.phone }}")
    p1.runs[0].text = "{{ notice_board.t.phoen }}"  # a typo
    n2, p2 = paragraph_with(d, "{{ notice_board.t.email }}")
    p2.runs[0].text = "{{ notice_board.t.email }"  # a deleted brace
    d.save(str(board))
    card = tdir / "card.docx"
    d = docx.Document(str(card))
    n3, p3 = paragraph_with(d, "{{ card.t.remark")
    p3.runs[0].text = "{{ card.t."  # the clerk pressed Enter inside the tag
    new = docx.oxml.OxmlElement("w:p")
    p3._p.addnext(new)
    Paragraph(new, p3._parent).add_run("remark|nobreak }}")
    d.save(str(card))

    got = [(f.code, f.where) for f in check_templates(tdir)]
    assert (RenderCode.TEMPLATE_UNKNOWN_VAR, f"notice_board.docx 正文第{n1}段") in got
    assert (RenderCode.TEMPLATE_SYNTAX, f"notice_board.docx 正文第{n2}段") in got
    assert (RenderCode.TEMPLATE_SYNTAX, f"card.docx 正文第{n3}段") in got
    assert (RenderCode.TEMPLATE_SYNTAX, f"card.docx 正文第{n3 + 1}段") in got
    unknown = next(f for f in check_templates(tdir) if f.code == RenderCode.TEMPLATE_UNKNOWN_VAR)
    assert "notice_board.t.phoen" in unknown.message and "不是已知变量" in unknown.message


def test_dict_method_names_and_html_templates_are_checked_too(tdir: Path) -> None:
    html = tdir / "card.html"
    html.write_text(html.read_text(encoding="utf-8").replace("card['items']", "card.items")
                    .replace("{{ card.t.unit }}", "{{ card.t.unti }}"), encoding="utf-8")
    board = tdir / "notice_board.html"
    board.write_text(board.read_text(encoding="utf-8").replace("{% endfor %}", "", 1), encoding="utf-8")
    findings = check_templates(tdir)
    got = {(f.code, f.where.split(" ")[0]) for f in findings}
    assert got == {(RenderCode.TEMPLATE_UNKNOWN_VAR, "card.html"), (RenderCode.TEMPLATE_SYNTAX, "notice_board.html")}
    messages = " ".join(f.message for f in findings)
    assert "card['items']" in messages and "card.t.unti" in messages


def test_deleted_qr_picture_is_a_warning_and_generation_goes_on(tdir: Path) -> None:
    path = tdir / "card.docx"
    d = docx.Document(str(path))
    header = d.sections[0].header.paragraphs[0]
    for run in header.runs:
        for drawing in run._r.findall(qn("w:drawing")):
            run._r.remove(drawing)
    d.save(str(path))
    findings = check_templates(tdir)
    assert [(f.code, f.severity) for f in findings] == [(RenderCode.TEMPLATE_NO_QR, "warning")]
    out = render_docx("card", sample_context(1), tdir / "card-out.docx", templates_dir=tdir)
    assert "检查编号：140200-2025-0002" in docx_text(out)


def test_a_sentence_typed_over_a_placeholder_in_word_only_is_caught(tdir: Path) -> None:
    # This used to be the README's invitation; the PDF (notice_board.html) kept the old words.
    # Texts both versions print come from ruqi.toml (see tests/test_card_templates.py).
    path = tdir / "notice_board.docx"
    d = docx.Document(str(path))
    n, para = paragraph_with(d, "{{ notice_board.t.phone }}")
    para.runs[0].text = "举报电话：0352-7654321（工作日 8:30—17:30）；"
    d.save(str(path))
    (f,) = check_templates(tdir)
    assert (f.code, f.where) == (RenderCode.TEMPLATE_DRIFT, f"notice_board.docx 正文第{n}段")
    assert "7654321" in f.message and "12350" in f.message


def test_missing_or_corrupt_template_file(tdir: Path) -> None:
    (tdir / "notice.docx").unlink()
    (tdir / "card.docx").write_bytes(b"not a zip")
    got = [(f.code, f.where) for f in check_templates(tdir)]
    assert got == [(RenderCode.TEMPLATE_MISSING, "notice.docx"), (RenderCode.TEMPLATE_MISSING, "card.docx")]


def test_templates_check_command_exit_codes(tdir: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from engine.render.cli import register

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    register(app)
    ok = CliRunner().invoke(app, ["templates", "check", "--dir", str(tdir)])
    assert ok.exit_code == 0 and "模板检查通过" in ok.output
    d = docx.Document(str(tdir / "notice.docx"))
    _, para = paragraph_with(d, "{{ notice.t.body }}")
    para.runs[0].text = "{{ notice.t.bdy }}"
    d.save(str(tdir / "notice.docx"))
    bad = CliRunner().invoke(app, ["templates", "check", "--dir", str(tdir), "--json"])
    assert bad.exit_code == 1 and '"code": "TEMPLATE_UNKNOWN_VAR"' in bad.output
