"""Decoding what people send as a scanned card into page images.

JPEG, PNG, TIFF (every frame; 1-bit Group 4 from fax-style scanners decodes like any other),
HEIC from phones (pillow-heif), and image-only PDFs (pypdfium2, one image per page).  EXIF
orientation is applied (a phone photo taken sideways says so in its EXIF, not in its pixels);
the other quarter turns are found later from the card itself (``engine.omr.locate``).

Every page comes out as RGB at no more than ``WORK_LONG_SIDE`` pixels on its long side (an A4
page at ~250 dpi): enough for 4 mm boxes and the QR, and it bounds the cost of a 600 dpi scan or
a 48-megapixel photo.  Decoding runs under ``engine.images.MAX_PIXELS`` (Pillow's bomb check).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..images import pillow

if TYPE_CHECKING:
    from PIL import Image

WORK_LONG_SIDE = 2900  # px: A4 at ~250 dpi
PDF_DPI = 200  # an image-only PDF's page is rendered at this resolution
MAX_PAGES = 20  # a scan holding more cards than this is read only for its first pages


@dataclass(slots=True)
class Page:
    image: Image.Image  # RGB, EXIF orientation applied, at most WORK_LONG_SIDE on the long side
    index: int  # 0-based page (or frame) of the file
    dpi: float  # estimated from the page size when the file does not say (a photo)
    bilevel: bool = False  # scanned black-and-white (a Group-4 fax): no light ink survives, only black dots


def load_pages(path: Path, content: str = "") -> list[Page]:
    """The pages of a scan: ``content`` is preflight's word for the bytes (``pdf`` or ``image``)."""
    return list(iter_pages(path, content))


def iter_pages(path: Path, content: str = "") -> Iterator[Page]:
    """The pages of a scan one at a time (a stack of 20 cards is never all decoded at once)."""
    if content == "pdf" or (not content and path.read_bytes()[:1024].find(b"%PDF-") >= 0):
        return _pdf_pages(path)
    return _image_pages(path)


def _image_pages(path: Path) -> Iterator[Page]:
    from PIL import ImageOps

    Image = pillow()  # noqa: N806 - the module, as Pillow spells it
    with Image.open(path) as img:
        frames = getattr(img, "n_frames", 1)
        for k in range(min(frames, MAX_PAGES)):
            img.seek(k)
            frame = ImageOps.exif_transpose(img) if k == 0 else img.copy()
            page = _normalised(frame, k, _file_dpi(img))
            page.bilevel = img.mode == "1"
            yield page


def _file_dpi(img: Image.Image) -> float:
    dpi = img.info.get("dpi")
    try:
        return float(dpi[0]) if dpi and float(dpi[0]) > 50 else 0.0
    except (TypeError, ValueError):
        return 0.0


def _pdf_pages(path: Path) -> Iterator[Page]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        for k in range(min(len(doc), MAX_PAGES)):
            page = doc[k]
            try:
                w, h = page.get_size()
                scale = min(PDF_DPI / 72, WORK_LONG_SIDE / max(w, h, 1))
                img = page.render(scale=scale, may_draw_forms=True).to_pil()
                bilevel = _one_bilevel_image(page)
            finally:
                page.close()
            yield Page(img.convert("RGB"), k, scale * 72, bilevel)
    finally:
        doc.close()


def _one_bilevel_image(page: object) -> bool:
    """Whether an image-only PDF page is one black-and-white picture (a fax-style scan to PDF)."""
    import pypdfium2.raw as pdfium_c

    images = list(page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=1))  # type: ignore[attr-defined]
    return len(images) == 1 and images[0].get_metadata().bits_per_pixel == 1


def _normalised(img: Image.Image, index: int, dpi: float) -> Page:
    # A bilevel fax page becomes gray first: resizing 1-bit pixels would lose thin strokes.
    img = img.convert("L") if img.mode in ("1", "L", "I;16", "I", "F") else img.convert("RGB")
    long_side = max(img.size)
    if long_side > WORK_LONG_SIDE:
        f = WORK_LONG_SIDE / long_side
        img = img.resize((max(1, round(img.width * f)), max(1, round(img.height * f))), reducing_gap=2.0)
        dpi = dpi * f if dpi else 0.0
    img = img.convert("RGB")
    if not dpi:
        dpi = long_side_dpi(max(img.size))
    return Page(img, index, dpi)


def long_side_dpi(px: int) -> float:
    """A page's resolution if its long side is an A4 sheet's 297 mm (photos rarely say theirs)."""
    return px / (297 / 25.4)
