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
  (who, when, why);
- what each returned card says per question (``engine.readings``): the reader's answers as its
  archive record kept them, then every person's reading, correction and tie from their audit
  entries ("confirm", "correct", "tie"), in order — before the card columns are recomputed.

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

from . import readings, register
from .archive import Action, RepairReport, repair
from .archive.models import AuditRecord, ItemRecord
from .forms import ANSWER_OPTIONS, GENERATED_FORMS, FormType
from .inbox.cards import RETURNED, UNMATCHED, refresh_visit
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
    serials = _restore_readings(s)
    for v in {*restored, *s.scalars(select(Visit).where(Visit.serial.in_(sorted(serials)))).all()}:
        refresh_visit(s, v)
    voided = _reapply_voids(s, {v.serial: v for v in restored})
    known = set(s.scalars(select(Visit.serial)))
    filed = set(s.scalars(select(ItemRecord.serial).where(ItemRecord.form_type.in_(GENERATED_FORMS)).distinct()))
    return {"visits": len(restored), "voided": voided, "serials_without_visit": sorted(filed - known)}


PERSON_ACTIONS = (Action.TIE, Action.CONFIRM, Action.CORRECT)


def _restore_readings(s: Session) -> set[str]:
    """Per-question rows for every returned card that has none (the database was rebuilt): its filed
    answers, then the people's readings and ties from the audit log.  The serials touched."""
    have = set(s.scalars(select(readings.QuestionReading.item_id).distinct()))
    cards = [r for r in s.scalars(select(ItemRecord).where(ItemRecord.form_type.in_((RETURNED, UNMATCHED)))
                                  .order_by(ItemRecord.id)) if r.id not in have and (r.extra or {}).get("answers")]
    for r in cards:
        readings.record(s, r.id, readings.from_filed(r.id, r.extra or {}).now, actor=r.actor, at=r.filed_at)
    by_code = {r.archival_code: r for r in cards}
    tied = readings.ties(s)
    touched = {r.serial for r in cards if r.serial}
    for e in s.scalars(select(AuditRecord).where(AuditRecord.action.in_(PERSON_ACTIONS)).order_by(AuditRecord.seq)):
        details = json.loads(e.details)
        r = by_code.get(str(details.get("archival_code", "")))
        if r is None:
            continue  # a card whose rows survived: its readings are still there
        at = datetime.fromisoformat(e.at).replace(tzinfo=None)  # local time, as engine.confirm writes it
        if e.action == Action.TIE and r.id not in tied:
            readings.tie(s, r.id, e.object, actor=e.actor, at=at)
            tied[r.id] = e.object
        elif e.action != Action.TIE:
            recorded = {int(k): a for k, a in dict(details.get("recorded") or {}).items() if a in ANSWER_OPTIONS}
            readings.record(s, r.id, readings.person_decisions(recorded), actor=e.actor, at=at,
                            reason=str(details.get("reason") or ""))
        touched.add(r.serial or tied.get(r.id, ""))
    touched.discard("")
    return touched


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
