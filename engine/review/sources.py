"""What the review reads besides the register: the archive index and the returned cards themselves.

Kept in one module so the review depends on the archive and the inbox at exactly one place.  The
queries run against the archive's own table (``archive_items``) read-only; nothing here writes.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import readings
from ..archive import search
from ..archive.models import ItemRecord
from ..db import in_lists, session
from ..forms import PER_INSPECTION, FormType
from ..inbox.codes import Flag
from ..inbox.validate import CardCode
from ..readback.common import ReadMethod, visit_numbers_in
from ..workspace import Workspace
from .model import Document, Entry, SuspectReason


def _document(r: ItemRecord, said: readings.CardAnswers | None = None, form_type: str = "") -> Document:
    extra = dict(r.extra or {})
    if said is not None:
        extra["answers"] = said.answers_json()  # what the card says now (a person's reading included)
    return Document(
        form_type=form_type or r.form_type, archival_code=r.archival_code, rel_path=r.rel_path, sha256=r.sha256,
        size=r.size, original_name=r.original_name or "", version=r.version or 1, flags=tuple(r.flags or ()),
        received_at=r.received_at, extra=extra, item_id=r.id,
    )


def documents_by_serial(s: Session, serials: Sequence[str],
                        form_types: Sequence[str] = PER_INSPECTION) -> dict[str, list[Document]]:
    """Every archived original of these inspections (of ``form_types``), by serial, in 件号 order within
    each form type; a card without a readable serial that a person tied to one of them counts as its
    returned card."""
    return documents_and_answers(s, serials, form_types)[0]


def documents_and_answers(s: Session, serials: Sequence[str], form_types: Sequence[str] = PER_INSPECTION,
                          ) -> tuple[dict[str, list[Document]], dict[int, readings.CardAnswers]]:
    """``documents_by_serial``, and what each of their cards says now by item id (read once for both)."""
    out: dict[str, list[Document]] = {}
    said_all: dict[int, readings.CardAnswers] = {}
    if not serials:
        return out, said_all
    item = ItemRecord
    order = {t: i for i, t in enumerate(PER_INSPECTION)}
    for chunk in in_lists(serials):
        rows = s.scalars(select(item).where(item.serial.in_(chunk), item.form_type.in_(list(form_types)))).all()
        tied = readings.ties(s, chunk)
        tied_rows = s.scalars(select(item).where(item.id.in_(list(tied)))).all() if tied else []
        said = readings.current_many(s, [r.id for r in [*rows, *tied_rows] if r.form_type != FormType.CARD_GENERATED])
        said_all |= said
        for r in rows:
            out.setdefault(r.serial, []).append(_document(r, said.get(r.id)))
        for r in tied_rows:
            out.setdefault(tied[r.id], []).append(_document(r, said.get(r.id), PER_INSPECTION[-1]))
    for docs in out.values():
        docs.sort(key=lambda d: (order[d.form_type], d.archival_code))
    return out, said_all


@dataclass(frozen=True, slots=True)
class Correction:
    """An answer a person changed after it had been read, with the card it is on."""

    serial: str
    document: Document
    changed: readings.Changed


def corrections(s: Session) -> list[Correction]:
    """Every correction of a card's answers (``ruqi confirm --correct``), oldest first."""
    changed = readings.corrections(s)
    ids = sorted({c.item_id for c in changed})
    rows = {r.id: r for r in s.scalars(select(ItemRecord).where(ItemRecord.id.in_(ids))).all()} if ids else {}
    tied = readings.ties(s)
    out = []
    for c in changed:
        r = rows.get(c.item_id)
        if r is not None:
            out.append(Correction(r.serial or tied.get(r.id, ""), _document(r), c))
    return out


@dataclass(frozen=True, slots=True)
class ReturnedCard:
    """A returned card the inbox flagged SUSPECT, as the archive index records it."""

    serial: str
    enterprise: str
    county: str
    received_at: datetime | None
    reasons: tuple[SuspectReason, ...]
    document: Document | None
    note: str = ""


def suspect_items(ws: Workspace) -> list[ReturnedCard]:
    """Every archived item the inbox flagged SUSPECT (returned cards, whatever their serial)."""
    return flagged_cards(ws, Flag.SUSPECT)


def flagged_cards(ws: Workspace, flag: str) -> list[ReturnedCard]:
    """Every archived item the inbox flagged ``flag`` (SUSPECT, QR_MISSING), whatever its serial."""
    with session(ws) as s:
        tied = readings.ties(s)
    return [_returned_card(r, tied) for r in search(ws, flag=flag)]


def flagged_among(s: Session, item_ids: Collection[int], flags: Sequence[str]) -> list[tuple[ReturnedCard, set[str]]]:
    """``flagged_cards`` of these archived items only, each with which of ``flags`` it carries."""
    out = []
    for chunk in in_lists(sorted(item_ids)):
        tied = {i: serial for i, serial in s.execute(
            select(readings.CardTie.item_id, readings.CardTie.serial).where(readings.CardTie.item_id.in_(chunk)))}
        for r in s.scalars(select(ItemRecord).where(ItemRecord.id.in_(chunk))):
            carried = {f for f in flags if f in (r.flags or [])}
            if carried:
                out.append((_returned_card(r, tied), carried))
    return out


def _returned_card(r: ItemRecord, tied: dict[int, str]) -> ReturnedCard:
    extra = dict(r.extra or {})
    return ReturnedCard(
        serial=card_serial(r, tied), enterprise=str(extra.get("enterprise_read") or r.enterprise or ""),
        county=r.county or "", received_at=r.received_at or r.filed_at,
        reasons=suspect_reasons([*r.flags, *_extra_codes(extra)]), document=_document(r),
        note=str(extra.get("suspect_note") or ""),
    )


def card_serial(r: ItemRecord, tied: dict[int, str]) -> str:
    """The inspection an archived item belongs to: its serial, the one a person tied it to, or the
    one a flagged card stated ("" when none)."""
    return r.serial or tied.get(r.id) or next((x for x in _stated_serials(r) if x), "")


def _stated_serials(r: ItemRecord) -> tuple[str, str]:
    """The serial the inbox read off a card (its QR or print), as its record keeps it."""
    extra = r.extra if isinstance(r.extra, dict) else {}
    return str(extra.get("serial_read") or ""), str(extra.get("serial") or "")


def item_serials(s: Session, item_ids: Collection[int]) -> set[str]:
    """Every inspection these archived items may count for: ``card_serial``'s candidates, not only the
    one that wins now (a card tied by a person leaves the inspection its printed serial named)."""
    out: set[str] = set()
    for chunk in in_lists(sorted(item_ids)):
        out |= set(s.scalars(select(readings.CardTie.serial).where(readings.CardTie.item_id.in_(chunk))))
        for r in s.scalars(select(ItemRecord).where(ItemRecord.id.in_(chunk))):
            out |= {r.serial or "", *_stated_serials(r)}
    return out - {""}


def _extra_codes(extra: dict[str, Any]) -> list[str]:
    codes: list[str] = []
    for key in ("suspect", "suspect_reasons", "codes", "errors"):
        v = extra.get(key)
        if isinstance(v, str):
            codes.append(v)
        elif isinstance(v, list):
            codes += [str(x.get("code")) if isinstance(x, dict) else str(x) for x in v]
    return codes


def _reason_map() -> dict[str, str]:
    """The inbox's finding codes that made a card SUSPECT → the review's reason (by the inbox's own
    enum, so renaming a code there breaks here loudly instead of silently dropping a reason)."""
    return {
        CardCode.SERIAL_MISSING: "SERIAL_UNKNOWN",
        CardCode.SERIAL_UNKNOWN: "SERIAL_UNKNOWN",
        CardCode.QR_INVALID: "QR_INVALID",
        CardCode.QR_SERIAL_MISMATCH: "SERIAL_MISMATCH",
        CardCode.ENTERPRISE_MISMATCH: "ENTERPRISE_MISMATCH",
        CardCode.DATES_MISMATCH: "DATES_MISMATCH",
        CardCode.IDENTITY_UNCONFIRMED: "IDENTITY_UNCONFIRMED",
    }


def suspect_reasons(codes: Iterable[str]) -> tuple[SuspectReason, ...]:
    reasons = _reason_map()
    found = {SuspectReason(reasons[c]) for c in codes if c in reasons}
    return tuple(sorted(found, key=list(SuspectReason).index))


# ---- the visit numbers a returned card states --------------------------------------------------


def stated_visit_numbers(ws: Workspace, entry: Entry, read_cards: bool = True) -> tuple[int | None, int | None] | None:
    """The 第N次/第M次 the latest returned card states, from the inbox's record if it kept them,
    else read from the archived file itself."""
    returned = [d for d in entry.documents if d.form_type == FormType.CARD_RETURNED]
    if not returned:
        return None
    latest = max(returned, key=lambda d: (d.version, d.archival_code))
    stored = _stored_numbers(latest)
    if stored is not None and stored != (None, None):
        return stored
    # A scan or photo has no text layer to read again (the inbox found none): not worth a PDF parser.
    if not read_cards or latest.extra.get("read_method") == ReadMethod.IMAGE:
        return None
    text = card_text(ws.archive / latest.rel_path)
    return visit_numbers_in(text) if text else None


def _stored_numbers(doc: Document) -> tuple[int | None, int | None] | None:
    for total_key, kind_key in (("stated_visit_total", "stated_visit_kind"), ("visit_total", "visit_kind")):
        if total_key in doc.extra or kind_key in doc.extra:
            return _as_int(doc.extra.get(total_key)), _as_int(doc.extra.get(kind_key))
    return None


def _as_int(v: Any) -> int | None:
    try:
        return int(v) if v is not None and v != "" else None
    except (TypeError, ValueError):
        return None


MAX_CARD_PAGES = 4  # the card is one page; a long file is not ours to read here


def card_text(path: Path) -> str:
    """Plain text of a returned card (PDF or docx); '' when it has none (scans) or cannot be read."""
    try:
        head = path.read_bytes()[:8]
    except OSError:
        return ""
    try:
        if head.startswith(b"%PDF"):
            return _pdf_text(path)
        if head.startswith(b"PK") and zipfile.is_zipfile(path):
            return _docx_text(path)
    except Exception:  # an archived original that will not parse is verify's business, not the review's
        return ""
    return ""


def _pdf_text(path: Path) -> str:
    import pdfplumber

    with pdfplumber.open(path) as pdf:
        return "\n".join(p.extract_text() or "" for p in pdf.pages[:MAX_CARD_PAGES])


def _docx_text(path: Path) -> str:
    from docx import Document as Docx

    d = Docx(str(path))
    parts = [p.text for p in d.paragraphs]
    parts += [c.text for t in d.tables for row in t.rows for c in row.cells]
    return "\n".join(parts)
