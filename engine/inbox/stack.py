"""A scan holding several cards (a clerk scans a stack into one PDF): the original once, each card on its own.

The office scanner makes one image PDF (or multi-page TIFF) of a whole stack of ticked cards.  Each
card must reach its own inspection, with its own answers, exactly like a single-card return; the
file the clerk dropped must stay in the archive once, byte-identical.  So a multi-card file is filed
as:

- the **original**, once, as an archive item of form type ``card_scan`` (no serial; its retention is
  the returned card's), whose ``extra`` lists the cards read from it (page, serial) and the pages
  skipped (blank backs of a duplex scan, pages that are not cards);
- one **card item** per card (``card_returned``, or ``other`` for a serial matching no inspection),
  whose bytes are that one page of the original, cut out without re-encoding (pdfium copies the
  page with its image stream; a TIFF frame is written as lossless PNG), and whose ``extra`` carries
  ``page`` (0-based page in the original) and ``source`` (the original's id, 档号, path, size,
  SHA-256).  Every reader of cards (review, status, ``ruqi confirm``, its review sheets, the
  register) sees an ordinary one-page card; ``archive verify`` checks every file against its own
  hashes, and the BagIt export adds the original beside the cards cut from it.

All of it happens in the file's one SAVEPOINT of the ingest batch: a crash before the commit files
nothing (the claim is redone whole), after it everything; never card 1 twice or card 3 lost.

A file with one card and blank or foreign pages (a duplex scan of one card) is filed as that card
itself, as before, its ``page`` saying where the card is, and the pages skipped said in a note.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..archive import ItemMeta, ItemRow
from ..archive.models import ItemRecord
from ..archive.store import retention_for
from ..findings import Finding, Severity, warning
from ..forms import FormType
from ..images import pillow
from ..readback import CardReading
from ..register import Visit
from ..render.pdfsplit import split_pages
from ..workspace import Workspace
from .cards import RETURNED, UNMATCHED
from .codes import Kind, Reason

STACK = FormType.CARD_SCAN


def page_label(page: int) -> str:
    """A 0-based page as a clerk counts it."""
    return f"第{page + 1}页"


def blank_note(page: int) -> Finding:
    return Finding(Reason.BLANK_PAGE, f"{page_label(page)}是空白页（双面扫描时卡片的背面），已跳过。", page_label(page),
                   Severity.INFO)


def not_a_card_note(page: int) -> Finding:
    return warning(Reason.PAGE_NOT_A_CARD, f"{page_label(page)}不是反馈卡（找不到本局的二维码，也找不到十个问题的表格），已跳过；"
                                           "原文件已完整归档。如果这一页其实是反馈卡（拍得不全、太斜或太模糊），"
                                           "请把这张卡单独重新扫描后放入收件箱。", page_label(page))


def twin_note(page: int, kept: int, serial: str) -> Finding:
    return warning(Reason.DUPLICATE_PAGE, f"{page_label(page)}与{page_label(kept)}是同一张反馈卡（检查编号 {serial}），"
                                          "可能重复扫描了一次；按识读更完整的一页归档，这一页不重复归档。", page_label(page))


# ---- the original


def original_meta(ws: Workspace, name: str, received_at: datetime, cards: list[CardReading], pages: int,
                  visits: dict[str, Visit], notes: list[Finding], sha256: str) -> ItemMeta:
    """The dropped file as filed once: what it holds, which pages were skipped."""
    enterprises = list(dict.fromkeys(visits[r.serial].enterprise if r.serial in visits
                                     else (r.enterprise or "未知单位") for r in cards))
    counties = {v.county for v in visits.values()}
    meta = ItemMeta(
        form_type=STACK, title=f"{len(cards)}张反馈卡的扫描件（{name.rsplit('.', 1)[0]}）", responsible="、".join(enterprises),
        date=received_at.date(), year=received_at.year, county=counties.pop() if len(counties) == 1 else "",
        original_name=name, received_at=received_at,
        extra={"kind": str(STACK), "pages": pages, "sha256": sha256,
               "cards": [{"page": r.page, "serial_read": r.serial} for r in cards],
               "skipped_pages": [{"page": _page_of(f), "code": f.code, "message": f.message} for f in notes]},
    )
    # The original is kept as long as the cards cut from it.
    meta.retention = retention_for(ws, ItemMeta(form_type=RETURNED, title="", responsible="", date=meta.date))
    return meta


def _page_of(f: Finding) -> int:
    """The 0-based page a page note is about (its ``where`` is ``第N页``)."""
    return int(f.where.removeprefix("第").removesuffix("页")) - 1


def source_extra(original: ItemRow, name: str, pages: int) -> dict[str, Any]:
    """What a card item keeps of the original it was cut from (``extra["source"]``)."""
    return {"item": original.id, "archival_code": original.archival_code, "rel_path": original.rel_path,
            "sha256": original.sha256, "size": original.size, "name": name, "pages": pages}


def original_json(archival_code: str, location: str, cards: int, pages: int,
                  notes: list[dict[str, Any]]) -> dict[str, Any]:
    """``ruqi ingest --json``: the ``original`` of each card of a multi-card scan (``skipped_pages``:
    ``page`` 1-based, ``code``, ``message``)."""
    return {"archival_code": archival_code, "location": location, "pages": pages, "cards": cards,
            "skipped_pages": notes}


def skipped_json(notes: list[Finding]) -> list[dict[str, Any]]:
    return [{"page": _page_of(f) + 1, "code": f.code, "message": f.message} for f in notes]


# ---- one page as a file of its own


@dataclass(frozen=True, slots=True)
class PageFile:
    data: bytes
    name: str  # the original's name with this page's format (the archive sniffs the bytes)


def page_files(path: Path, content: str, pages: list[int], name: str) -> list[PageFile]:
    """Each of ``pages`` (0-based) of the original as a one-page file, not re-encoded where the
    format allows: a PDF page is copied with its resources (pdfium), a TIFF frame written as PNG."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if content == "pdf":
        docs = split_pages(path.read_bytes(), [range(p, p + 1) for p in pages])
        return [PageFile(d.data, f"{stem}.pdf") for d in docs]
    return [PageFile(_frame_png(path, p), f"{stem}.png") for p in pages]


def _frame_png(path: Path, page: int) -> bytes:
    from PIL import ImageOps

    Image = pillow()  # noqa: N806 - the module, as Pillow spells it
    with Image.open(path) as img:
        img.seek(page)
        # As the reader saw it (``engine.omr.pages``): the first frame turned by its EXIF orientation.
        frame = ImageOps.exif_transpose(img) if page == 0 else img.copy()
        buf = io.BytesIO()
        frame.save(buf, "PNG")
    return buf.getvalue()


# ---- cards already filed from an original


def card_items(s: Session, original_id: int, name: str) -> list[ItemRecord]:
    """The card items cut from the original ``original_id`` (filed right after it, under its name)."""
    rows = s.scalars(select(ItemRecord).where(ItemRecord.form_type.in_((RETURNED, UNMATCHED)),
                                              ItemRecord.original_name == name, ItemRecord.id > original_id)
                     .order_by(ItemRecord.id))
    return [r for r in rows if ((r.extra or {}).get("source") or {}).get("item") == original_id
            and (r.extra or {}).get("kind") == Kind.FEEDBACK_CARD]


def twins(cards: list[CardReading]) -> list[int]:
    """For each card of a stack, the card it is filed as: itself, or the same card scanned twice
    (same serial, no question answered differently) that was read best (most questions decided;
    the earlier page on a tie).  A serial not read matches nothing."""
    groups: list[list[int]] = []
    for n, r in enumerate(cards):
        g = next((g for g in groups if r.serial and cards[g[0]].serial == r.serial
                  and all(_agree(cards[k], r) for k in g)), None)
        if g is None:
            groups.append([n])
        else:
            g.append(n)
    out = list(range(len(cards)))
    for g in groups:
        best = max(g, key=lambda k: (sum(a is not None for a in cards[k].answers_json().values()), -k))
        for k in g:
            out[k] = best
    return out


def _agree(a: CardReading, b: CardReading) -> bool:
    x, y = a.answers_json(), b.answers_json()
    return all(x[q] is None or y[q] is None or x[q] == y[q] for q in x)
