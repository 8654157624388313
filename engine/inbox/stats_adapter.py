"""The inbox's only contact with ``engine.stats``: recognise a workbook, read it, accept it.

Kept in one small module so the inbox does not depend on the statistics code's internals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..findings import Finding, error
from .codes import Kind, Reason


def _stats():  # type: ignore[no-untyped-def]
    try:
        from .. import stats
    except ImportError:
        return None
    if not all(hasattr(stats, n) for n in ("recognise", "read_submission")):
        return None
    return stats


def read(path: Path, root: Path) -> tuple[Kind, Any, list[Finding]]:
    """(kind, what stats read, findings): errors mean the workbook is rejected."""
    stats = _stats()
    if stats is None:
        return Kind.UNKNOWN, None, [error(Reason.STATS_UNAVAILABLE, "本版本尚不能读取统计表，文件已原样退回，请稍后重新放入。")]
    from ..workspace import Workspace

    ws = Workspace.open(root)
    which = stats.recognise(path)
    no = _table_no(which)
    if no is None:
        return Kind.UNKNOWN, None, [error(Reason.UNKNOWN_WORKBOOK, "这个表格不是本局下发的统计表（附件1–4）。请核对后重新放入。")]
    result = stats.read_submission(path, ws)
    findings = list(_findings_of(result))
    if not getattr(result, "ok", False) and not any(f.is_error for f in findings):
        findings.append(error(Reason.STATS_REJECTED, "统计表中没有可入库的数据行。请填写后重新报送。"))
    return Kind(f"stats_table_{no}"), result, findings


def _table_no(which: Any) -> int | None:
    if which is None:
        return None
    for attr in ("no", "number", "table"):
        v = getattr(which, attr, None)
        if isinstance(v, int):
            return v
        if v is not None and hasattr(v, "no"):
            return int(v.no)
    if isinstance(which, int):
        return which
    return None


def _findings_of(result: Any) -> list[Finding]:
    fs = getattr(result, "findings", None)
    return list(fs) if fs is not None else []


def accept(ws: Any, result: Any, received_at: Any, actor: str | None, extra: dict[str, Any] | None = None) -> Any:
    """Hand a read workbook to the stats desk, which files it and records its rows.

    Returns ``AcceptResult`` (``.archival_code``, ``.rel_path``); raises when the desk refuses it.
    """
    stats = _stats()
    if stats is None or not hasattr(stats, "accept"):
        raise RuntimeError("统计模块不可用")
    return stats.accept(ws, result, received_at=received_at, actor=actor, extra=extra)


def note_rejected(ws: Any, result: Any, findings: Any, received_at: Any, name: str, stored_as: str,
                  actor: str | None, session: Any) -> None:
    """Tell the stats desk a workbook was sent back, so its unit shows 已退回 (not 未报送), with the reason."""
    stats = _stats()
    if stats is None or not hasattr(stats, "note_rejected") or result is None:
        return
    stats.note_rejected(ws, result, list(findings), received_at=received_at, source_name=name, stored_as=stored_as, actor=actor,
                        session=session)
