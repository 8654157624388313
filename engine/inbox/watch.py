"""``ruqi watch``: keep ingesting as files arrive, by polling (works on SMB/NFS shares where
inotify does not see other machines' writes).

A file is handed to ``ingest`` only once its size and modification time have not changed for
``stable_seconds`` (``[limits] stable_seconds``): a copy in progress keeps changing, so a half
copied file is never read.  Each batch of stable files is one ``ingest`` run, so everything
``ingest`` guarantees (claims, crash recovery, exactly one place per file) holds here too.

What ``ingest`` leaves in the inbox (a folder, a link, a file it may not read: status
``skipped``) is reported once and then *parked*: it is handed over again only when it changes
(new permissions, new contents).  A run stopped by a full disk or an unwritable archive is
reported, and the next attempt waits ``STOP_BACKOFF_S``; watch itself keeps running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..workspace import Workspace
from .codes import Status
from .outcome import IngestReport, Outcome
from .pipeline import ingest
from .preflight import display_name
from .survey import Signature, entries, signature

DEFAULT_INTERVAL_S = 2.0
STOP_BACKOFF_S = 60.0


@dataclass(slots=True)
class StabilityTracker:
    """Remembers when each entry's signature last changed, and which entries are parked."""

    stable_seconds: float
    seen: dict[str, tuple[Signature, float]] = field(default_factory=dict)
    parked: dict[str, Signature] = field(default_factory=dict)

    def observe(self, current: dict[str, Signature], now: float) -> list[str]:
        """Update with the current listing; return the names unchanged for ``stable_seconds``."""
        ready: list[str] = []
        for name, sig in current.items():
            if self.parked.get(name) == sig:
                continue
            self.parked.pop(name, None)
            prev = self.seen.get(name)
            if prev is None or prev[0] != sig:
                self.seen[name] = (sig, now)
            elif now - prev[1] >= self.stable_seconds:
                ready.append(name)
        for gone in set(self.seen) - set(current):
            del self.seen[gone]
        for gone in set(self.parked) - set(current):
            del self.parked[gone]
        return sorted(ready)

    def handed_over(self, names: list[str], report: IngestReport) -> None:
        """Forget what ingest took; park what it left in the inbox, as it is now."""
        left = {o.file for o in report.outcomes if o.status is Status.SKIPPED}
        for name in names:
            entry = self.seen.pop(name, None)
            if entry is not None and display_name(name) in left:
                self.parked[name] = entry[0]


def listing(ws: Workspace) -> dict[str, Signature]:
    return {name: signature(st) for name, st in entries(ws.inbox).items()}


def watch(
    ws: Workspace,
    *,
    interval: float = DEFAULT_INTERVAL_S,
    on_report: Callable[[IngestReport], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    max_cycles: int | None = None,
    workers: int | None = None,
    actor: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    each_cycle: Callable[[], None] | None = None,
) -> int:
    """Poll until interrupted (or ``max_cycles`` polls); returns the number of files handled.

    A run left unfinished by a crash is adopted on the first cycle (``ingest`` with no new names
    still adopts orphans).  ``each_cycle`` runs first in every cycle (``ruqi watch --mail`` fetches
    mail there: it files what it fetched itself).
    """
    tracker = StabilityTracker(ws.config.limits.stable_seconds)
    handled = 0
    cycle = 0
    first = True
    resume_at = 0.0
    while max_cycles is None or cycle < max_cycles:
        cycle += 1
        if each_cycle is not None:
            each_cycle()
        ready = tracker.observe(listing(ws), clock())
        if (ready or first) and clock() >= resume_at:
            # The tracker has watched these settle: ingest need not wait for them again.
            report = ingest(ws, names=ready, workers=workers, actor=actor, on_outcome=on_outcome, stable_seconds=0)
            first = False
            if report.stopped is not None:
                resume_at = clock() + STOP_BACKOFF_S
            if report.outcomes or report.stopped is not None:
                handled += sum(o.status is not Status.SKIPPED for o in report.outcomes)
                tracker.handed_over(ready, report)
                if on_report is not None:
                    on_report(report)
        if max_cycles is None or cycle < max_cycles:
            sleep(interval)
    return handled
