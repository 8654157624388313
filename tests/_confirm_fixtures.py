"""Paper cards as they reach the inbox: the generated card rendered to a picture (what a scan of the
printed card is), with or without a readable QR, and filed by the inbox like any return."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

from engine.inbox import Outcome, ingest
from engine.workspace import Workspace


def scan_png(card_pdf: Path, dst: Path, dpi: int = 150, cover_qr: bool = False) -> Path:
    """The card page as a scanner at ``dpi`` gives it; ``cover_qr``: the QR and the printed serial beside it
    scribbled over (painted out)."""
    import pypdfium2 as pdfium
    import zxingcpp
    from PIL import ImageDraw

    img = pdfium.PdfDocument(str(card_pdf))[0].render(scale=dpi / 72).to_pil().convert("RGB")
    if cover_qr:
        for r in zxingcpp.read_barcodes(img):
            p = r.position
            xs = [p.top_left.x, p.top_right.x, p.bottom_left.x, p.bottom_right.x]
            ys = [p.top_left.y, p.top_right.y, p.bottom_left.y, p.bottom_right.y]
            # The printed 检查编号 beside it too: nothing on the page tells the serial any more.
            ImageDraw.Draw(img).rectangle((int(img.width * 0.3), min(ys) - 12, max(xs) + 12, max(ys) + 12), fill="black")
        assert not zxingcpp.read_barcodes(img), "the QR is still readable"
    img.save(dst)
    return dst


def drop(ws: Workspace, src: Path, name: str, received: datetime | None = None) -> Outcome:
    """Put one file into the inbox (received on ``received``) and ingest it."""
    target = ws.inbox / name
    shutil.copy(src, target)
    if received is not None:
        os.utime(target, (received.timestamp(), received.timestamp()))
    (out,) = ingest(ws, names=[name]).outcomes
    return out
