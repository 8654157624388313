"""``ruqi watch``: keep ingesting as files arrive, by polling (works on SMB/NFS shares where
inotify does not see other machines' writes).

A file is handed to ``ingest`` only once its size and modification time have not changed for
``stable_seconds`` (``[limits] stable_seconds``): a copy in progress keeps changing, so a half
copied file is never read.  Each batch of stable files is one ``ingest`` run, so everything
``ingest`` guarantees (claims, crash recovery, exactly one place per file) holds here too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..workspace import Workspace
from .claim import PROCESSING, is_candidate
from .outcome import IngestReport, Outcome
from .pipeline import ingest

DEFAULT_INTERVAL_S = 2.0

Signature = tuple[int, int]  # (size, mtime_ns)


@dataclass(slots=True)
class StabilityTracker:
    """Remembers when each file's (size, mtime) last changed."""

    stable_seconds: float
    seen: dict[str, tuple[Signature, float]] = field(default_factory=dict)

    def observe(self, current: dict[str, Signature], now: float) -> list[str]:
        """Update with the current listing; return the names unchanged for ``stable_seconds``."""
        ready: list[str] = []
        for name, sig in current.items():
            prev = self.seen.get(name)
            if prev is None or prev[0] != sig:
                self.seen[name] = (sig, now)
            elif now - prev[1] >= self.stable_seconds:
                ready.append(name)
        for gone in set(self.seen) - set(current):
            del self.seen[gone]
        return sorted(ready)


def listing(ws: Workspace) -> dict[str, Signature]:
    out: dict[str, Signature] = {}
    for p in ws.inbox.iterdir():
        if p.name == PROCESSING or not is_candidate(p):
            continue
        try:
            st = p.stat()
        except FileNotFoundError:
            continue  # taken by another run between listing and stat
        out[p.name] = (st.st_size, st.st_mtime_ns)
    return out


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
    while max_cycles is None or cycle < max_cycles:
        cycle += 1
        if each_cycle is not None:
            each_cycle()
        ready = tracker.observe(listing(ws), clock())
        if ready or first:
            report = ingest(ws, names=ready, workers=workers, actor=actor, on_outcome=on_outcome)
            first = False
            if report.outcomes:
                handled += len(report.outcomes)
                for name in ready:
                    tracker.seen.pop(name, None)
                if on_report is not None:
                    on_report(report)
        if max_cycles is None or cycle < max_cycles:
            sleep(interval)
    return handled
