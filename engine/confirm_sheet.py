"""Review sheets for the cards waiting for a person: one A4 page per card (a PNG each, and one PDF
for all), showing the card beside the machine's reading of each question, so a person decides in
seconds and types the answers into ``ruqi confirm``.

Each question's answer row is cropped from the card as the scan reader registered it
(``engine.omr.read_scan``: ``MarkDecision.row_box``); where the reader could not place the rows
(no registration), the whole page of the archived original is shown instead (EXIF-turned,
downscaled).  Nothing in the archive is written.  The sheet is HTML made into PDF by WeasyPrint (Chinese text through fontconfig, like every
form the engine prints); each PNG is that PDF's page rendered by pypdfium2, so the PNG and the PDF
are the same sheet.  The web page 待核对 can show the same HTML (``sheet_html``).
"""

from __future__ import annotations

import base64
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .confirm import WaitingCard
from .forms import CARD_QUESTIONS
from .images import pillow
from .omr import ScanCard, load_layouts, read_scan
from .omr.locate import PX_PER_MM
from .omr.serial import BAND_MM
from .readback.common import Decided
from .readings import QUESTIONS
from .text import finalize
from .workspace import Workspace

if TYPE_CHECKING:
    from PIL import Image

TEMPLATES = Path(__file__).resolve().parent / "review" / "templates"
SHEET_TEMPLATE = "confirm-sheet.html"
PAGE_PIXELS = 1400  # long side of the card's picture on the sheet: enough to see a tick, printed at A4
PNG_DPI = 110  # the PNG of a sheet: readable on screen and when printed
SHEETS_DIR = "待核对"  # under outbox/
PDF_NAME = "待核对反馈卡.pdf"
_UNSAFE = re.compile(r"[^\w\-.]+")


@dataclass(slots=True)
class SheetsResult:
    folder: Path
    pngs: list[Path] = field(default_factory=list)
    pdf: Path | None = None


def default_folder(ws: Workspace) -> Path:
    return ws.outbox / SHEETS_DIR


def page_image(path: Path, index: int = 0) -> Image.Image | None:
    """Page ``index`` of an archived card (a picture, or a PDF page), upright and downscaled; None
    when it cannot be shown (the sheet then names the file instead)."""
    try:
        if path.read_bytes()[:5] == b"%PDF-":
            return _pdf_page(path, index)
        Image = pillow()  # noqa: N806 - the module, as Pillow spells it
        from PIL import ImageOps

        with Image.open(path) as img:
            img.seek(index)
            page = ImageOps.exif_transpose(img).convert("RGB")
    except Exception:  # a damaged original is verify's business; the sheet still lists the card
        return None
    page.thumbnail((PAGE_PIXELS, PAGE_PIXELS))
    return page


def _pdf_page(path: Path, index: int = 0) -> Image.Image:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        page = pdf[index]
        scale = PAGE_PIXELS / max(page.get_size())
        return page.render(scale=scale).to_pil().convert("RGB")
    finally:
        pdf.close()


ROW_MARGIN = 6  # px around a cropped answer row, so a stroke that overshoots the box is seen


def _registered(ws: Workspace, c: WaitingCard) -> ScanCard | None:
    """The card as the scan reader registers it again; None when it is not a scan, or not registered."""
    path = ws.archive / c.rel_path
    try:
        content = "pdf" if path.read_bytes()[:5] == b"%PDF-" else "image"
        cards = read_scan(path, ws.key, content, load_layouts(ws.root))
    except Exception:  # not a picture the reader can open again: the page is shown instead
        return None
    card = _matching(cards, c.serial, c.page)
    return card if card is not None and card.registered else None


def serial_band(card: ScanCard) -> Image.Image:
    """The registered page's header, where the card prints its 检查编号 beside the QR: large enough on
    the sheet for a person to compare the number the machine read off it."""
    w, _ = card.image.size
    y0, y1 = (round(mm * PX_PER_MM) for mm in BAND_MM)
    return card.image.crop((w // 3, y0, w, y1)).convert("RGB")


def scanned_rows(ws: Workspace, c: WaitingCard) -> dict[int, Image.Image]:
    """Each question's answer row cropped from the card as the scan reader registered it; empty when
    the card is not a scan, or its rows could not be placed."""
    card = _registered(ws, c)
    return _rows(card) if card is not None else {}


def _rows(card: ScanCard) -> dict[int, Image.Image]:
    boxes = {q.number: q.row_box for q in card.questions if q.row_box is not None}
    if len(boxes) != len(QUESTIONS):
        return {}
    # Every crop the same size (the lowest row's height, centred on its row: the boxes sit mid-row), so the
    # sheet shows each at one scale, and a question printed on two lines does not make its crop taller.
    w, h = card.image.size
    band = min(y1 - y0 for _, y0, _, y1 in boxes.values()) + 2 * ROW_MARGIN
    out: dict[int, Image.Image] = {}
    for n, (x0, y0, x1, y1) in boxes.items():
        top = max(min((y0 + y1 - band) // 2, h - band), 0)
        out[n] = card.image.crop((max(x0 - ROW_MARGIN, 0), top, min(x1 + ROW_MARGIN, w), min(top + band, h))).convert("RGB")
    return out


def _matching(cards: list[ScanCard], serial: str, page: int = 0) -> ScanCard | None:
    """The card of this serial, else the one on the card's page (a serial not read, or only tied)."""
    return next((k for k in cards if serial and k.reading.serial == serial),
                next((k for k in cards if k.page == page), cards[0] if cards else None))


def _data_uri(img: Image.Image) -> str:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=82)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _question(c: WaitingCard, i: int) -> dict[str, Any]:
    machine, now = c.machine.get(i), c.now.get(i)
    done = f"{now.answer}（人工已录入）" if now is not None and now.resolved and now.how is Decided.PERSON else ""
    if not done and now is not None and now.resolved:
        done = f"{now.answer}（机器已识读）"
    return {"n": i, "text": CARD_QUESTIONS[i - 1], "crop": "", "open": i in c.unresolved, "done": done,
            "machine": (machine.answer if machine and machine.answer else "？"),
            "sure": f"{machine.confidence:.0%}" if machine and machine.answer else ""}


def sheet_context(ws: Workspace, c: WaitingCard) -> dict[str, Any]:
    """What one card's sheet shows (plain values: the web page can render the same)."""
    card = _registered(ws, c)
    rows = _rows(card) if card is not None else {}
    header = serial_band(card) if card is not None and c.serial_unconfirmed else None
    # Without the rows, or to read the serial of a card tied to nothing yet, the whole page is shown; a
    # serial read off the print is shown as printed (``serial_band``), legibly.
    page = page_image(ws.archive / c.rel_path, c.page) if not rows or not c.serial else None
    questions = [_question(c, i) for i in QUESTIONS]
    for q in questions:
        q["crop"] = _data_uri(rows[q["n"]]) if rows else ""
    open_q = "全部十题" if len(c.unresolved) == len(QUESTIONS) else "第" + "、".join(map(str, c.unresolved)) + "题"
    return {
        "serial": c.serial, "ref": c.archival_code if c.serial_unconfirmed else (c.serial or c.archival_code),
        "serial_unconfirmed": c.serial_unconfirmed, "unresolved": list(c.unresolved),
        "header": _data_uri(header) if header is not None else "", "archival_code": c.archival_code,
        "enterprise": c.enterprise, "original_name": c.original_name, "rel_path": c.rel_path,
        "received": f"{c.received_at:%Y-%m-%d}" if c.received_at else "", "days_waiting": c.days_waiting,
        "open_zh": open_q if c.unresolved else ("无（待核对文字识别的检查编号）" if c.serial_unconfirmed else "无（待对应检查编号）"), "page": _data_uri(page) if page else "",
        "rows": bool(rows), "questions": questions,
    }


def sheet_html(ws: Workspace, cards: list[WaitingCard]) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), finalize=finalize)
    return env.get_template(SHEET_TEMPLATE).render(sheets=[sheet_context(ws, c) for c in cards])


def sheet_name(c: WaitingCard) -> str:
    return "核对单-" + _UNSAFE.sub("_", c.serial or c.archival_code) + ".png"


def write_sheets(ws: Workspace, cards: list[WaitingCard], folder: Path | None = None) -> SheetsResult:
    """One PNG per waiting card and one PDF for all of them in ``folder`` (default outbox/待核对/);
    the sheets of cards no longer waiting are removed from it."""
    from weasyprint import HTML

    folder = folder or default_folder(ws)
    folder.mkdir(parents=True, exist_ok=True)
    res = SheetsResult(folder)
    keep = {sheet_name(c) for c in cards}
    for old in folder.glob("核对单-*.png"):
        if old.name not in keep:
            old.unlink(missing_ok=True)
    pdf = folder / PDF_NAME
    if not cards:
        pdf.unlink(missing_ok=True)
        return res
    tmp = pdf.with_name(f".{pdf.name}.{os.getpid()}.tmp")
    HTML(string=sheet_html(ws, cards), base_url=str(TEMPLATES)).write_pdf(tmp)
    os.replace(tmp, pdf)
    res.pdf = pdf
    if not _pngs(pdf, [folder / sheet_name(c) for c in cards]):
        # A sheet ran over one page: each card's PNG from a PDF of its own.
        for c in cards:
            one = HTML(string=sheet_html(ws, [c]), base_url=str(TEMPLATES)).write_pdf()
            _pngs(one, [folder / sheet_name(c)])
    res.pngs = [folder / sheet_name(c) for c in cards]
    return res


def _pngs(pdf_data: Path | bytes, targets: list[Path]) -> bool:
    """The first page of each sheet as a PNG; False (nothing written) unless each sheet is one page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(pdf_data) if isinstance(pdf_data, Path) else pdf_data)
    try:
        if len(pdf) != len(targets) and len(targets) > 1:
            return False
        for k, target in enumerate(targets):
            pdf[k].render(scale=PNG_DPI / 72).to_pil().save(target)
    finally:
        pdf.close()
    return True
