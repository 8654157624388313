"""The year and the month at a glance (the web site's 首页): counts the review and the statistics desk already make.

``overview(ws, today)`` returns, for the calendar year and month of ``today``, how many inspections
started, how many cards came back, are overdue or wait for a person, how many inspections got a 是
(and how many 是 answers), how many visits over the annual cap were approved; and, per statistics
table, the state of its latest round (submitted / expected / sent back / missing).

Nothing is counted here by a rule of its own: the per-inspection facts are ``engine.review``'s
entries (``build_review`` without opening card files), the statistics ``engine.stats.aggregate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .review import CardState, ReviewFlag, build_review
from .review.collect import Review
from .stats import aggregate, issued_periods
from .stats.tables import table
from .workspace import Workspace

RECEIVED_STATES = frozenset({CardState.RECEIVED, CardState.LATE, CardState.EARLY, CardState.NEEDS_REVIEW})


@dataclass(frozen=True, slots=True)
class Figures:
    """One period's counts; ``date_from``/``date_to`` select the same inspections on the review list."""

    label: str  # 2025年 / 2025年6月
    date_from: date
    date_to: date
    inspections: int
    cards_returned: int
    cards_overdue: int
    cards_waiting: int  # back, but the answers need a person (待核对)
    with_yes: int  # inspections whose card answered 是 (voided ones included: voiding hides no 是)
    yes_answers: int
    over_cap_approved: int


@dataclass(frozen=True, slots=True)
class StatsRound:
    table_no: int
    title: str
    period: str
    expected: int
    submitted: int
    returned: int
    missing: int
    late: int


@dataclass(frozen=True, slots=True)
class Overview:
    today: date
    year: Figures
    month: Figures
    stats: list[StatsRound]


def figures(review: Review, label: str) -> Figures:
    entries = review.entries
    assert review.date_from is not None and review.date_to is not None
    return Figures(
        label, review.date_from, review.date_to, len(entries),
        sum(e.card in RECEIVED_STATES for e in entries),
        sum(e.card is CardState.OVERDUE for e in entries),
        sum(e.card is CardState.NEEDS_REVIEW for e in entries),
        len(review.violations), sum(len(v.questions) for v in review.violations),
        sum(o.approved for o in review.over_cap),
    )


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return date.fromordinal(nxt.toordinal() - 1)


def stats_rounds(ws: Workspace) -> list[StatsRound]:
    """The latest issued round of each statistics table, as the aggregate sees it."""
    out = []
    for no, period in sorted(issued_periods(ws).items()):
        agg = aggregate(ws, no, period)
        out.append(StatsRound(no, table(no).title_for(period), str(period), agg.expected_count, len(agg.submitted),
                              len(agg.returned), len(agg.missing), len(agg.late)))
    return out


def overview(ws: Workspace, today: date | None = None, *, build: Callable[..., Review] = build_review) -> Overview:
    """``build``: how a review is made (the site passes its cache of ``build_review``)."""
    today = today or date.today()
    jan1, dec31 = date(today.year, 1, 1), date(today.year, 12, 31)
    year = build(ws, jan1, dec31, today=today, read_cards=False)
    month = build(ws, today.replace(day=1), _month_end(today), today=today, read_cards=False)
    return Overview(today, figures(year, f"{today.year}年"), figures(month, f"{today.year}年{today.month}月"),
                    stats_rounds(ws))


# The review list's filter for each figure (``engine.review.select_entries``).
FIGURE_FLAGS: dict[str, ReviewFlag | None] = {
    "inspections": None, "cards_overdue": ReviewFlag.CARD_OVERDUE, "cards_waiting": ReviewFlag.CARD_UNREAD,
    "with_yes": ReviewFlag.VIOLATION, "over_cap_approved": ReviewFlag.OVER_CAP,
}
