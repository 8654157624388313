"""Which feedback cards have not come back, and which of those are overdue.

A card is due ``late_days`` (``ruqi.toml`` ``[inbox] late_days``, 3 by default) after the
inspection's last day.  ``pending_cards`` lists every visit whose card has not been received
(register ``card_status`` is ``CardState.NONE``); ``overdue`` marks those past their due date.  Voided visits
(``ruqi void``) are not waited for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from ..card_state import CardState
from ..db import session
from ..register import Visit, live
from ..workspace import Workspace


@dataclass(frozen=True, slots=True)
class PendingCard:
    serial: str
    enterprise: str
    county: str
    kind: str
    start: date
    end: date
    due: date
    days_overdue: int  # 0 when not overdue

    @property
    def overdue(self) -> bool:
        return self.days_overdue > 0

    def to_json(self) -> dict[str, Any]:
        return {"serial": self.serial, "enterprise": self.enterprise, "county": self.county, "kind": self.kind,
                "start": self.start.isoformat(), "end": self.end.isoformat(), "due": self.due.isoformat(),
                "overdue": self.overdue, "days_overdue": self.days_overdue}


def pending_cards(ws: Workspace, *, today: date | None = None, overdue_only: bool = False) -> list[PendingCard]:
    """Visits without a returned card, by end date; ``overdue_only`` keeps those past due."""
    today = today or date.today()
    days = ws.config.late_days
    out: list[PendingCard] = []
    with session(ws) as s:
        visits = s.scalars(select(Visit).where(Visit.card_status == CardState.NONE, live()).order_by(Visit.end, Visit.serial)).all()
        for v in visits:
            due = v.end + timedelta(days=days)
            late = max((today - due).days, 0)
            if overdue_only and late == 0:
                continue
            out.append(PendingCard(v.serial, v.enterprise, v.county, v.kind, v.start, v.end, due, late))
    return out
