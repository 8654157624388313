"""Repair after a crash: finish filings that committed but were not moved into place, delete
temporary files whose filing never committed (see ``store`` for the order of work).

``accept_audit_log`` is the one way to make verify stop reporting a log shorter than its head
witnesses (a database restored from a backup): a person states why, and the log records it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import session_or_new
from ..register import current_actor
from ..workspace import Workspace
from . import audit
from .files import finalize, owner_alive, temp_files
from .models import ItemRecord
from .numbering import write_lock


@dataclass(slots=True)
class RepairReport:
    completed: list[str] = field(default_factory=list)  # rel paths whose rename was finished
    removed: list[str] = field(default_factory=list)  # orphan temporary files deleted
    in_flight: list[str] = field(default_factory=list)  # temp files of a live process, left alone

    @property
    def changed(self) -> bool:
        return bool(self.completed or self.removed)


def repair(ws: Workspace, *, actor: str | None = None, session: Session | None = None) -> RepairReport:
    """Finish or undo the filings a crash interrupted; logged as one "repair" audit entry."""
    rep = RepairReport()
    temps = list(temp_files(ws.archive))
    if not temps:
        return rep
    with session_or_new(ws, session) as s:
        write_lock(s)
        for tmp in temps:
            rel_tmp = tmp.relative_to(ws.archive).as_posix()
            try:
                if owner_alive(tmp):
                    rep.in_flight.append(rel_tmp)
                    continue
                target = _waiting_row(s, ws, tmp)
            except FileNotFoundError:
                continue  # its filer moved it into place after we listed it
            if target is not None:
                finalize(tmp, ws.archive / target)
                rep.completed.append(target)
            else:
                tmp.unlink(missing_ok=True)
                rep.removed.append(rel_tmp)
        if rep.changed:
            audit.append(s, ws, audit.Action.REPAIR, "archive", current_actor(actor),
                         {"completed": rep.completed, "removed": rep.removed})
    return rep


_REPAIRED: set[str] = set()


def repair_once(ws: Workspace, session: Session | None = None) -> None:
    """Repair on the first filing of a process.  Inside the caller's transaction when there is
    one: a second SQLite transaction would wait for the lock the caller already holds."""
    key = str(ws.archive)
    if key not in _REPAIRED:
        _REPAIRED.add(key)
        repair(ws, session=session)


def _waiting_row(s: Session, ws: Workspace, tmp: Path) -> str | None:
    """The committed row in tmp's folder whose file is missing and whose bytes tmp holds."""
    folder = tmp.parent.relative_to(ws.archive).as_posix()
    size = tmp.stat().st_size
    rows = s.execute(select(ItemRecord.rel_path, ItemRecord.sha256).where(
        ItemRecord.rel_path.startswith(folder + "/", autoescape=True), ItemRecord.size == size)).all()
    candidates = [r for r in rows if PurePosixPath(r.rel_path).parent.as_posix() == folder
                  and not (ws.archive / r.rel_path).exists()]
    if not candidates:
        return None
    sha = hashlib.sha256(tmp.read_bytes()).hexdigest()
    return next((r.rel_path for r in candidates if r.sha256 == sha), None)


def accept_audit_log(ws: Workspace, reason: str, *, actor: str | None = None) -> audit.Entry:
    """Record that a person accepts the audit log as it stands, with the head witnesses it
    contradicted, and point both witnesses at that record."""
    state, head, size = audit.head_file(ws)
    with session_or_new(ws, None) as s:
        write_lock(s)
        in_db = audit.db_head(s)
        rec = audit.append(s, ws, audit.Action.REPAIR, "audit-log", current_actor(actor), {
            "accept_audit_log": reason,
            "head_file": {"state": str(state), "seq": head.seq if head else None,
                          "hash": head.hash if head else None, "size": size},
            "head_db": {"seq": in_db.seq, "hash": in_db.hash} if in_db else None,
        }, reset_heads=True)
        return audit.to_entry(rec)
