"""The forms as pictures: every form rendered to PNG and measured, in both versions (the WeasyPrint
PDF, and the Word file as LibreOffice prints it).

Text checks alone missed what a reader sees: a mailbox broken at its hyphen, a lower table wider
than the one above it, "日" alone on a line, a short enterprise name wrapped.  Here the page is
rendered (pypdfium2, as a viewer draws it) and measured: table edges are found as dark vertical
lines in the picture, line breaks from the characters' positions (pdfplumber).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pdfplumber
import pypdfium2 as pdfium
import pytest
from _inbox_fixtures import SOFFICE, to_pdf_with_libreoffice
from PIL import Image

from engine.forms.context import build_context
from engine.render import FORM_KEYS, render_batch
from engine.render.sample import SAMPLE_KEY, sample_config, sample_inspection

DPI = 100
PX = DPI / 72  # PDF points → pixels
DARK = 110  # grey level below which a pixel is ink
NAMES = ("大同云冈煤业有限公司", "大同市平城区晋华化工有限公司")  # 10 and 14 characters: neither may wrap


def contexts() -> list[dict[str, Any]]:
    cfg = replace(sample_config(), name="大同市云冈区应急管理局")  # a long bureau name before the date
    out = []
    for i, name in enumerate(NAMES):
        insp = sample_inspection(i, name)
        insp.start, insp.end = insp.start.replace(month=11, day=28), insp.start.replace(month=12, day=2)
        out.append(build_context(insp, cfg, SAMPLE_KEY))
    return out


@dataclass(frozen=True, slots=True)
class Rendered:
    version: str  # "pdf" (WeasyPrint) or "word" (the .docx printed by LibreOffice)
    form: str
    ctx: dict[str, Any]
    pdf: Path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    out_dir = tmp_path_factory.mktemp("layout")
    sets = render_batch(contexts(), out_dir, workers=1)
    ctxs = contexts()
    found = [Rendered("pdf", key, ctx, rs.files[(key, "pdf")]) for rs, ctx in zip(sets, ctxs, strict=True)
             for key in FORM_KEYS]
    if SOFFICE:
        docxs = [(key, ctx, rs.files[(key, "docx")]) for rs, ctx in zip(sets, ctxs, strict=True) for key in FORM_KEYS]
        pdfs = to_pdf_with_libreoffice([p for _, _, p in docxs], out_dir / "word")
        found += [Rendered("word", key, ctx, pdf) for (key, ctx, _), pdf in zip(docxs, pdfs, strict=True)]
    return found


def versions(rendered: list[Rendered], form: str) -> Iterator[Rendered]:
    yield from (r for r in rendered if r.form == form)


def page_png(pdf: Path, page: int = 0, dpi: int = DPI) -> Image.Image:
    doc = pdfium.PdfDocument(str(pdf))
    try:
        img = doc[page].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
    finally:
        doc.close()
    img.save(pdf.with_suffix(f".p{page + 1}-{dpi}dpi.png"))  # kept next to the PDF for a person to look at
    return img


def dark_runs(img: Image.Image, x: int, y0: int, y1: int) -> int:
    """How many separate dark runs (horizontal rules) the pixel column ``x`` crosses in [y0, y1)."""
    px = img.load()
    runs, inside = 0, False
    for y in range(y0, y1):
        dark = px[x, y] < 160
        runs += dark and not inside
        inside = dark
    return runs


def table_edges(img: Image.Image, y: int, reach: int = 6) -> tuple[int, int]:
    """(left, right) pixel columns of the outermost vertical rules crossing row ``y``: columns dark
    from ``y - reach`` to ``y + reach`` (a rule, not a character)."""
    px = img.load()
    rules = [x for x in range(img.width) if all(px[x, yy] < DARK for yy in range(y - reach, y + reach + 1))]
    assert rules, f"no table rule crosses row {y}"
    return rules[0], rules[-1]


@dataclass(frozen=True, slots=True)
class Line:
    top: float
    bottom: float
    text: str


def text_lines(pdf: Path, page: int = 0) -> list[Line]:
    """The page's printed lines (characters sharing a baseline), white space removed."""
    with pdfplumber.open(pdf) as doc:
        chars = sorted(doc.pages[page].chars, key=lambda c: (round(c["bottom"]), c["x0"]))
    lines: list[list[dict[str, Any]]] = []
    for c in chars:
        if c["text"].isspace():
            continue
        if lines and abs(lines[-1][0]["bottom"] - c["bottom"]) < 2.5:
            lines[-1].append(c)
        else:
            lines.append([c])
    return [Line(min(c["top"] for c in ln), max(c["bottom"] for c in ln), "".join(c["text"] for c in sorted(ln, key=lambda c: c["x0"]))) for ln in lines]


def norm(text: str) -> str:
    """Word's non-breaking hyphen prints as U+2011; white space does not matter."""
    return re.sub(r"\s+", "", text).replace("\u2011", "-")


def on_one_line(lines: list[Line], text: str) -> bool:
    return any(norm(text) in norm(line.text) for line in lines)


# ---- the card ---------------------------------------------------------------------------------

def test_card_tables_share_both_edges(rendered: list[Rendered]) -> None:
    for r in versions(rendered, "card"):
        img = page_png(r.pdf)
        lines = text_lines(r.pdf)
        head = next(ln for ln in lines if ln.text.startswith("监督内容"))
        sign = next(ln for ln in lines if ln.text.startswith("被检查单位"))
        upper = table_edges(img, round((head.top + 8) * PX))
        lower = table_edges(img, round((sign.top + 8) * PX))
        assert abs(upper[0] - lower[0]) <= 2 and abs(upper[1] - lower[1]) <= 2, (r.version, upper, lower)
        assert upper[1] - upper[0] > 150 / 25.4 * DPI  # the full 156 mm type area


def test_card_grid_is_whole_on_screen(rendered: list[Rendered]) -> None:
    """At 96 dpi (a viewer at 100 %) every rule of both tables shows: 12 across the questions
    table (top, under the header, between and under the ten rows), 3 across the lower table."""
    for r in versions(rendered, "card"):
        img = page_png(r.pdf, dpi=96)
        scale = 96 / 72
        lines = text_lines(r.pdf)
        head = next(ln for ln in lines if ln.text.startswith("监督内容"))
        above = next(ln for ln in lines if "调查核查" in ln.text)  # the last line above the table
        sign = next(ln for ln in lines if ln.text.startswith("被检查单位"))
        remark = next(ln for ln in lines if ln.text.startswith("备注"))
        left, _ = table_edges(img, round((head.top + 8) * scale), reach=4)
        x = left + 3  # inside the cells' left padding: no character there, only the rules
        assert dark_runs(img, x, round((above.bottom + 1) * scale), round((sign.top - 8) * scale)) == 12, r.version
        assert dark_runs(img, x, round((sign.top - 8) * scale), round((remark.top - 2) * scale)) == 3, r.version


def test_card_addresses_names_and_dates_are_never_broken(rendered: list[Rendered]) -> None:
    for r in versions(rendered, "card"):
        lines = text_lines(r.pdf)
        v = r.ctx["v"]
        whole = [v[f"{p}_{kind}"] for p in "pcx" for kind in ("sup_email", "dis_email", "sup_phone", "dis_phone")]
        whole += [v["enterprise"], r.ctx["card"]["t"]["date"], r.ctx["card"]["t"]["unit"]]
        broken = [t for t in whole if not on_one_line(lines, t)]
        assert broken == [], (r.version, broken)
        assert "监督电话；" not in "".join(ln.text for ln in lines)


def test_card_is_one_page_without_a_lonely_character(rendered: list[Rendered]) -> None:
    for r in versions(rendered, "card"):
        with pdfplumber.open(r.pdf) as doc:
            assert len(doc.pages) == 1, r.version
        lonely = [ln.text for ln in text_lines(r.pdf) if len(ln.text) == 1 and not ln.text.isdigit()]
        assert lonely == [], (r.version, lonely)


# ---- every form -------------------------------------------------------------------------------

@pytest.mark.parametrize("form", FORM_KEYS)
def test_no_line_holds_only_ri_and_dates_stay_whole(rendered: list[Rendered], form: str) -> None:
    for r in versions(rendered, form):
        with pdfplumber.open(r.pdf) as doc:
            pages = len(doc.pages)
        lines = [ln for p in range(pages) for ln in text_lines(r.pdf, p)]
        assert not [ln for ln in lines if ln.text in ("日", "日。", "日）")], (r.version, form)
        v = r.ctx["v"]
        if form != "card":
            assert on_one_line(lines, v["issue_date"]), (r.version, form)
        page_png(r.pdf)  # the picture, for a person to look at (pytest's tmp dir)
