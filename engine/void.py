"""Voiding a visit registered by mistake (``ruqi void SERIAL --reason``).

The visit stays in the register with who voided it, when and why; from then on it counts toward
nothing (annual caps, visit numbers, ``ruqi status``), and a corrected plan row for the same dates
can be registered.  Its archived documents stay where they are, byte for byte: voiding writes one
audit entry and touches no file.  The 纪委 review lists every voided visit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from .actor import current_actor
from .archive import Action, log_action
from .archive.models import ItemRecord
from .db import session
from .findings import Findings, error
from .register import RegisterState, Stale, by_serial, stale_numbers
from .shared_register import void_shared
from .workspace import Workspace

VOID_ACTION = Action.VOID  # the audit log's action name


class VoidCode(StrEnum):
    UNKNOWN = "VOID_SERIAL_UNKNOWN"
    ALREADY = "VOID_ALREADY_VOIDED"
    REASON_REQUIRED = "VOID_REASON_REQUIRED"


@dataclass(slots=True)
class VoidResult:
    serial: str
    findings: Findings = field(default_factory=Findings)
    enterprise: str = ""
    kind: str = ""
    start: date | None = None
    end: date | None = None
    voided_at: datetime | None = None
    voided_by: str = ""
    reason: str = ""
    documents: list[str] = field(default_factory=list)  # 档号 of the archived documents, left in place
    stale: list[Stale] = field(default_factory=list)  # printed cards of the enterprise this void makes wrong

    @property
    def ok(self) -> bool:
        return self.findings.ok

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "ok": self.ok, "enterprise": self.enterprise or None,
                "voided_at": self.voided_at.isoformat(timespec="seconds") if self.voided_at else None,
                "voided_by": self.voided_by or None, "reason": self.reason or None, "documents": self.documents,
                "stale": [st.to_json() for st in self.stale], "errors": self.findings.to_list()}


def void_visit(ws: Workspace, serial: str, reason: str, *, actor: str | None = None,
               now: datetime | None = None) -> VoidResult:
    """Void one visit; refused (with a finding, nothing changed) when unknown, already voided or without a reason."""
    out = VoidResult(serial.strip())
    reason = reason.strip()
    if not reason:
        out.findings.add(error(VoidCode.REASON_REQUIRED, "作废检查必须用 --reason 写明理由（例如“误登记：计划表示例行”）。",
                               "--reason"))
        return out
    with session(ws) as s:
        v = by_serial(s, out.serial)
        if v is None:
            out.findings.add(error(VoidCode.UNKNOWN, f"检查编号 {out.serial} 不在本局检查登记中，请核对编号（如 140200-2025-0001）。",
                                   "检查编号"))
            return out
        out.enterprise, out.kind, out.start, out.end = v.enterprise, v.kind, v.start, v.end
        if v.voided_at is not None:
            out.voided_at, out.voided_by, out.reason = v.voided_at, v.voided_by or "", v.voided_reason or ""
            out.findings.add(error(VoidCode.ALREADY, f"检查 {out.serial} 已于 {v.voided_at:%Y-%m-%d %H:%M} 由 {v.voided_by} 作废"
                                   f"（理由：{v.voided_reason}），不再重复作废。", "检查编号"))
            return out
        v.voided_at, v.voided_by, v.voided_reason = now or datetime.now(), current_actor(actor), reason
        s.flush()
        out.voided_at, out.voided_by, out.reason = v.voided_at, v.voided_by, reason
        out.documents = list(s.scalars(select(ItemRecord.archival_code).where(ItemRecord.serial == out.serial)
                                       .order_by(ItemRecord.id)).all())
        out.stale = [st for st in stale_numbers(s, v.uscc, v.year) if any(x == out.serial for x, _ in st.voided)]
        log_action(ws, VOID_ACTION, out.serial, actor=out.voided_by, session=s, details={
            "reason": reason, "enterprise": v.enterprise, "uscc": v.uscc, "kind": v.kind,
            "start": v.start.isoformat(), "end": v.end.isoformat(), "documents": out.documents,
            "renumbered": [st.serial for st in out.stale]})
        shared = v.register_state in (RegisterState.SHARED, RegisterState.CONFLICT)
    if shared:  # the shared register stops counting it too (or `ruqi register sync` does, later)
        out.findings.add(void_shared(ws, out.serial, reason))
    return out
