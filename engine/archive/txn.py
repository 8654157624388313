"""Work tied to a database transaction's outcome: file moves and the audit head happen only
after the outermost commit, and are undone with the transaction they belong to — a rolled-back
SAVEPOINT (``begin_nested``) included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

_PENDING = "ruqi_on_commit"
_LISTENING = "ruqi_on_commit_listening"


def on_commit(s: Session, action: Callable[[], None], undo: Callable[[], None] | None = None, *,
              last: bool = False) -> None:
    """Run ``action`` after the outermost commit; run ``undo`` instead if the transaction that is
    current now (or one enclosing it) rolls back.  ``last``: run it after every other action, and
    tie it to the outermost transaction (work shared by many actions, e.g. one directory fsync)."""
    txn = s.get_transaction() if last else s.get_nested_transaction() or s.get_transaction()
    s.info.setdefault(_PENDING, []).append((txn, action, undo, last))
    if not s.info.get(_LISTENING):
        s.info[_LISTENING] = True
        event.listen(s, "after_commit", _run)
        event.listen(s, "after_soft_rollback", _drop)


def _run(s: Session) -> None:
    if s.get_nested_transaction() is not None:
        return  # a SAVEPOINT was released (SQLAlchemy fires after_commit for it too): not yet
    pending = s.info.pop(_PENDING, [])
    for _txn, action, _undo, last in pending:
        if not last:
            action()
    for _txn, action, _undo, last in pending:
        if last:
            action()


def _drop(s: Session, rolled_back: Any) -> None:
    keep = []
    for txn, action, undo, last in s.info.get(_PENDING, []):
        if _within(txn, rolled_back):
            if undo is not None:
                undo()
        else:
            keep.append((txn, action, undo, last))
    s.info[_PENDING] = keep


def _within(txn: Any, outer: Any) -> bool:
    while txn is not None:
        if txn is outer:
            return True
        txn = txn.parent
    return False
