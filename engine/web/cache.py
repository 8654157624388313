"""The review as the site last built it, kept while nothing it depends on has changed.

``build_review`` over a year of 20,000 inspections takes seconds; a bureau's site shows the same
year to several people many times a day.  ``ReviewCache`` keeps the last few reviews keyed by their
selection (dates, county, "today") and by a fingerprint of the database: the audit log's last
entry, and the register's row count and highest id.  Every change the engine makes to what the
review reads (a visit recorded, a card received or confirmed, a visit voided, a file filed) adds
an audit entry or a register row, so the next request after it builds afresh.  A change made to the
database by hand, outside the engine, is seen only after the next entry (or a restart).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import date
from threading import Lock

from sqlalchemy import func, select

from ..archive.models import AuditRecord
from ..db import session
from ..register import Visit
from ..review import build_review
from ..review.collect import Review
from ..workspace import Workspace

Key = tuple[date | None, date | None, str | None, date]


class ReviewCache:
    def __init__(self, ws: Workspace, size: int = 12):
        self.ws, self.size = ws, size
        self._reviews: OrderedDict[tuple[Key, tuple[int, ...]], Review] = OrderedDict()
        self._lock = Lock()
        self.builds = 0  # how many times a review was really built (tests, benchmarks)

    def fingerprint(self) -> tuple[int, ...]:
        with session(self.ws) as s:
            seq = s.scalar(select(func.max(AuditRecord.seq))) or 0
            count, top = s.execute(select(func.count(Visit.id), func.max(Visit.id))).one()
        return int(seq), int(count or 0), int(top or 0)

    def peek(self, date_from: date | None, date_to: date | None, county: str | None, *, today: date) -> Review | None:
        """The review if it is built and still current, else None (nothing is built)."""
        key = ((date_from, date_to, county, today), self.fingerprint())
        with self._lock:
            return self._reviews.get(key)

    def review(self, date_from: date | None, date_to: date | None, county: str | None, *, today: date) -> Review:
        """``build_review(…, read_cards=False, documents=False)``, built again only when the database changed."""
        key = ((date_from, date_to, county, today), self.fingerprint())
        with self._lock:
            hit = self._reviews.get(key)
            if hit is not None:
                self._reviews.move_to_end(key)
                return hit
        r = build_review(self.ws, date_from, date_to, county, today=today, read_cards=False, documents=False)
        with self._lock:
            self.builds += 1
            self._reviews[key] = r
            while len(self._reviews) > self.size:
                self._reviews.popitem(last=False)
        return r

    def clear(self) -> None:
        """Forget every review (the benchmark times a first view)."""
        with self._lock:
            self._reviews.clear()

    def builder(self) -> Callable[..., Review]:
        """A ``build_review``-shaped function for library code that takes one (``engine.overview``)."""
        def build(ws: Workspace, date_from: date | None = None, date_to: date | None = None,
                  county: str | None = None, *, today: date | None = None, read_cards: bool = False) -> Review:
            return self.review(date_from, date_to, county, today=today or date.today())
        return build
