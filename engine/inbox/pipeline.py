"""The ingest loop: every file in ``inbox/`` ends in exactly one place, with one typed outcome.

Per file, in this order (paperless-ngx's consumer, in small steps):

1. **claim**: rename the file into this run's ``.processing/`` directory (``engine.inbox.claim``);
   files a dead run left there are adopted first;
2. **hash + duplicate check**: SHA-256; bytes already in the archive are ``duplicate`` (or, for a
   file a killed run had already filed, ``filed`` again without filing twice);
3. **examine** in a process pool, no database: preflight, classify, read (``engine.inbox.pool``,
   ``engine.inbox.examine``);
4. **validate** against the register (``engine.inbox.validate``);
5. **file or shelve** in batched transactions (``engine.inbox.finish``): the archive item and
   the register's card columns together; the claimed copy is deleted only after the commit.

Where each status lives:

- ``filed``: the archive (form type ``card_returned``; ``other`` when the serial matches no
  inspection; ``stats_table`` for a statistics workbook) and, for a known serial, the register's
  ``card_*`` columns;
- ``needs_review``: in the archive with flag ``NEEDS_REVIEW`` when the archive accepts the format
  (PDF, docx); a JPG/PNG/TIFF photo, which the archive does not take, waits in
  ``inbox/needs_review/`` with ``<name>.reason.txt``/``.reason.json``;
- ``rejected``: ``inbox/rejected/``, byte-identical, with ``<name>.reason.txt``/``.reason.json``;
- ``duplicate``: the bytes are already archived (or waiting in ``needs_review/``); the copy is
  deleted and its receipt written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select

from ..db import session
from ..provenance import sources_for
from ..workspace import Workspace
from .claim import Claimed, Run
from .finish import Batch, Item, Known, known_from_row
from .outcome import IngestReport, Outcome
from .pool import Job, examine_all
from .shelve import NEEDS_REVIEW_DIR, held_index, sha256_of

Progress = Callable[[int, int], None]
GENERATED_TYPES = ("card_generated", "notice", "notice_board")


def ingest(
    ws: Workspace,
    *,
    names: Sequence[str] | None = None,
    workers: int | None = None,
    actor: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> IngestReport:
    """Handle every file in the inbox (or only ``names``) once; see the module docstring.

    ``progress(done, total)`` is called as files are examined; ``on_outcome(outcome)`` once a
    file's result is committed (so what it reports is final).
    """
    _archive_ready(ws)
    with Run(ws.inbox) as run:
        report = IngestReport(run.id)
        claims = run.adopt_orphans() + run.claim_inbox(set(names) if names is not None else None)
        items = [_prepare(c, now) for c in claims]
        arrived_by_mail(ws, items)
        total = len(items)
        with Batch(ws, run, actor, on_outcome) as batch:
            todo: dict[str, Item] = {}
            for it, known in zip(items, known_bytes(ws, items), strict=True):
                if known is None:
                    todo[str(it.claim.path)] = it
                    continue
                _add(report, batch.done(batch.known(it, known)), progress, total)
            jobs = [Job(it.claim.path, it.name) for it in todo.values()]
            # Commit whenever the workers are behind: the write lock is never held while waiting.
            for job, ex in examine_all(jobs, ws.root, ws.key, ws.config.limits, workers=workers, lock_fd=run.lock_fd,
                                       on_wait=batch.commit):
                _add(report, batch.done(batch.finish(todo[str(job.path)], ex)), progress, total)
                batch.maybe_commit()
    return report


def _add(report: IngestReport, out: Outcome, progress: Progress | None, total: int) -> None:
    report.outcomes.append(out)
    if progress is not None:
        progress(len(report.outcomes), total)


def _prepare(c: Claimed, now: datetime | None) -> Item:
    st = c.path.stat()
    # The file's own time is the best evidence of arrival (it survives a clerk dropping a day's
    # mail in the evening); a clock in the future is capped at now.
    received = min(datetime.fromtimestamp(st.st_mtime), now or datetime.now())
    return Item(c, sha256_of(c.path), st.st_size, received)


def arrived_by_mail(ws: Workspace, items: list[Item]) -> None:
    """Files fetched by ``engine.mail``: the server's received time counts (3-day rule), and the
    provenance goes with the item into the archive."""
    if not items:
        return
    with session(ws) as s:
        found = sources_for(s, (it.sha256 for it in items))
    for it in items:
        src = found.get(it.sha256)
        if src is not None:
            it.received_at = src.received_at
            it.source = src.to_json()


def _archive_ready(ws: Workspace) -> None:
    # The archive repairs interrupted filings on its first use in a process; do it before our
    # own transactions start.
    from ..archive.repair import repair_once

    repair_once(ws)


def known_bytes(ws: Workspace, items: list[Item]) -> list[Known | None]:
    """For each item, what the archive (or needs_review/) already holds with the same SHA-256."""
    from ..archive.models import ItemRecord

    if not items:
        return []
    shas = sorted({it.sha256 for it in items})
    found: dict[str, Known] = {}
    with session(ws) as s:
        for k in range(0, len(shas), 500):
            for r in s.scalars(select(ItemRecord).where(ItemRecord.sha256.in_(shas[k:k + 500])).order_by(ItemRecord.id)):
                prev = found.get(r.sha256)
                # A returned copy wins over a generated one: that is what the clerk dropped before.
                if prev is None or (prev.form_type in GENERATED_TYPES and r.form_type not in GENERATED_TYPES):
                    found[r.sha256] = known_from_row(r)
    for sha, p in held_index(ws.inbox / NEEDS_REVIEW_DIR).items():
        found.setdefault(sha, Known("held", location=str(p.relative_to(ws.root))))
    return [found.get(it.sha256) for it in items]
