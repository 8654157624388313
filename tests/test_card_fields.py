"""The card PDF's 负责人 / 职务 / 联系电话 text fields: typed in a reader, read back, no 未填写 noise,
and a 是 printed first by `ruqi ingest`."""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from _inbox_fixtures import ANSWERS_CLEAN, ANSWERS_VIOLATION, kit_inspection, new_workspace, tick_pdf
from _render_fixtures import pdf_page_image
from pypdf import PdfReader
from typer.testing import CliRunner

from engine.db import session
from engine.forms.context import build_context
from engine.inbox import Flag, ingest
from engine.inbox.validate import CardCode
from engine.readback import read_pdf
from engine.register import by_serial
from engine.render import TEXT_FIELDS, render_pdf
from engine.workspace import Workspace

S1 = "140200-2025-0001"
TYPED = {"head": "刘海峰", "position": "安全副总", "phone": "13912345678"}


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return new_workspace(tmp_path / "ws", inspections=1)


def blank_card(ws: Workspace, out: Path, pdf_variant: str | None = "pdf/a-3b") -> Path:
    """The card of the workspace's first visit, as `ruqi generate` writes it (PDF/A-3b)."""
    insp = kit_inspection(0)
    insp.serial, insp.visit_total, insp.visit_kind = S1, 1, 1
    return render_pdf("card", build_context(insp, ws.config, ws.key), out, pdf_variant)


def arrive(ws: Workspace, src: Path, name: str) -> Path:
    dst = ws.inbox / name
    shutil.copy(src, dst)
    with session(ws) as s:
        visit = by_serial(s, S1)
        assert visit is not None
        end = visit.end
    t = datetime.combine(end + timedelta(days=1), datetime.min.time()).timestamp() + 9 * 3600
    os.utime(dst, (t, t))
    return dst


def test_the_card_pdf_has_empty_text_fields_in_the_cells_right_of_their_labels(ws: Workspace, tmp_path: Path) -> None:
    path = blank_card(ws, tmp_path / "card.pdf")
    r = PdfReader(path)
    fields = r.get_fields()
    assert [k for k in fields if fields[k].get("/FT") == "/Tx"] == list(TEXT_FIELDS)
    acro = r.trailer["/Root"]["/AcroForm"]
    assert "/NeedAppearances" not in acro  # PDF/A-3b forbids it; every widget has its own appearance
    font = acro["/DR"]["/Font"]["/STSong"].get_object()
    assert font["/BaseFont"] == "/STSong-Light" and font["/Encoding"] == "/UniGB-UTF16-H"
    descendant = font["/DescendantFonts"][0].get_object()
    assert not any(k.startswith("/FontFile") for k in descendant["/FontDescriptor"].get_object())  # no font carried
    with pdfplumber.open(path) as pdf:
        page = pdf.pages[0]
        text_annots = {a["data"]["T"].decode(): a for a in page.annots if a["data"]["T"].decode() in TEXT_FIELDS}
        labels = {name: page.search(r"\s*".join(label))[-1] for name, label in TEXT_FIELDS.items()}
    assert set(text_annots) == set(TEXT_FIELDS)
    for name, label in TEXT_FIELDS.items():
        a = text_annots[name]
        assert a["data"]["TU"].decode("utf-16") == label  # the tooltip a reader shows
        w = labels[name]  # the printed label
        mid = (w["top"] + w["bottom"]) / 2
        assert a["top"] < mid < a["bottom"], name  # on the label's row
        assert a["x0"] > w["x1"] and a["x1"] - a["x0"] > 60, name  # the cell to its right, room for a phone number


def test_typed_contacts_are_read_back_and_no_longer_reported_missing(ws: Workspace, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    blank = blank_card(ws, tmp_path / "card.pdf")
    with caplog.at_level(logging.ERROR):  # pypdf warns that it cannot draw CJK itself; a reader can
        filled = tick_pdf(blank, tmp_path / "filled.pdf", ANSWERS_CLEAN, TYPED)
    reading = read_pdf(filled, ws.key)
    assert (reading.head, reading.position, reading.phone) == (TYPED["head"], TYPED["position"], TYPED["phone"])
    arrive(ws, filled, "回执.pdf")
    (o,) = ingest(ws).outcomes
    codes = {f.code for f in o.findings}
    assert not codes & {CardCode.HEAD_MISSING, CardCode.POSITION_MISSING, CardCode.PHONE_MISSING}, o.findings
    assert o.flags == []


def test_ingest_prints_a_yes_answer_first_even_with_contacts_left_blank(ws: Workspace, tmp_path: Path) -> None:
    from engine.cli import app

    blank = blank_card(ws, tmp_path / "card.pdf", pdf_variant=None)
    arrive(ws, tick_pdf(blank, tmp_path / "yes.pdf", ANSWERS_VIOLATION), "回执.pdf")
    res = CliRunner().invoke(app, ["ingest", "-w", str(ws.root)], env={"COLUMNS": "400"})
    assert res.exit_code == 0, res.output
    row = next(line for line in res.output.splitlines() if "回执.pdf" in line)
    notes = row.split("│")[-2].strip()
    violation = "企业对第"
    assert notes.startswith(violation), notes  # before the three 未填写 warnings, which used to cut it off
    with session(ws) as s:
        visit = by_serial(s, S1)
        assert visit is not None and Flag.VIOLATION in visit.card_flags


def type_like_a_reader(src: Path, dst: Path, values: dict[str, str]) -> Path:
    """Click into each text field and type, in pdfium (Chrome's PDF viewer), then save: the viewer
    draws the typed Chinese with the font it has for STSong-Light and writes that appearance."""
    pdf = pdfium.PdfDocument(str(src))
    try:
        pdf.init_forms()
        form, page = pdf.formenv.raw, pdf[0]
        pdfium_c.FORM_OnAfterLoadPage(page.raw, form)
        for k in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
            annot = pdfium_c.FPDFPage_GetAnnot(page.raw, k)
            try:
                n = pdfium_c.FPDFAnnot_GetFormFieldName(form, annot, None, 0)
                buf = ctypes.create_string_buffer(n)
                pdfium_c.FPDFAnnot_GetFormFieldName(form, annot, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), n)
                name = buf.raw[:n - 2].decode("utf-16-le")
                if name in values:
                    pdfium_c.FORM_SetFocusedAnnot(form, annot)
                    text = (values[name] + "\0").encode("utf-16-le")
                    pdfium_c.FORM_ReplaceSelection(form, page.raw, ctypes.cast(ctypes.create_string_buffer(text, len(text)),
                                                                                pdfium_c.FPDF_WIDESTRING))
                    pdfium_c.FORM_ForceToKillFocus(form)
            finally:
                pdfium_c.FPDFPage_CloseAnnot(annot)
        pdfium_c.FORM_OnBeforeClosePage(page.raw, form)
        page.close()
        pdf.save(str(dst))
    finally:
        pdf.close()
    return dst


def ink(img: object, rect: tuple[float, float, float, float], page_height: float, dpi: int = 150) -> int:
    """Dark pixels inside a PDF rectangle (left, bottom, right, top) of a page picture."""
    s = dpi / 72
    x0, y0, x1, y1 = rect
    box = img.convert("L").crop((round(x0 * s) + 2, round((page_height - y1) * s) + 2,  # type: ignore[attr-defined]
                                 round(x1 * s) - 2, round((page_height - y0) * s) - 2))
    return sum(box.histogram()[:128])


def test_chinese_typed_in_a_viewer_shows_without_an_embedded_font_and_reads_back(ws: Workspace, tmp_path: Path) -> None:
    blank = blank_card(ws, tmp_path / "card.pdf")
    typed = type_like_a_reader(blank, tmp_path / "typed.pdf", TYPED)
    reading = read_pdf(typed, ws.key)
    assert (reading.head, reading.position, reading.phone) == (TYPED["head"], TYPED["position"], TYPED["phone"])
    r = PdfReader(typed)
    height = float(r.pages[0].mediabox.height)
    rects = {a.get_object()["/T"]: [float(x) for x in a.get_object()["/Rect"]] for a in r.pages[0]["/Annots"]
             if a.get_object().get("/FT") == "/Tx"}
    before, after = pdf_page_image(blank), pdf_page_image(typed)
    for name in TEXT_FIELDS:
        assert ink(before, rects[name], height) == 0, name
        assert ink(after, rects[name], height) > 40, name  # the typed characters are drawn
    fonts = [o for o in r.trailer["/Root"]["/AcroForm"]["/DR"]["/Font"].values()]
    assert [f.get_object()["/BaseFont"] for f in fonts] == ["/STSong-Light"]
