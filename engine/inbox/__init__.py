"""The inbox: read returned feedback cards and statistics tables, check them, file them, never lose one.

Public API::

    ingest(ws, names=None, workers=None, actor=None, now=None, progress=None, on_outcome=None,
           stable_seconds=None) -> IngestReport
    watch(ws, interval=2.0, on_report=None, on_outcome=None, max_cycles=None) -> int
    pending_cards(ws, today=None, overdue_only=False) -> [PendingCard]
    check_card(reading, visit, received_at, late_days) -> CardCheck
    preflight(path, name, limits) -> Preflight
    refresh_visit(session, visit)          # recompute a visit's card_* columns from the archive

``IngestReport.outcomes`` holds one ``Outcome`` per file, per card for a multi-card scan (``to_json()`` is the
``ruqi ingest --json`` line); ``IngestReport.stopped`` says why a run stopped early (full disk,
read-only archive), never an exception.  Modules, in the order a file meets them: ``survey``
(folders, links, unreadable and still-copying files stay in the inbox, status ``skipped``),
``claim`` (atomic claims, crash recovery), ``pool`` + ``examine`` + ``preflight`` (isolated
reading, limits, names), ``validate`` (card rules and flags), ``finish`` + ``cards`` + ``shelve``
(filing, the register, rejected/; the per-file guard), ``stack`` (a scan holding several cards:
the original once, one outcome per card), ``storage`` (full disk,
read-only archive), ``pipeline`` (the loop; where each status ends up), ``status``, ``watch``.
"""

from __future__ import annotations

from ..lazy import lazy_package

# Public name → the submodule it comes from, imported on first use (see engine/lazy.py).
__all__ = lazy_package(__name__, {
    "refresh_visit": "cards",
    "Flag": "codes", "Kind": "codes", "Reason": "codes", "Status": "codes",
    "IngestReport": "outcome", "Outcome": "outcome",
    "ingest": "pipeline",
    "Preflight": "preflight", "preflight": "preflight",
    "PendingCard": "status", "pending_cards": "status",
    "CardCheck": "validate", "CardCode": "validate", "check_card": "validate", "plausible_phone": "validate",
    "watch": "watch",
})

