"""The inbox's only contact with ``engine.stats``: recognise a workbook, read it, accept it.

Kept in one small module so the inbox does not depend on the statistics code's internals.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..findings import Finding, Findings, error
from ..stats import AcceptResult, Period, Submission, read_submission, recognise
from ..stats import accept as stats_accept
from ..stats import issued_periods as stats_issued_periods
from ..stats import note_rejected as stats_note_rejected
from ..workspace import Workspace
from .codes import Kind, Reason

_KINDS = {1: Kind.STATS_TABLE_1, 2: Kind.STATS_TABLE_2, 3: Kind.STATS_TABLE_3, 4: Kind.STATS_TABLE_4}
STATS_KINDS = frozenset(_KINDS.values())


def issued_periods(ws: Workspace, session: Session) -> dict[int, Period]:
    """The latest period issued per table, read by the parent before the workers start (in the
    batch's own transaction: another connection would wait for its write lock): a worker reads
    workbooks without opening the database."""
    return stats_issued_periods(ws, session)


def read(path: Path, root: Path, rounds: dict[int, Period]) -> tuple[Kind, Submission | None, list[Finding]]:
    """(kind, what stats read, findings): errors mean the workbook is rejected.  ``rounds``: from
    ``issued_periods`` (reading opens no database: this runs in a worker process)."""
    which = recognise(path)
    if which is None:
        return Kind.UNKNOWN, None, [error(Reason.UNKNOWN_WORKBOOK, "这个表格不是本局下发的统计表（附件1–4）。请核对后重新放入。")]
    result = read_submission(path, Workspace.open(root), rounds=rounds)
    findings = list(result.findings)
    if not result.ok and not any(f.is_error for f in findings):
        findings.append(error(Reason.STATS_REJECTED, "统计表中没有可入库的数据行。请填写后重新报送。"))
    return _KINDS[which.no], result, findings


def accept(ws: Workspace, result: Submission, received_at: datetime, actor: str | None,
           extra: dict[str, Any] | None = None) -> AcceptResult:
    """Hand a read workbook to the stats desk, which files it and records its rows; raises when it refuses."""
    return stats_accept(ws, result, received_at=received_at, actor=actor, extra=extra)


def note_rejected(ws: Workspace, result: Submission, findings: Findings, received_at: datetime, name: str,
                  stored_as: str, actor: str | None, session: Session) -> None:
    """Tell the stats desk a workbook was sent back, so its unit shows 已退回 (not 未报送), with the reason."""
    stats_note_rejected(ws, result, list(findings), received_at=received_at, source_name=name, stored_as=stored_as,
                        actor=actor, session=session)
