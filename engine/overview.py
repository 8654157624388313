"""The year and the month at a glance (the web site's 首页): counts the review and the statistics desk already make.

``overview(ws, today)`` returns, for the calendar year and month of ``today``, how many inspections
started, how many cards came back, are overdue or wait for a person, how many inspections got a 是
(and how many 是 answers), how many visits over the annual cap were approved; and, per statistics
table, the state of its latest round (submitted / expected / sent back / missing).

Nothing is counted here by a rule of its own: the per-inspection facts are ``engine.review``'s,
read from the rows it stores (``engine.review.stored.stored_counts``: the same counts as
``counts_of(build_review(…))``, without building the year), the statistics ``engine.stats.aggregate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from .review import ReviewFlag
from .review.counts import ReviewCounts
from .review.stored import stored_counts
from .stats import aggregate, issued_periods
from .stats.tables import table
from .workspace import Workspace


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


def figures(c: ReviewCounts, label: str, date_from: date, date_to: date) -> Figures:
    return Figures(label, date_from, date_to, c.inspections, c.received, c.overdue, c.waiting, c.with_yes,
                   c.yes_answers, c.over_cap_approved)


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


def overview(ws: Workspace, today: date | None = None, *,
             counts: Callable[..., ReviewCounts] = stored_counts) -> Overview:
    """``counts``: how a period's review counts are had (``stored_counts``; a test passes the Python build's)."""
    today = today or date.today()
    year = (date(today.year, 1, 1), date(today.year, 12, 31))
    month = (today.replace(day=1), _month_end(today))
    return Overview(today, figures(counts(ws, *year, today=today), f"{today.year}年", *year),
                    figures(counts(ws, *month, today=today), f"{today.year}年{today.month}月", *month),
                    stats_rounds(ws))


# The review list's filter for each figure (``engine.review.select_entries``).
FIGURE_FLAGS: dict[str, ReviewFlag | None] = {
    "inspections": None, "cards_overdue": ReviewFlag.CARD_OVERDUE, "cards_waiting": ReviewFlag.CARD_UNREAD,
    "with_yes": ReviewFlag.VIOLATION, "over_cap_approved": ReviewFlag.OVER_CAP,
}
