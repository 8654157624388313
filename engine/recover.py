"""`ruqi archive repair` as a whole: the archive's own repair, then the register rebuilt from it.

``engine.archive.repair`` sets a damaged database aside and replays the archive's journal (the
audit log and every index row, with their original 档号 and 件号).  Here, in the same
transaction, the register is rebuilt from what the index then holds:

- each generated card carries its visit as recorded (``extra["visit"]``, see ``generate``): every
  visit whose serial the register lacks is restored from it, numbers, dates, team, over-cap
  approval and reason included;
- the card columns of each restored visit are recomputed from the returned cards filed for its
  serial (``inbox.cards.refresh_visit``), so ``status`` and the review see what came back;
- a visit voided after its card was generated is voided again from its "void" audit entry
  (who, when, why).

Not recoverable from the archive, and reported: visits of cards generated before their record
was kept with the card (their serials still count: ``register.next_serial`` never goes below
the highest serial filed in the archive, so no number is issued twice); a photo held in
``inbox/needs_review/`` (the archive never took it); the statistics desk's rounds and accepted
submissions (the workbooks themselves are in the archive).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import register
from .archive import RepairReport, repair
from .archive.models import AuditRecord, ItemRecord
from .forms import GENERATED_FORMS, FormType
from .inbox.cards import refresh_visit
from .register import Visit
from .void import VOID_ACTION
from .workspace import Workspace


def repair_workspace(ws: Workspace, *, actor: str | None = None) -> RepairReport:
    """Everything ``ruqi archive repair`` does; ``report.restored`` says what the register regained."""
    return repair(ws, actor=actor, restore=restore_register)


def restore_register(s: Session) -> dict[str, Any]:
    restored: list[Visit] = []
    for extra in s.scalars(select(ItemRecord.extra).where(ItemRecord.form_type == FormType.CARD_GENERATED)
                           .order_by(ItemRecord.id)):
        snap = (extra or {}).get("visit")
        if isinstance(snap, dict):
            v = register.restore_visit(s, snap)
            if v is not None:
                restored.append(v)
    for v in restored:
        refresh_visit(s, v)
    voided = _reapply_voids(s, {v.serial: v for v in restored})
    known = set(s.scalars(select(Visit.serial)))
    filed = set(s.scalars(select(ItemRecord.serial).where(ItemRecord.form_type.in_(GENERATED_FORMS)).distinct()))
    return {"visits": len(restored), "voided": voided, "serials_without_visit": sorted(filed - known)}


def _reapply_voids(s: Session, restored: dict[str, Visit]) -> int:
    """A voided visit's card carries it as it was generated; its "void" entry says who, when, why."""
    n = 0
    for e in s.scalars(select(AuditRecord).where(AuditRecord.action == VOID_ACTION).order_by(AuditRecord.seq)):
        v = restored.get(e.object)
        if v is None or v.voided_at is not None:
            continue
        details = json.loads(e.details)
        v.voided_at = datetime.fromisoformat(e.at).replace(tzinfo=None)  # local time, as void_visit writes it
        v.voided_by, v.voided_reason = e.actor, str(details.get("reason", ""))
        n += 1
    s.flush()
    return n
