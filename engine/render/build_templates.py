"""Build the three .docx templates in ``templates/`` with python-docx, reproducibly.

    python -m engine.render.build_templates [OUT_DIR]

The templates hold layout and Jinja tags only (``{{ notice.t.body }}``, ``{%tr for item in
card.items %}``); every sentence comes from :mod:`engine.forms.definitions` through the context.
Each tag sits in a single run so Word/WPS keep it whole when a clerk edits around it, and every
run names its East-Asian font (``w:rFonts w:eastAsia``) so Word and WPS show the intended face.
The committed files are the output of this script; a clerk may edit them afterwards in Word
(``ruqi templates check`` then tells whether a tag was broken).
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import segno
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from lxml import etree

from ..forms import FormKey
from .layout import (
    CARD_REMARK_PT,
    CARD_TEXT_PT,
    FONT_FANGSONG,
    FONT_HEITI,
    FONT_LATIN,
    FONT_TITLE,
    PAGE,
    QR_ALT_TEXT,
    QR_MM,
    SERIAL_PT,
    TEXT_PT,
    TITLE_PT,
)

# Word substitutes these when the official font is missing (Windows has 仿宋/楷体 but not the _GB2312 ones).
FONT_ALT_NAMES = {FONT_FANGSONG: "仿宋", FONT_TITLE: "宋体", FONT_HEITI: "SimHei", "楷体_GB2312": "楷体"}

Container = DocumentObject | _Cell

CELL_PAD_TWIPS = 60  # 3 pt
# The card's lower table (被检查单位 | name | 负责人 | … ): 72 mm hold a 14-character name at 4号.
SIGNOFF_MM = (28.0, 72.0, 23.0, PAGE.text_width_mm - 28.0 - 72.0 - 23.0)


def tag(path: str) -> str:
    """``tag("card.t.unit")`` → ``{{ card.t.unit }}``."""
    return "{{ " + path + " }}"


# ---- low-level formatting -------------------------------------------------------------------

def set_run_font(run_el: etree._Element, east_asia: str, size_pt: float, bold: bool = False) -> None:
    """Give a run its own fonts and size: Word and WPS pick the face from w:eastAsia for Chinese."""
    rpr = run_el.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        run_el.insert(0, rpr)
    fonts = OxmlElement("w:rFonts")
    fonts.set(qn("w:ascii"), FONT_LATIN)
    fonts.set(qn("w:hAnsi"), FONT_LATIN)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), FONT_LATIN)
    fonts.set(qn("w:hint"), "eastAsia")  # full-width quotes and ：use the Chinese face
    rpr.append(fonts)
    if bold:
        rpr.append(OxmlElement("w:b"))
    for tag in ("w:sz", "w:szCs"):
        sz = OxmlElement(tag)
        sz.set(qn("w:val"), str(round(size_pt * 2)))
        rpr.append(sz)


def add_run(p: Paragraph, text: str, east_asia: str = FONT_FANGSONG, size_pt: float = TEXT_PT,
            bold: bool = False) -> None:
    run = p.add_run(text)
    set_run_font(run._r, east_asia, size_pt, bold)


def fmt(p: Paragraph, *, align: WD_ALIGN_PARAGRAPH | None = None, line_pt: float | None = None,
        first_indent_pt: float = 0, left_pt: float = 0, right_pt: float = 0, before_pt: float = 0,
        after_pt: float = 0, keep_next: bool = False) -> Paragraph:
    pf = p.paragraph_format
    if align is not None:
        p.alignment = align
    if line_pt:
        pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        pf.line_spacing = Pt(line_pt)
    else:
        pf.line_spacing_rule = WD_LINE_SPACING.SINGLE
    pf.first_line_indent = Pt(first_indent_pt) if first_indent_pt else None
    pf.left_indent = Pt(left_pt) if left_pt else None
    pf.right_indent = Pt(right_pt) if right_pt else None
    pf.space_before = Pt(before_pt)
    pf.space_after = Pt(after_pt)
    pf.keep_with_next = keep_next or None
    # Chinese typesetting: no widow control games, punctuation may hang/compress as Word does.
    pf.widow_control = False
    return p


def para(c: Container, text: str, *, east_asia: str = FONT_FANGSONG, size_pt: float = TEXT_PT,
         line_pt: float | None = None, bold: bool = False, **kw: object) -> Paragraph:
    p = c.add_paragraph()
    if text:
        add_run(p, text, east_asia, size_pt, bold)
    return fmt(p, line_pt=line_pt if line_pt is not None else size_pt * 1.75, **kw)  # type: ignore[arg-type]


def body(c: Container, text: str, **kw: object) -> Paragraph:
    """A 3号仿宋 paragraph with the GB/T 9704 two-character first-line indent."""
    kw.setdefault("first_indent_pt", 2 * TEXT_PT)
    return para(c, text, **kw)  # type: ignore[arg-type]


def heading(c: Container, text: str) -> Paragraph:
    """一、… headings: 黑体, indented like body text."""
    return para(c, text, east_asia=FONT_HEITI, first_indent_pt=2 * TEXT_PT, keep_next=True)


def title(c: Container, text: str, after_pt: float = TEXT_PT) -> Paragraph:
    return para(c, text, east_asia=FONT_TITLE, size_pt=TITLE_PT, line_pt=TITLE_PT * 1.6,
                align=WD_ALIGN_PARAGRAPH.CENTER, after_pt=after_pt)


def first_paragraph(c: Container) -> Paragraph:
    """Cells start with one empty paragraph: use it instead of adding a second one."""
    return c.paragraphs[0]


def cell_text(cell: _Cell, text: str, size_pt: float, align: WD_ALIGN_PARAGRAPH = WD_ALIGN_PARAGRAPH.LEFT,
              east_asia: str = FONT_FANGSONG) -> None:
    p = first_paragraph(cell)
    if text:
        add_run(p, text, east_asia, size_pt)
    fmt(p, align=align, line_pt=size_pt * 17 / 14)  # forms.css: table line-height 17pt at 14pt
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def fixed_table(c: DocumentObject, rows: int, widths_mm: list[float]) -> Table:
    t = c.add_table(rows=rows, cols=len(widths_mm))
    t.style = "Table Grid"
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False  # w:tblLayout fixed
    tbl_pr = t._tbl.tblPr
    for row in t.rows:
        for cell, w in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(w)
    for col, w in zip(t.columns, widths_mm, strict=True):
        col.width = Mm(w)
    # Cell padding 3 pt left and right, as in forms.css (Word's default is 5.4 pt): the same
    # characters fit a cell in both versions.
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        m = OxmlElement(f"w:{side}")
        m.set(qn("w:w"), str(CELL_PAD_TWIPS))
        m.set(qn("w:type"), "dxa")
        mar.append(m)
    look = tbl_pr.find(qn("w:tblLook"))  # the schema puts tblCellMar before tblLook
    if look is not None:
        look.addprevious(mar)
    else:
        tbl_pr.append(mar)
    return t


# ---- page set-up, styles, header ------------------------------------------------------------

def new_document() -> DocumentObject:
    doc = Document()
    _prune_package(doc)
    sec = doc.sections[0]
    sec.start_type = WD_SECTION.NEW_PAGE
    sec.page_width, sec.page_height = Mm(PAGE.width_mm), Mm(PAGE.height_mm)
    sec.top_margin, sec.bottom_margin = Mm(PAGE.top_mm), Mm(PAGE.bottom_mm)
    sec.left_margin, sec.right_margin = Mm(PAGE.left_mm), Mm(PAGE.right_mm)
    sec.header_distance, sec.footer_distance = Mm(PAGE.header_mm), Mm(PAGE.footer_mm)
    _default_fonts(doc)
    _font_table(doc)
    return doc


def _default_fonts(doc: DocumentObject) -> None:
    """Normal = 3号仿宋, zh-CN: text a clerk types into the template gets the official face."""
    normal = doc.styles["Normal"]
    set_run_font(normal.element.get_or_add_rPr(), FONT_FANGSONG, TEXT_PT)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    pf = normal.paragraph_format
    pf.space_after = Pt(0)
    pf.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    pf.line_spacing = Pt(28)


def _font_table(doc: DocumentObject) -> None:
    """Declare the official fonts with GB2312 charset and a substitute Word uses when one is missing."""
    part = next(p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    for name, alt in FONT_ALT_NAMES.items():
        f = etree.SubElement(root, qn("w:font"))
        f.set(qn("w:name"), name)
        a = etree.SubElement(f, qn("w:altName"))
        a.set(qn("w:val"), alt)
        cs = etree.SubElement(f, qn("w:charset"))
        cs.set(qn("w:val"), "86")
        fam = etree.SubElement(f, qn("w:family"))
        fam.set(qn("w:val"), "modern" if name == FONT_HEITI else "roman")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


# Styles python-docx's default template carries that these forms never use: dropping them keeps
# each generated .docx small and fast to write (the default styles.xml alone is 350 KB).
_KEEP_STYLES = {"Normal", "Default Paragraph Font", "Normal Table", "Table Grid", "No List", "Header", "Footer"}


def _prune_package(doc: DocumentObject) -> None:
    for rel_id, rel in list(doc.part.rels.items()):
        if rel.reltype.endswith(("/stylesWithEffects", "/customXml")):
            doc.part.drop_rel(rel_id)
    pkg_rels = doc.part.package.rels
    for rel_id, rel in list(pkg_rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del pkg_rels[rel_id]
    styles = doc.styles.element
    for latent in styles.findall(qn("w:latentStyles")):
        styles.remove(latent)
    for st in styles.findall(qn("w:style")):
        name = st.find(qn("w:name"))
        if name is None or name.get(qn("w:val")) not in {n.lower() for n in _KEEP_STYLES} | _KEEP_STYLES:
            styles.remove(st)


def add_header(doc: DocumentObject) -> None:
    """Serial label and QR code in the page header, right-aligned, above the 37 mm top margin's text."""
    header = doc.sections[0].header
    header.is_linked_to_previous = False
    p = header.paragraphs[0]
    fmt(p, align=WD_ALIGN_PARAGRAPH.RIGHT)
    add_run(p, "{{ serial_label }}", FONT_FANGSONG, SERIAL_PT)
    add_run(p, " ", FONT_FANGSONG, SERIAL_PT)
    run = p.add_run()
    set_run_font(run._r, FONT_FANGSONG, SERIAL_PT)
    # A placeholder QR: the renderer swaps the image bytes, found by the alt text below.
    png = io.BytesIO()
    segno.make("RUQI1|000000-0000-0000|000000000000000000|TEMPLATEPLACEHOLD", error="m").save(
        png, kind="png", scale=8, border=4)
    png.seek(0)
    run.add_picture(png, width=Mm(QR_MM), height=Mm(QR_MM))
    # Alt text on both the drawing (what Word shows and keeps) and the picture (what docxtpl's
    # replace_pic matches), so either way of swapping the image finds it.
    for el in (run._r.find(".//" + qn("wp:docPr")), run._r.find(".//" + qn("pic:cNvPr"))):
        assert el is not None
        el.set("name", "ruqi-qr")
        el.set("descr", QR_ALT_TEXT)


# ---- the three forms ------------------------------------------------------------------------

def build_notice() -> DocumentObject:
    doc = new_document()
    add_header(doc)
    title(doc, "{{ notice.title }}")
    para(doc, "{{ notice.t.addressee }}")
    body(doc, "{{ notice.t.body }}")
    extra_lines(doc, FormKey.NOTICE, first_indent_pt=2 * TEXT_PT)
    para(doc, "{{ notice.t.seal }}", align=WD_ALIGN_PARAGRAPH.RIGHT, right_pt=2 * TEXT_PT, before_pt=3 * 28)
    para(doc, "{{ notice.t.date }}", align=WD_ALIGN_PARAGRAPH.RIGHT, right_pt=4 * TEXT_PT, after_pt=2 * 28)
    # 说明：1.… with the later lines and notes aligned after "说明：" (three characters).
    note = 3 * TEXT_PT
    para(doc, "{{ notice.t.notes_head }}{{ notice.notes[0] }}", left_pt=note, first_indent_pt=-note)
    para(doc, "{%p for line in notice.notes[1:] %}")
    para(doc, "{{ line }}", left_pt=note)
    para(doc, "{%p endfor %}")
    return doc


def build_notice_board() -> DocumentObject:
    doc = new_document()
    add_header(doc)
    title(doc, "{{ notice_board.t.title_prefix }}", after_pt=0)
    title(doc, "{{ notice_board.title }}")
    body(doc, "{{ notice_board.t.intro }}")
    heading(doc, "{{ notice_board.t.h1 }}")
    for key in ("leader", "members", "experts", "content"):
        body(doc, tag(f"notice_board.t.{key}"))
    heading(doc, "{{ notice_board.t.h2 }}")
    body(doc, "{{ notice_board.t.lead_in }}")
    para(doc, "{%p for item in notice_board['items'] %}")
    body(doc, "{{ item }}")
    para(doc, "{%p endfor %}")
    heading(doc, "{{ notice_board.t.h3 }}")
    body(doc, "{{ notice_board.t.notice }}")
    heading(doc, "{{ notice_board.t.h4 }}")
    body(doc, "{{ notice_board.t.phone }}")
    body(doc, "{{ notice_board.t.email }}")
    extra_lines(doc, FormKey.NOTICE_BOARD, first_indent_pt=2 * TEXT_PT)
    para(doc, "{{ notice_board.t.sign }}", align=WD_ALIGN_PARAGRAPH.RIGHT, right_pt=2 * TEXT_PT, before_pt=28)
    para(doc, "{{ notice_board.t.date }}", align=WD_ALIGN_PARAGRAPH.RIGHT, right_pt=4 * TEXT_PT)
    return doc


def build_card() -> DocumentObject:
    """The card is filled by the enterprise and returned as one page: 4号 text, 小4 备注 (see layout.py)."""
    doc = new_document()
    add_header(doc)
    title(doc, "{{ card.title }}", after_pt=6)
    s = CARD_TEXT_PT
    line = s * 20 / 14  # forms.css: .card line-height 20pt
    # 检查单位 and 检查日期 on lines of their own: sharing one, a long bureau name pushed the date's
    # last character ("日") alone onto the next line.
    for key in ("unit", "date", "inspectors", "experts", "visit"):
        para(doc, tag(f"card.t.{key}"), size_pt=s, line_pt=line)
    widths = [PAGE.text_width_mm - 28.0, 28.0]
    t = fixed_table(doc, 4, widths)
    cell_text(t.cell(0, 0), "{{ card.t.col_item }}", s, WD_ALIGN_PARAGRAPH.CENTER, FONT_HEITI)
    cell_text(t.cell(0, 1), "{{ card.t.col_answer }}", s, WD_ALIGN_PARAGRAPH.CENTER, FONT_HEITI)
    cell_text(t.cell(1, 0), "{%tr for item in card['items'] %}", s)
    cell_text(t.cell(2, 0), "{{ item }}", s)
    cell_text(t.cell(2, 1), "{{ answer_boxes }}", s, WD_ALIGN_PARAGRAPH.CENTER)
    cell_text(t.cell(3, 0), "{%tr endfor %}", s)
    _repeat_header(t)
    para(doc, "", size_pt=6, line_pt=6)
    u = fixed_table(doc, 2, list(SIGNOFF_MM))
    labels = (("{{ card.t.enterprise }}", "{{ v.enterprise }}", "{{ card.t.head }}", ""),
              ("{{ card.t.position }}", "", "{{ card.t.phone }}", ""))
    for r, row in enumerate(labels):
        for c, text in enumerate(row):
            cell_text(u.cell(r, c), text, s, WD_ALIGN_PARAGRAPH.CENTER if c % 2 == 0 else WD_ALIGN_PARAGRAPH.LEFT)
        u.rows[r].height = Mm(8)
    remark = dict(size_pt=CARD_REMARK_PT, line_pt=CARD_REMARK_PT * 4 / 3)
    para(doc, "{{ card.t.remark|nobreak }}", before_pt=6, **remark)  # type: ignore[arg-type]
    extra_lines(doc, FormKey.CARD, **remark)
    return doc


def extra_lines(doc: DocumentObject, form_key: str, **kw: object) -> None:
    """The clerk's own lines of this form (ruqi.toml [texts]), one paragraph each."""
    para(doc, "{%p for line in " + form_key + ".extra %}")
    para(doc, "{{ line|nobreak }}", **kw)  # type: ignore[arg-type]
    para(doc, "{%p endfor %}")


def _repeat_header(t: Table) -> None:
    tr_pr = t.rows[0]._tr.get_or_add_trPr()
    hdr = OxmlElement("w:tblHeader")
    tr_pr.append(hdr)
    for row in t.rows[1:]:
        cant = OxmlElement("w:cantSplit")
        row._tr.get_or_add_trPr().append(cant)


BUILDERS: dict[str, Callable[[], DocumentObject]] = {
    FormKey.NOTICE: build_notice,
    FormKey.NOTICE_BOARD: build_notice_board,
    FormKey.CARD: build_card,
}


def build_all(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key, build in BUILDERS.items():
        doc = build()
        props = doc.core_properties
        props.author = "ruqi"
        props.title = f"{key} template"
        props.comments = "由 python -m engine.render.build_templates 生成；可在 Word/WPS 中修改，修改后请运行 ruqi templates check。"
        props.revision = 1
        # Fixed timestamps keep the committed files byte-stable across rebuilds.
        props.created = props.modified = datetime(2025, 1, 1)
        path = out_dir / f"{key}.docx"
        buf = io.BytesIO()
        doc.save(buf)
        path.write_bytes(_fixed_zip_times(buf.getvalue()))
        written.append(path)
    return written


def _fixed_zip_times(data: bytes) -> bytes:
    """python-docx stamps zip entries with the current time: fix them, so a rebuild is byte-identical."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, src.read(info))
    return out.getvalue()



def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from .templates import DEFAULT_TEMPLATES_DIR

    out = Path(argv[0]) if argv else DEFAULT_TEMPLATES_DIR
    for p in build_all(out):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
