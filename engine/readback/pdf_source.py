"""One open PDF, read through pdfium: positioned characters, form checkboxes, pictures, a rendering.

pdfium (Chrome's PDF engine, via pypdfium2) is used instead of pdfminer for the hot path: it
returns a card's ~800 characters with their boxes in ~15 ms where pdfplumber needs ~200 ms,
which is what makes ``ruqi ingest`` fast enough for a batch of hundreds of cards.  pdfplumber
remains available as an alternative character source (``engine.readback.pdf_text``) and is the
benchmark's baseline.

Coordinates are converted to pdfplumber's convention: points from the top-left corner.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # heavy libraries load where they are used (start-up time)
    import pypdfium2 as pdfium
    from PIL import Image


MAX_FORM_PAGES = 4


@dataclass(slots=True)
class Glyph:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    base: float = 0.0  # baseline (points from the top): characters of one line share it

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True, slots=True)
class Widget:
    name: str
    kind: int  # pdfium FPDF_FORMFIELD_* (2 = checkbox, 3 = radio, 6 = text)
    checked: bool
    value: str


class PdfSource:
    """Use as a context manager; every accessor reads only what it needs."""

    def __init__(self, path: Path, *, forms: bool = True):
        import pypdfium2 as pdfium

        self.path = path
        self.pdf = pdfium.PdfDocument(str(path))
        self._forms = False
        self._pages: dict[int, pdfium.PdfPage] = {}
        if forms:
            # Must happen before any page is loaded, or pdfium does not attach widgets to pages.
            self.pdf.init_forms()
            self._forms = self.pdf.formenv is not None

    def __enter__(self) -> PdfSource:
        return self

    def __exit__(self, *exc: object) -> None:
        for page in self._pages.values():
            page.close()
        self.pdf.close()

    def page(self, index: int) -> pdfium.PdfPage:
        # Loading a page parses its content and fonts (~10 ms for a CJK card): do it once.
        if index not in self._pages:
            self._pages[index] = self.pdf[index]
        return self._pages[index]

    @property
    def pages(self) -> int:
        return len(self.pdf)

    def page_size(self, index: int = 0) -> tuple[float, float]:
        return self.page(index).get_size()

    # ---- text

    def glyphs(self, index: int) -> list[Glyph]:
        """The page's characters (white space and pdfium's generated ones left out)."""
        page = self.page(index)
        tp = page.get_textpage()
        try:
            return _glyphs(tp.raw, tp.count_chars(), page.get_height())
        finally:
            tp.close()

    # ---- form fields

    def widgets(self) -> list[Widget]:
        import pypdfium2.raw as pdfium_c

        if not self._forms:
            return []
        form = self.pdf.formenv.raw
        out: list[Widget] = []
        for index in range(min(len(self.pdf), MAX_FORM_PAGES)):
            page = self.page(index)
            for k in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
                annot = pdfium_c.FPDFPage_GetAnnot(page.raw, k)
                try:
                    if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_WIDGET:
                        continue
                    out.append(Widget(
                        _wide(pdfium_c.FPDFAnnot_GetFormFieldName, form, annot),
                        pdfium_c.FPDFAnnot_GetFormFieldType(form, annot),
                        bool(pdfium_c.FPDFAnnot_IsChecked(form, annot)),
                        _wide(pdfium_c.FPDFAnnot_GetFormFieldValue, form, annot),
                    ))
                finally:
                    pdfium_c.FPDFPage_CloseAnnot(annot)
        return out

    # ---- pictures

    def images(self, index: int = 0, limit: int = 8) -> list[Image.Image]:
        """The page's embedded pictures as PIL images (at most ``limit``)."""
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c

        out: list[Image.Image] = []
        for obj in self.page(index).get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
            if len(out) >= limit:
                break
            try:
                out.append(obj.get_bitmap(render=False).to_pil())
            except (pdfium.PdfiumError, ValueError, OSError):
                continue
        return out

    def render(self, index: int = 0, scale: float = 150 / 72, crop: tuple[float, float, float, float] = (0, 0, 0, 0),
               ) -> Image.Image:
        """A grayscale picture of the page; ``crop`` = points cut from (left, bottom, right, top)."""
        return self.page(index).render(scale=scale, crop=crop, grayscale=True).to_pil()


def _glyphs(raw, n: int, height: float) -> list[Glyph]:  # type: ignore[no-untyped-def]
    # The hot loop of reading a card: raw pdfium calls with preallocated out-parameters
    # (the pypdfium2 helpers allocate per call and cost three times as much).
    import pypdfium2.raw as pdfium_c

    get_unicode, loose_box, origin = (pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetLooseCharBox,
                                      pdfium_c.FPDFText_GetCharOrigin)
    rect, ox, oy = pdfium_c.FS_RECTF(), ctypes.c_double(), ctypes.c_double()
    rect_ref, ox_ref, oy_ref = ctypes.byref(rect), ctypes.byref(ox), ctypes.byref(oy)
    out: list[Glyph] = []
    high = 0
    for i in range(n):
        u = get_unicode(raw, i)
        if u <= 32 or u in _SKIP_CODES:
            continue
        if 0xD800 <= u <= 0xDBFF:  # first half of a surrogate pair
            high = u
            continue
        if 0xDC00 <= u <= 0xDFFF:
            if not high:
                continue
            u, high = 0x10000 + ((high - 0xD800) << 10) + (u - 0xDC00), 0
        ch = chr(u)
        if ch.isspace():
            continue
        loose_box(raw, i, rect_ref)
        origin(raw, i, ox_ref, oy_ref)
        out.append(Glyph(ch, rect.left, rect.right, height - rect.top, height - rect.bottom, height - oy.value))
    return out


_SKIP_CODES = frozenset((0x7F, 0xA0, 0xFFFE, 0xFFFF, 0x3000, 0x200B, 0xFEFF))


def _wide(fn, form, annot) -> str:  # type: ignore[no-untyped-def]
    """Call a pdfium getter that fills a UTF-16LE buffer (first call asks for the length)."""
    import pypdfium2.raw as pdfium_c

    n = fn(form, annot, None, 0)
    if n <= 2:
        return ""
    buf = ctypes.create_string_buffer(n)
    fn(form, annot, ctypes.cast(buf, ctypes.POINTER(pdfium_c.FPDF_WCHAR)), n)
    return buf.raw[: n - 2].decode("utf-16-le", errors="replace")
