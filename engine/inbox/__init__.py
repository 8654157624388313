"""The inbox: read returned feedback cards and statistics tables, check them, file them, never lose one.

Public API::

    ingest(ws, names=None, workers=None, actor=None, now=None, progress=None, on_outcome=None,
           stable_seconds=None) -> IngestReport
    watch(ws, interval=2.0, on_report=None, on_outcome=None, max_cycles=None) -> int
    pending_cards(ws, today=None, overdue_only=False) -> [PendingCard]
    check_card(reading, visit, received_at, late_days) -> CardCheck
    preflight(path, name, limits) -> Preflight
    refresh_visit(session, visit)          # recompute a visit's card_* columns from the archive

``IngestReport.outcomes`` holds one ``Outcome`` per file (``to_json()`` is the
``ruqi ingest --json`` line); ``IngestReport.stopped`` says why a run stopped early (full disk,
read-only archive), never an exception.  Modules, in the order a file meets them: ``survey``
(folders, links, unreadable and still-copying files stay in the inbox, status ``skipped``),
``claim`` (atomic claims, crash recovery), ``pool`` + ``examine`` + ``preflight`` (isolated
reading, limits, names), ``validate`` (card rules and flags), ``finish`` + ``cards`` + ``shelve``
(filing, the register, rejected/; the per-file guard), ``storage`` (full disk,
read-only archive), ``pipeline`` (the loop; where each status ends up), ``status``, ``watch``.
"""

from __future__ import annotations

from .cards import refresh_visit
from .codes import Flag, Kind, Reason, Status
from .outcome import IngestReport, Outcome
from .pipeline import ingest
from .preflight import Preflight, preflight
from .status import PendingCard, pending_cards
from .validate import CardCheck, CardCode, check_card, plausible_phone
from .watch import watch

__all__ = [
    "CardCheck", "CardCode", "Flag", "IngestReport", "Kind", "Outcome", "PendingCard", "Preflight", "Reason",
    "Status", "check_card", "ingest", "pending_cards", "plausible_phone", "preflight", "refresh_visit", "watch",
]
