"""The ingest loop: every file in ``inbox/`` ends in exactly one place, with one typed outcome.

Per file, in this order (paperless-ngx's consumer, in small steps):

0. **survey** (``engine.inbox.survey``): folders, links, FIFOs, unreadable files and files still
   being written are left in ``inbox/`` with their reason (``skipped``); young files are waited for;
1. **claim**: rename the file into this run's ``.processing/`` directory (``engine.inbox.claim``);
   files a dead run left there are adopted first;
2. **hash + duplicate check**: SHA-256; bytes already in the archive are ``duplicate`` (or, for a
   file a killed run had already filed, ``filed`` again without filing twice);
3. **examine** in a process pool, no database: preflight, then the reader for the content
   (``engine.inbox.pool``, ``engine.inbox.examine``);
4. **route**, once: ``engine.inbox.handlers.handler_for`` picks the handler of this kind of return
   (form card, scanned card, workbook); none takes a file examine rejected;
5. **file or shelve** in batched transactions (``engine.inbox.finish``): the handler validates
   (``engine.inbox.validate``) and files the archive item and the register's card columns
   together; the claimed copy is deleted only after the commit.  A scan holding several cards
   files its original once and each card on its own, one outcome per card (``engine.inbox.stack``).

Where each status lives:

- ``filed``: the archive (form type ``card_returned``; ``other`` when the serial matches no
  inspection; ``stats_table`` for a statistics workbook) and, for a known serial, the register's
  ``card_*`` columns;
- ``needs_review``: in the archive with flag ``NEEDS_REVIEW`` (answers unclear: a question the reader of a
  scan or photo could not decide, a reading below the review confidence, or 是 and 否 both ticked);
- ``rejected``: ``inbox/rejected/``, byte-identical, with ``<name>.reason.txt``/``.reason.json``;
- ``duplicate``: the bytes are already archived (or in the ``needs_review/`` an earlier release
  kept photos in); the copy is
  deleted and its receipt written to the audit log;
- ``skipped``: still in ``inbox/``, untouched (nothing claimed, or the claim put back).

A full disk or an unwritable archive ends the run early (``IngestReport.stopped``): the batch
not yet committed rolls back and every unfinished claim goes back into ``inbox/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select

from ..archive.models import ItemRecord
from ..archive.repair import repair_once
from ..db import session
from ..forms import GENERATED_FORMS
from ..provenance import sources_for
from ..workspace import Workspace
from . import stats_adapter
from .claim import Claimed, Item, Run
from .codes import Reason, Status
from .finish import Batch, Known, Seen, known_from_row
from .handlers import handler_for
from .outcome import IngestReport, Outcome
from .pool import Job, examine_all
from .shelve import NEEDS_REVIEW_DIR, held_index, sha256_of
from .storage import trouble
from .survey import VANISHED_MESSAGE, left_outcome, no_permission, still_writing, survey

Progress = Callable[[int, int], None]


def ingest(
    ws: Workspace,
    *,
    names: Sequence[str] | None = None,
    workers: int | None = None,
    actor: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    stable_seconds: float | None = None,
) -> IngestReport:
    """Handle every file in the inbox (or only ``names``) once; see the module docstring.

    ``progress(done, total)`` is called as files are examined; ``on_outcome(outcome)`` once a
    file's result is final (committed, or left in the inbox).  ``stable_seconds`` (default
    ``[limits] stable_seconds``): how long a file must have been unchanged (``watch`` passes 0
    for the files it has already watched settle).  A full disk or an unwritable archive stops
    the run with ``IngestReport.stopped`` set instead of raising.
    """
    report = IngestReport("")
    try:
        _archive_ready(ws)
        with Run(ws.inbox) as run:
            report.run = run.id
            _run(ws, run, report, names, workers, actor, now, progress, on_outcome,
                 ws.config.limits.stable_seconds if stable_seconds is None else stable_seconds)
    except Exception as e:
        t = trouble(e, ws)
        if t is None:
            raise
        report.stopped = t.finding(0)  # before anything was claimed: nothing to put back
    return report


def _run(ws: Workspace, run: Run, report: IngestReport, names: Sequence[str] | None, workers: int | None,
         actor: str | None, now: datetime | None, progress: Progress | None,
         on_outcome: Callable[[Outcome], None] | None, stable_seconds: float) -> None:
    def left(out: Outcome) -> None:  # final at once: nothing to commit
        report.outcomes.append(out)
        if on_outcome is not None:
            on_outcome(out)

    look = survey(ws.inbox, set(names) if names is not None else None, stable_seconds)
    for out in look.left:
        left(out)
    claims = run.adopt_orphans()
    vanished = list(look.vanished)
    for p in look.ready:
        c = run.claim(p)
        if c is None:
            vanished.append(p.name)
        else:
            claims.append(c)
    # A file another live run took is reported by that run; otherwise the clerk hears of it.
    if vanished and not run.others_at_work():
        for name in vanished:
            left(left_outcome(name, Reason.VANISHED, VANISHED_MESSAGE))
    items: list[Item] = []
    for c in claims:
        it = _prepare(run, c, now)
        if isinstance(it, Outcome):
            left(it)
        else:
            items.append(it)
    batch: Batch | None = None
    try:
        arrived_by_mail(ws, items)
        batch = Batch(ws, run, actor, on_outcome)
        with batch:
            _finish_all(ws, batch, report, items, workers, run, progress, left)
    except Exception as e:
        # Whatever stopped the run, what it had not finished goes back where the clerk sees it
        # (its database work was rolled back with the batch).
        unfinished = [it for it in items if it.claim.path.exists()]
        for it in unfinished:
            run.put_back(it.claim)
        t = trouble(e, ws)
        if t is None:
            raise
        taken = {id(o) for o in batch.rolled_back} if batch is not None else set()
        report.outcomes = [o for o in report.outcomes if id(o) not in taken]
        report.stopped = t.finding(len(unfinished))


def _finish_all(ws: Workspace, batch: Batch, report: IngestReport, items: list[Item], workers: int | None,
                run: Run, progress: Progress | None, left: Callable[[Outcome], None]) -> None:
    total = len(items)

    def add(out: Outcome) -> None:
        # A file left in the inbox is final at once; the others once their transaction commits.
        if out.status is Status.SKIPPED:
            left(out)
        else:  # a multi-card scan reports one outcome per card
            report.outcomes.extend(batch.done(o) for o in out.each())
        if progress is not None:
            progress(len(report.outcomes), total)

    todo: dict[str, Item] = {}
    for it, known in zip(items, known_bytes(ws, items), strict=True):
        if known is None:
            todo[str(it.claim.path)] = it
        else:
            add(batch.handle(it, lambda it=it, k=known: batch.known(it, k)))
    jobs = [Job(it.claim.path, it.claim.name) for it in todo.values()]
    rounds = stats_adapter.issued_periods(ws, batch.s) if jobs else {}
    # Commit whenever the workers are behind: the write lock is never held while waiting.
    for job, ex in examine_all(jobs, ws.root, ws.key, ws.config.limits, workers=workers, lock_fd=run.lock_fd,
                               on_wait=batch.commit, rounds=rounds):
        it = todo[str(job.path)]
        h = handler_for(ex)  # decided once, here
        add(batch.handle(it, lambda it=it, ex=ex, h=h: batch.finish(it, ex, h), savepoint=h is None or h.savepoint))
        batch.maybe_commit()


def _prepare(run: Run, c: Claimed, now: datetime | None) -> Item | Outcome:
    """Hash the claimed file; a file that changed meanwhile, or that cannot be read, goes back."""
    try:
        st = c.path.stat()
        sha = sha256_of(c.path)
        after = c.path.stat()
    except FileNotFoundError:
        return left_outcome(c.name, Reason.VANISHED, VANISHED_MESSAGE)
    except PermissionError:
        st = c.path.lstat()  # needs no read permission
        run.put_back(c)
        return left_outcome(c.name, Reason.NO_PERMISSION, no_permission(st))
    if (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns):
        run.put_back(c)
        return left_outcome(c.name, Reason.STILL_WRITING, still_writing("计算校验值期间文件发生了变化"))
    # The file's own time is the best evidence of arrival (it survives a clerk dropping a day's
    # mail in the evening); a clock in the future is capped at now.
    received = min(datetime.fromtimestamp(st.st_mtime), now or datetime.now())
    return Item(c, sha, st.st_size, received, st.st_mtime_ns)


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
    repair_once(ws)


def known_bytes(ws: Workspace, items: list[Item]) -> list[Known | None]:
    """For each item, what the archive (or needs_review/) already holds with the same SHA-256."""
    if not items:
        return []
    shas = sorted({it.sha256 for it in items})
    found: dict[str, Known] = {}
    with session(ws) as s:
        for k in range(0, len(shas), 500):
            for r in s.scalars(select(ItemRecord).where(ItemRecord.sha256.in_(shas[k:k + 500])).order_by(ItemRecord.id)):
                prev = found.get(r.sha256)
                # A returned copy wins over a generated one: that is what the clerk dropped before.
                if prev is None or (prev.form_type in GENERATED_FORMS and r.form_type not in GENERATED_FORMS):
                    found[r.sha256] = known_from_row(r)
    for sha, p in held_index(ws.inbox / NEEDS_REVIEW_DIR).items():
        found.setdefault(sha, Known(Seen.HELD, location=str(p.relative_to(ws.root))))
    return [found.get(it.sha256) for it in items]
