"""The three forms as .docx and PDF for one realistic inspection, read back with the tools people use."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import docx
import pdfplumber
import pytest
from _render_fixtures import (
    decode_qr_image,
    docx_image,
    docx_images,
    docx_text,
    missing_texts,
    pdf_page_image,
    pdf_text,
    squash,
)
from docx.oxml.ns import qn
from PIL import ImageChops
from pypdf import PdfReader, PdfWriter

from engine.forms import CARD_QUESTIONS, FORMS, TEN_PROHIBITIONS
from engine.forms.context import build_context
from engine.identifiers import make_uscc, parse_qr
from engine.inspection import Inspection
from engine.render import (
    CHECKBOX_FIELDS,
    FORM_KEYS,
    TEXT_FIELDS,
    RenderCode,
    RenderError,
    output_name,
    render_batch,
    render_docx,
    render_pdf,
)
from engine.render.build_templates import build_all
from engine.render.templates import DEFAULT_TEMPLATES_DIR
from engine.workspace import Workspace, init

MM = 72 / 25.4


def inspection(**kw: Any) -> Inspection:
    base: dict[str, Any] = dict(
        enterprise="大同市云冈区晋华化工有限公司", uscc=make_uscc("91140214MA0K7R2B3"), county="云冈区", county_code="140214",
        industry="危险化学品", grade="二级", kind="督导检查", basis="《大同市应急管理局2025年度安全生产监督检查计划》",
        start=date(2025, 6, 23), end=date(2025, 6, 25), leader="王建国", members=["李红梅", "张伟"], experts=["钱立新"],
        joint_units="大同市消防救援支队", content="重大危险源管控、动火作业审批及特殊作业安全管理情况",
        serial="140200-2025-0042", visit_total=3, visit_kind=2, issue_date=date(2025, 6, 20),
    )
    base.update(kw)
    return Inspection(**base)


@pytest.fixture(scope="module")
def workspace_(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return init(tmp_path_factory.mktemp("render") / "ws")


@pytest.fixture(scope="module")
def ctx(workspace_: Workspace) -> dict[str, Any]:
    return build_context(inspection(), workspace_.config, workspace_.key)


@pytest.fixture(scope="module")
def rendered(ctx: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    out = tmp_path_factory.mktemp("out")
    (rs,) = render_batch([ctx], out, workers=1)
    return rs.files


def test_batch_of_one_writes_six_files_named_for_the_clerk(rendered: dict[tuple[str, str], Path]) -> None:
    assert sorted(rendered) == sorted((k, f) for k in FORM_KEYS for f in ("docx", "pdf"))
    names = {p.name for p in rendered.values()}
    assert "140200-2025-0042_大同市云冈区晋华化工有限公司_入企检查监督反馈卡.pdf" in names
    assert all(p.stat().st_size > 0 for p in rendered.values())


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_pdf_holds_every_sentence_and_value_as_text(form_key: str, ctx: dict[str, Any],
                                                    rendered: dict[tuple[str, str], Path]) -> None:
    text = pdf_text(rendered[(form_key, "pdf")])
    assert missing_texts(text, ctx, form_key) == []
    # Spot-check the seed wording and the pre-filled values behind those sentences.
    flat = squash(text)
    if form_key == "notice_board":
        assert all(squash(t) in flat for t in TEN_PROHIBITIONS)
        assert "十是不得乱查封、乱扣押、乱冻结、动辄责令停产停业。" in flat
    if form_key == "card":
        assert all(squash(q) in flat for q in CARD_QUESTIONS)
        assert "第3次入企业检查，第2次□执法检查、☑督导检查、□调查核查" in flat
        assert "检查人员：王建国、李红梅、张伟" in flat
        assert ctx["v"]["c_dis_email"] in flat and ctx["v"]["p_sup_phone"] in flat
    if form_key == "notice":
        assert "依据《大同市应急管理局2025年度安全生产监督检查计划》，我局与大同市消防救援支队于2025年6月23日至25日，一行4人" in flat


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_docx_holds_every_sentence_and_value(form_key: str, ctx: dict[str, Any],
                                             rendered: dict[tuple[str, str], Path]) -> None:
    text = docx_text(rendered[(form_key, "docx")])
    assert missing_texts(text, ctx, form_key) == []
    assert "{{" not in text and "{%" not in text


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_docx_runs_name_the_east_asian_font_and_page_follows_gb9704(
        form_key: str, rendered: dict[tuple[str, str], Path]) -> None:
    d = docx.Document(str(rendered[(form_key, "docx")]))
    sec = d.sections[0]
    assert (round(sec.page_width.mm), round(sec.page_height.mm)) == (210, 297)
    assert (round(sec.top_margin.mm), round(sec.left_margin.mm)) == (37, 28)
    assert round(sec.page_width.mm - sec.left_margin.mm - sec.right_margin.mm) == 156
    assert round(sec.page_height.mm - sec.top_margin.mm - sec.bottom_margin.mm) == 225
    runs = [r for p in _all_paragraphs(d) for r in p.runs if re.search(r"[\u4e00-\u9fff]", r.text)]
    assert runs
    fonts = {r._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) for r in runs}
    assert fonts <= {"仿宋_GB2312", "方正小标宋简体", "黑体"}
    title = next(r for p in d.paragraphs for r in p.runs if r.text == FORMS[form_key].title)
    assert title.font.size.pt == 22 and title._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "方正小标宋简体"
    if form_key != "card":  # the card uses 4号 to fit one sheet (engine/render/layout.py)
        body = [r for p in d.paragraphs for r in p.runs if r.text.startswith(("依据", "检查组所有人员"))]
        assert body and all(r.font.size.pt == 16 for r in body)


def _all_paragraphs(d: Any) -> list[Any]:
    ps = list(d.paragraphs)
    for t in d.tables:
        for row in t.rows:
            for cell in row.cells:
                ps += cell.paragraphs
    return ps


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_pdf_page_geometry_fonts_and_sizes(form_key: str, rendered: dict[tuple[str, str], Path]) -> None:
    with pdfplumber.open(rendered[(form_key, "pdf")]) as pdf:
        pages = pdf.pages
        assert (round(pages[0].width / MM), round(pages[0].height / MM)) == (210, 297)
        if form_key != "notice_board":
            assert len(pages) == 1  # the card must stay one sheet
        chars = [c for p in pages for c in p.chars if re.match(r"[\u4e00-\u9fff]", c["text"])]
        body = [c for c in chars if c["top"] > 37 * MM - 1]  # below the header band
        assert min(c["x0"] for c in body) == pytest.approx(28 * MM, abs=1.0)
        assert max(c["x1"] for c in body) <= (28 + 156) * MM + 1
        assert max(c["bottom"] for c in body) <= (37 + 225) * MM + 1
        title = [c for c in chars if c["text"] == FORMS[form_key].title[0]]
        assert any(round(c["size"]) == 22 for c in title)
        sizes = {round(c["size"]) for c in body}
        assert (16 if form_key != "card" else 14) in sizes
    fonts = {f for page in PdfReader(rendered[(form_key, "pdf")]).pages for f in _font_names(page)}
    assert fonts and all("+" in f for f in fonts)  # embedded subsets


def _font_names(page: Any) -> set[str]:
    res = page["/Resources"].get_object().get("/Font", {})
    return {str(f.get_object()["/BaseFont"]) for f in res.values()}


@pytest.mark.parametrize("form_key", FORM_KEYS)
def test_qr_code_in_pdf_and_docx_decodes_to_the_signed_serial(form_key: str, ctx: dict[str, Any],
                                                              workspace_: Workspace,
                                                              rendered: dict[tuple[str, str], Path]) -> None:
    found = decode_qr_image(pdf_page_image(rendered[(form_key, "pdf")], dpi=150))
    assert found == [ctx["qr"]]
    content = parse_qr(workspace_.key, found[0])
    assert content is not None and content.valid and content.serial == "140200-2025-0042"
    (png,) = docx_images(rendered[(form_key, "docx")])
    assert decode_qr_image(docx_image(png)) == [ctx["qr"]]


def test_card_checkboxes_are_named_fillable_and_sit_on_the_printed_boxes(
        rendered: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    path = rendered[("card", "pdf")]
    fields = PdfReader(path).get_fields()
    assert list(fields) == [*CHECKBOX_FIELDS, *TEXT_FIELDS]  # then 负责人, 职务, 联系电话 (test_card_fields.py)
    assert CHECKBOX_FIELDS[:2] == ("q1_yes", "q1_no") and CHECKBOX_FIELDS[-1] == "q10_no"
    fields = {k: v for k, v in fields.items() if k in CHECKBOX_FIELDS}
    assert {f.get("/FT") for f in fields.values()} == {"/Btn"}
    assert {f.get("/V") for f in fields.values()} == {"/Off"}
    # The enterprise ticks in a reader (here: pypdf), and the answers read back.
    w = PdfWriter(clone_from=PdfReader(path))
    ticks = {"q1_no": "/on", "q2_no": "/on", "q3_yes": "/on", "q10_no": "/on"}
    w.update_page_form_field_values(None, ticks, auto_regenerate=False)
    out = tmp_path / "ticked.pdf"
    w.write(out)
    values = {k: v.get("/V") for k, v in PdfReader(out).get_fields().items() if k in CHECKBOX_FIELDS}
    assert {k for k, v in values.items() if v != "/Off"} == set(ticks)
    # Each widget covers a printed □ followed by its answer word.
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        boxes = [c for c in page.chars if c["text"] == "□"]
        annots = [a for a in page.annots if a["data"]["T"].decode() in CHECKBOX_FIELDS]
    assert len(annots) == 20
    for a in annots:  # the widget is centred on a □ glyph (pdfplumber's char box is the em box)
        cx, cy = (a["x0"] + a["x1"]) / 2, (a["top"] + a["bottom"]) / 2
        hit = [c for c in boxes if abs((c["x0"] + c["x1"]) / 2 - cx) < 1.5 and abs((c["top"] + c["bottom"]) / 2 - cy) < 3]
        assert len(hit) == 1, a["data"]["T"]
        assert a["x1"] - a["x0"] > 8  # big enough to click


def test_ticked_card_shows_the_tick_when_printed(rendered: dict[tuple[str, str], Path], tmp_path: Path) -> None:
    w = PdfWriter(clone_from=PdfReader(rendered[("card", "pdf")]))
    w.update_page_form_field_values(None, {"q5_yes": "/on"}, auto_regenerate=False)
    out = tmp_path / "ticked.pdf"
    w.write(out)
    plain, ticked = pdf_page_image(rendered[("card", "pdf")], dpi=72), pdf_page_image(out, dpi=72)
    changed = ImageChops.difference(plain.convert("L"), ticked.convert("L")).point(lambda v: 255 if v > 60 else 0)
    box = changed.getbbox()  # the check mark, drawn over q5's 是 box only
    assert box is not None and box[2] - box[0] < 16 and box[3] - box[1] < 16
    with pdfplumber.open(out) as pdf:
        (widget,) = [a for a in pdf.pages[0].annots if a["data"]["T"] == b"q5_yes"]
    assert widget["x0"] - 2 <= box[0] and box[2] <= widget["x1"] + 2


def test_escaping_enterprise_name_with_markup_characters(workspace_: Workspace, tmp_path: Path) -> None:
    name = 'A&B<化工>"有限"公司'
    ctx = build_context(inspection(enterprise=name, serial="140200-2025-0043"), workspace_.config, workspace_.key)
    for form_key in FORM_KEYS:
        d = render_docx(form_key, ctx, tmp_path / f"{form_key}.docx")
        p = render_pdf(form_key, ctx, tmp_path / f"{form_key}.pdf")
        assert name in docx_text(d)
        assert name in squash(pdf_text(p))
    fname = output_name(ctx["serial"], name, "card", "pdf")
    assert fname == "140200-2025-0043_A&B_化工_有限_公司_入企检查监督反馈卡.pdf"
    assert output_name("140200-2025-0001", "../../etc/passwd", "notice", "docx").startswith("140200-2025-0001_etc_passwd")


def test_pdfa_variant_keeps_text_metadata_and_fillable_checkboxes(ctx: dict[str, Any], tmp_path: Path) -> None:
    for form_key in FORM_KEYS:
        path = render_pdf(form_key, ctx, tmp_path / f"{form_key}.pdf", pdf_variant="pdf/a-3b")
        r = PdfReader(path)
        root = r.trailer["/Root"]
        xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
        assert 'pdfaid:part="3"' in xmp or "<pdfaid:part>3</pdfaid:part>" in xmp
        assert "B" in re.search(r"pdfaid:conformance\W+(\w)", xmp).group(1)
        assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
        title = f"{FORMS[form_key].title} 140200-2025-0042 大同市云冈区晋华化工有限公司"
        assert r.metadata["/Title"] == title and title in xmp
        assert missing_texts(pdf_text(path), ctx, form_key) == []
        if form_key == "card":
            form = root["/AcroForm"]
            assert "/NeedAppearances" not in form
            assert list(r.get_fields()) == [*CHECKBOX_FIELDS, *TEXT_FIELDS]
            for ref in form["/Fields"]:
                w = ref.get_object()
                if w["/FT"] == "/Btn":
                    assert w["/F"] == 4 and set(w["/AP"]["/N"]) == {"/on", "/Off"}
                else:  # 负责人/职务/联系电话: an empty appearance of its own, no font used
                    assert w["/F"] == 4 and w["/AP"]["/N"].get_object().get_data() == b"/Tx BMC EMC"


def test_bad_options_are_refused_in_chinese(ctx: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(RenderError) as e:
        render_pdf("card", ctx, tmp_path / "x.pdf", pdf_variant="pdf/a-9z")
    assert e.value.finding.code == RenderCode.BAD_PDF_VARIANT and "不支持" in e.value.finding.message
    with pytest.raises(RenderError) as e:
        render_batch([ctx], tmp_path, formats=("odt",))
    assert e.value.finding.code == RenderCode.BAD_FORMAT


def test_committed_templates_are_the_build_scripts_output(tmp_path: Path) -> None:
    for built in build_all(tmp_path):
        assert built.read_bytes() == (DEFAULT_TEMPLATES_DIR / built.name).read_bytes(), built.name


def test_rare_characters_outside_the_bmp_print_and_keep_the_checkboxes_aligned(workspace_: Workspace,
                                                                                tmp_path: Path) -> None:
    # 𠮷 and 𡈼 (CJK Extension B) occur in real names; before the answer table they shift the
    # text-index arithmetic used to find the printed boxes.
    ctx = build_context(inspection(enterprise="大同市𡈼源化工有限公司", leader="吉𠮷", serial="140200-2025-0044"),
                        workspace_.config, workspace_.key)
    path = render_pdf("card", ctx, tmp_path / "card.pdf")
    assert list(PdfReader(path).get_fields()) == [*CHECKBOX_FIELDS, *TEXT_FIELDS]
    text = squash(pdf_text(path))
    assert "大同市𡈼源化工有限公司" in text and "检查人员：吉𠮷、李红梅、张伟" in text
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        boxes = [c for c in page.chars if c["text"] == "□"]
        for a in [a for a in page.annots if a["data"]["T"].decode() in CHECKBOX_FIELDS]:
            cx = (a["x0"] + a["x1"]) / 2
            assert any(abs((c["x0"] + c["x1"]) / 2 - cx) < 1.5 and c["top"] - 3 < a["top"] < c["bottom"] for c in boxes)
