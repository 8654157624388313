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


def count_rows(c: ReviewCounts) -> list[tuple[str, int]]:
    """The headline counts of the summary page and sheet."""
    return [
        ("检查次数", c.inspections),
        ("反馈卡已交回", c.received),
        ("反馈“是”的检查", c.with_yes),
        ("“是”题数", c.yes_answers),
        ("此前答“是”、后又改答的题数", c.withdrawn),
        ("反馈卡未交回（期限内）", c.missing),
        ("反馈卡逾期未交回", c.overdue),
        ("反馈卡逾期交回", c.late),
        ("反馈卡提前交回", c.early),
        ("反馈卡待人工核对", c.waiting),
        ("超次数检查（经批准）", c.over_cap_approved),
        ("超次数检查（未经批准）", c.over_cap_unapproved),
        ("可疑反馈卡", c.suspects),
        ("无可核验二维码的反馈卡", c.qr_missing),
        ("检查次数与台账不符", c.mismatches),
        # Shared-register lines, only where there is something to say (most bureaus never have them).
        *[(FLAG_ZH[f], n) for f, n in ((ReviewFlag.CROSS_COUNTY, c.cross_county),
                                        (ReviewFlag.SYNC_OVER_CAP, c.sync_over_cap)) if n],
        ("已作废的检查", c.voided),
        ("需关注的检查", c.flagged),
    ]
