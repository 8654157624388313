"""A returned card in the archive and in the register: its metadata, and the register's card columns.

The archive item of a returned card carries everything the 纪委 review needs beyond the bytes:
``flags`` (VIOLATION, LATE, EARLY, SUSPECT, QR_MISSING, NEEDS_REVIEW) and ``extra`` (answers, violation question
numbers, how it was read, the serial/QR/enterprise as read, finding codes and messages).
The register's ``card_*`` columns are *derived* from the archive (``refresh_visit``), so they can
be recomputed at any time and a crash between filing and updating cannot leave them wrong.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..archive import ItemMeta
from ..archive.models import ItemRecord
from ..readback import CardReading
from ..register import Visit
from .codes import Flag, Kind, Status
from .shelve import finding_dicts
from .validate import CardCheck

RETURNED = "card_returned"
UNMATCHED = "other"  # a card whose serial matches no inspection has no inspection folder


def card_meta(reading: CardReading, check: CardCheck, visit: Visit | None, name: str, received_at: datetime,
              status: Status, sha256: str) -> ItemMeta:
    enterprise = visit.enterprise if visit else (reading.enterprise or "未知单位")
    return ItemMeta(
        form_type=RETURNED if visit else UNMATCHED,
        title=f"{enterprise}入企检查监督反馈卡（回收）",
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
        # A scan or photo: how each box was read and how surely, the page, and whether the serial
        # came from the printed text (no signature checked).
        "marks": reading.marks_json(), "page": reading.page, "serial_from_ocr": reading.serial_from_ocr,
    }


def refresh_visit(s: Session, visit: Visit) -> None:
    """Recompute the register's card columns from every returned card filed for this serial.

    Idempotent.  The latest filed version counts (``card_answers``, ``card_flags``,
    ``card_received_at``); ``card_version`` is the number of versions; ``REVISED`` marks a serial
    with several, ``VIOLATION_WITHDRAWN`` one whose earlier version answered 是 where the latest
    does not, so the review still sees it.
    """
    rows = s.scalars(select(ItemRecord).where(ItemRecord.serial == visit.serial, ItemRecord.form_type == RETURNED)
                     .order_by(ItemRecord.id)).all()
    if not rows:
        return
    latest = rows[-1]
    extra = dict(latest.extra or {})
    flags = list(latest.flags or [])
    if len(rows) > 1:
        flags.append("REVISED")
        if Flag.VIOLATION not in flags and any(Flag.VIOLATION in (r.flags or []) for r in rows[:-1]):
            flags.append("VIOLATION_WITHDRAWN")
    visit.card_status = "needs_review" if extra.get("status") == Status.NEEDS_REVIEW else "received"
    visit.card_received_at = latest.received_at
    visit.card_version = len(rows)
    visit.card_answers = dict(extra.get("answers") or {})
    visit.card_flags = flags
