"""A returned card in the archive and in the register: its metadata, and the register's card columns.

The archive item of a returned card carries everything the 纪委 review needs beyond the bytes:
``flags`` (VIOLATION, LATE, EARLY, SUSPECT, QR_MISSING, NEEDS_REVIEW) and ``extra`` (answers, violation question
numbers, how it was read, the serial/QR/enterprise as read, finding codes and messages).
The register's ``card_*`` columns are *derived* from the archive and from what each card says per
question (``engine.readings``: the reader's decisions at filing, a person's reading since), so they
can be recomputed at any time and a crash between filing and updating cannot leave them wrong.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import readings
from ..archive import ItemMeta
from ..archive.models import ItemRecord
from ..card_state import CardState
from ..forms import FormType
from ..readback import CardReading
from ..register import Visit
from .codes import Flag, Kind, Status
from .shelve import finding_dicts
from .validate import CardCheck

RETURNED = FormType.CARD_RETURNED
UNMATCHED = FormType.OTHER  # a card whose serial matches no inspection has no inspection folder


def card_meta(reading: CardReading, check: CardCheck, visit: Visit | None, name: str, received_at: datetime,
              status: Status, sha256: str) -> ItemMeta:
    enterprise = visit.enterprise if visit else (reading.enterprise or "未知单位")
    return ItemMeta(
        form_type=RETURNED if visit else UNMATCHED,
        title=f"{enterprise}{FormType.CARD_RETURNED.zh}",
        responsible=enterprise,
        date=received_at.date(),
        year=visit.year if visit else received_at.year,
        serial=visit.serial if visit else "",
        enterprise=visit.enterprise if visit else reading.enterprise,
        uscc=visit.uscc if visit else (reading.qr.uscc if reading.qr else ""),
        county=visit.county if visit else "",
        original_name=name,
        flags=list(check.flags),
        received_at=received_at,
        extra=card_extra(reading, check, status, sha256),
    )


def card_extra(reading: CardReading, check: CardCheck, status: Status, sha256: str) -> dict[str, Any]:
    qr = reading.qr
    return {
        "kind": str(Kind.FEEDBACK_CARD), "status": str(status), "answers": reading.answers_json(),
        "violations": check.violations, "read_method": str(reading.method), "serial_read": reading.serial,
        "printed_serial": reading.printed_serial,
        "qr": {"serial": qr.serial, "uscc": qr.uscc, "valid": qr.valid} if qr else None,
        "enterprise_read": reading.enterprise, "head": reading.head, "position": reading.position,
        "phone": reading.phone, "stated_visit_total": reading.stated_visit_total,
        "stated_visit_kind": reading.stated_visit_kind,
        "printed_dates": [d.isoformat() for d in reading.printed_dates] if reading.printed_dates else None,
        "codes": check.findings.codes(), "errors": finding_dicts(list(check.findings)), "sha256": sha256,
        "suspect_note": "；".join(check.suspect_reasons),
        "marks": reading.marks_json(),  # a scan: how each box was read, how surely (engine.readings falls back on it)
        # The page of a multi-card scan, and whether the serial came from the printed text (no signature checked).
        "page": reading.page, "serial_from_ocr": reading.serial_from_ocr,
    }


def returned_items(s: Session, serial: str) -> list[ItemRecord]:
    """Every returned card filed for this serial, and every card a person tied to it, oldest first."""
    tied = list(readings.ties(s, [serial]))
    q = select(ItemRecord).where((ItemRecord.serial == serial) & (ItemRecord.form_type == RETURNED))
    if tied:
        q = select(ItemRecord).where(((ItemRecord.serial == serial) & (ItemRecord.form_type == RETURNED))
                                     | ItemRecord.id.in_(tied))
    return list(s.scalars(q.order_by(ItemRecord.id)).all())


def says(s: Session, item: ItemRecord) -> readings.CardAnswers:
    """What this card says now: its rows in the register, else (a database rebuilt from the archive)
    the answers its archive record kept."""
    got = readings.current(s, item.id)
    return got if got is not None else readings.from_filed(item.id, item.extra or {})


def serial_from_ocr(item: ItemRecord) -> bool:
    """The card was filed under the 检查编号 Tesseract read off the print (no QR, no signature)."""
    return item.form_type == RETURNED and bool((item.extra or {}).get("serial_from_ocr"))


def serial_pending(s: Session, item: ItemRecord) -> bool:
    """A card filed under a serial read off the print that no person has confirmed yet (``ruqi confirm
    … --serial``, a ``card_ties`` row): it waits for a person even with all ten answers read."""
    return serial_from_ocr(item) and readings.tie_of(s, item.id) is None


def effective_flags(item: ItemRecord, now: readings.CardAnswers, pending: bool = False) -> list[str]:
    """The card's flags as filed, with VIOLATION and NEEDS_REVIEW following what it says now
    (``pending``: its printed serial is still to be confirmed by a person)."""
    flags = [f for f in (item.flags or []) if f not in (Flag.VIOLATION, Flag.NEEDS_REVIEW)]
    if now.yes:
        flags.append(str(Flag.VIOLATION))
    if now.unresolved or pending:
        flags.append(str(Flag.NEEDS_REVIEW))
    return flags


def refresh_visit(s: Session, visit: Visit) -> None:
    """Recompute the register's card columns from every returned card filed for (or tied to) this serial.

    Idempotent.  The latest filed version counts (``card_answers``, ``card_flags``,
    ``card_received_at``, ``card_read_by``), as it says now (``engine.readings``: a person's reading
    included); ``card_version`` is the number of versions; ``REVISED`` marks a serial with several,
    ``VIOLATION_WITHDRAWN`` one whose earlier version answered 是 where the latest does not, so the
    review still sees it.
    """
    rows = returned_items(s, visit.serial)
    if not rows:
        return
    latest = rows[-1]
    now = says(s, latest)
    pending = serial_pending(s, latest)
    flags = effective_flags(latest, now, pending)
    if len(rows) > 1:
        flags.append(Flag.REVISED)
        if Flag.VIOLATION not in flags and any(says(s, r).yes for r in rows[:-1]):
            flags.append(Flag.VIOLATION_WITHDRAWN)
    visit.card_status = CardState.stored(bool(now.unresolved) or pending)
    visit.card_received_at = latest.received_at
    visit.card_version = len(rows)
    visit.card_answers = now.answers_json()
    visit.card_flags = flags
    visit.card_read_by = str(readings.ReadBy.WAITING if pending else now.read_by)
