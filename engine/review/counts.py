"""The review's headline counts as one value: what the summary sheet, the 审查 page and the 首页 show.

``counts_of(review)`` takes them from a ``Review`` built in Python (``ruqi review``, the report);
``engine.review.stored.stored_counts`` takes the same value from the stored review rows with SQL.
``count_rows`` words them for a clerk.  Tests compare the two sources value for value.
"""

from __future__ import annotations

from dataclasses import dataclass

from .collect import Review
from .model import FLAG_ZH, CardState, ReviewFlag

RECEIVED_STATES = frozenset({CardState.RECEIVED, CardState.LATE, CardState.EARLY, CardState.NEEDS_REVIEW})


@dataclass(frozen=True, slots=True)
class ReviewCounts:
    inspections: int
    received: int  # cards back (in time or not, read or waiting)
    with_yes: int  # inspections with a 是 now or on an earlier card (voided ones included)
    yes_answers: int
    withdrawn: int  # 是 answers an earlier card had that a later one took back
    missing: int  # no card yet, within the deadline
    overdue: int
    late: int
    early: int
    waiting: int  # back, but the answers need a person (待核对)
    over_cap_approved: int
    over_cap_unapproved: int
    suspects: int  # suspect cards (of the selected inspections, or matching none and placed here)
    qr_missing: int
    mismatches: int
    cross_county: int
    sync_over_cap: int
    voided: int
    flagged: int
    notes: tuple[str, ...] = ()  # what the review could not check, in Chinese
    counties: tuple[str, ...] = ()  # the by-county tally's names, in its order
    inspectors: tuple[str, ...] = ()  # the by-inspector tally's names, sorted


def counts_of(r: Review) -> ReviewCounts:
    """The counts of a review built in Python: the reference the stored rows must agree with."""
    entries = r.entries
    return ReviewCounts(
        inspections=len(entries),
        received=sum(e.card in RECEIVED_STATES for e in entries),
        with_yes=len(r.violations),
        yes_answers=sum(len(v.questions) for v in r.violations),
        withdrawn=sum(len(v.withdrawn) for v in r.violations),
        missing=sum(c.state is CardState.MISSING for c in r.cards),
        overdue=sum(c.state is CardState.OVERDUE for c in r.cards),
        late=sum(ReviewFlag.CARD_LATE in e.flags for e in entries),
        early=sum(ReviewFlag.CARD_EARLY in e.flags for e in entries),
        waiting=sum(c.state is CardState.NEEDS_REVIEW for c in r.cards),
        over_cap_approved=sum(o.approved for o in r.over_cap),
        over_cap_unapproved=sum(not o.approved for o in r.over_cap),
        suspects=len(r.suspects),
        qr_missing=len(r.qr_missing),
        mismatches=len(r.mismatches),
        cross_county=sum(ReviewFlag.CROSS_COUNTY in e.flags for e in entries),
        sync_over_cap=sum(ReviewFlag.SYNC_OVER_CAP in e.flags for e in entries),
        voided=len(r.voided),
        flagged=len(r.flagged),
        notes=tuple(r.notes),
        counties=tuple(t.name for t in r.by_county),
        inspectors=tuple(sorted(t.name for t in r.by_inspector)),
    )


WITH_YES, YES_ANSWERS, WITHDRAWN = "反馈“是”的检查", "“是”题数", "此前答“是”、后又改答的题数"
# The rows a reviewer should look at when they are not zero (the 审查 page marks them).
ALERT_ROWS = frozenset({WITH_YES, YES_ANSWERS, WITHDRAWN, *(FLAG_ZH[f] for f in (
    ReviewFlag.CARD_OVERDUE, ReviewFlag.CARD_LATE, ReviewFlag.SUSPECT))})


def count_rows(c: ReviewCounts) -> list[tuple[str, int]]:
    """The headline counts of the summary page and sheet, each row worded as its flag is where there is one."""
    return [
        ("检查次数", c.inspections),
        ("反馈卡已交回", c.received),
        (WITH_YES, c.with_yes),
        (YES_ANSWERS, c.yes_answers),
        (WITHDRAWN, c.withdrawn),
        (f"{FLAG_ZH[ReviewFlag.CARD_MISSING]}（期限内）", c.missing),
        (FLAG_ZH[ReviewFlag.CARD_OVERDUE], c.overdue),
        (FLAG_ZH[ReviewFlag.CARD_LATE], c.late),
        (FLAG_ZH[ReviewFlag.CARD_EARLY], c.early),
        (FLAG_ZH[ReviewFlag.CARD_UNREAD], c.waiting),
        ("超次数检查（经批准）", c.over_cap_approved),
        ("超次数检查（未经批准）", c.over_cap_unapproved),
        (FLAG_ZH[ReviewFlag.SUSPECT], c.suspects),
        ("无可核验二维码的反馈卡", c.qr_missing),
        (FLAG_ZH[ReviewFlag.VISIT_MISMATCH], c.mismatches),
        # Shared-register lines, only where there is something to say (most bureaus never have them).
        *[(FLAG_ZH[f], n) for f, n in ((ReviewFlag.CROSS_COUNTY, c.cross_county),
                                        (ReviewFlag.SYNC_OVER_CAP, c.sync_over_cap)) if n],
        ("已作废的检查", c.voided),
        ("需关注的检查", c.flagged),
    ]
