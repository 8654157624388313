"""Each inspection's review result, stored and kept current, so the 首页 and the 审查 counts and
filters are SQL over a table instead of the whole year's review built in Python.

``review_rows`` holds one row per visit (live or voided): what ``build_review`` decided about it —
its card state, every flag (a bit per ``ReviewFlag``), its 是 answers, taken-back answers, suspect and
QR-less cards, whether its stated visit numbers could be checked — and what selects it (start date,
county, when voided); ``review_people`` its 组长 and 成员.  Nothing is decided here: ``rows_of``
copies what a ``Review`` says, so the CLI and the site cannot disagree.

Kept current incrementally (migration 12):

- **What changed.** Database triggers on every table the review reads (``visits``,
  ``outside_visits``, ``archive_items``, ``card_readings``, ``card_ties``; see
  ``engine.db.migrations.REVIEW_DIRTY_SOURCES``) write the touched serial, enterprise-year or
  archive item into ``review_dirty``, whichever code path (or person with a SQL shell) wrote.
  ``refresh`` turns those into serials — a visit's whole enterprise-year (its visit numbers by
  date and its caps span the year), an archived item's inspection (``sources.item_serials``) —
  and rebuilds exactly those rows with ``build_review(serials=…)``.
- **Today.** The rules read today only to tell a missing card from an overdue one: an inspection's
  result changes with the day only when the day passes its last day or its due day.  The rows are
  decided for one day (``review_meta.as_of``); asked for another, ``refresh`` rebuilds the rows
  whose last or due day lies between the two (a few dozen a day) before answering.
- **The rules themselves.** ``review_meta.rules`` is a fingerprint of the rule modules' source and
  the workspace's ``late_days``: a new release or another deadline rebuilds every row once.
- **Races.** ``review_meta.generation`` counts the refreshes; a refresh writes only if no other
  one wrote since it read what was dirty (else it starts again), and removes only the dirty marks
  it read, so a change made while it computed is picked up by the next one.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, String, case, delete, func, insert, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .. import caps, card_state, readings, register
from ..db import Base, in_lists, session
from ..db.migrations import expected_review_triggers, install_review_triggers, review_triggers
from ..inbox.codes import Flag
from ..register import Visit
from ..workspace import Workspace
from . import collect, model, sources
from .collect import (
    Review,
    build_review,
    in_county,
    in_period,
    loose_card_selected,
    unread_numbers_note,
    voided_in_period,
    voided_yes_note,
)
from .counts import RECEIVED_STATES, ReviewCounts
from .model import CardState, Entry, ReviewFlag

FLAG_BITS: dict[ReviewFlag, int] = {f: 1 << i for i, f in enumerate(ReviewFlag)}
FULL_AT = 1000  # more inspections than this to redo: one build of everything is cheaper than the pieces
_RETRIES = 3


class ReviewRow(Base):
    __tablename__ = "review_rows"

    serial: Mapped[str] = mapped_column(String(32), primary_key=True)
    start: Mapped[date] = mapped_column(Date, index=True)
    end: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    county: Mapped[str] = mapped_column(String(50))
    county_code: Mapped[str] = mapped_column(String(6))
    voided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    card_state: Mapped[str] = mapped_column(String(20))
    flags: Mapped[int] = mapped_column(Integer)
    yes_questions: Mapped[str] = mapped_column(String(30))  # "2,7"
    yes_answers: Mapped[int] = mapped_column(Integer)
    withdrawn: Mapped[int] = mapped_column(Integer)
    suspect_cards: Mapped[int] = mapped_column(Integer)
    qr_cards: Mapped[int] = mapped_column(Integer)
    over_cap_approved: Mapped[bool] = mapped_column(Boolean)
    numbers_unread: Mapped[bool] = mapped_column(Boolean)


class ReviewPerson(Base):
    __tablename__ = "review_people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    leader: Mapped[bool] = mapped_column(Boolean)


class ReviewDirty(Base):
    """Written by the database's triggers only (``engine.db.migrations.install_review_triggers``)."""

    __tablename__ = "review_dirty"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str | None] = mapped_column(String(32), nullable=True)
    uscc: Mapped[str | None] = mapped_column(String(18), nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReviewCard(Base):
    """A card the inbox flagged SUSPECT or QR_MISSING (migration 13): where the counts place it when it
    matches no inspection (by when received and the county filed under)."""

    __tablename__ = "review_cards"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    serial: Mapped[str] = mapped_column(String(64), index=True)  # sources.card_serial ("" when none)
    county: Mapped[str] = mapped_column(String(50))
    received_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    suspect: Mapped[bool] = mapped_column(Boolean)
    qr_missing: Mapped[bool] = mapped_column(Boolean)


class ReviewMeta(Base):
    __tablename__ = "review_meta"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    as_of: Mapped[date] = mapped_column(Date)
    rules: Mapped[str] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer)


# ---- what a review says about each inspection --------------------------------------------------

_RULE_MODULES = (collect, model, sources, caps, card_state, readings, register)


@cache
def _rules_source() -> str:
    h = hashlib.sha256()
    for path in [*(str(m.__file__) for m in _RULE_MODULES), __file__]:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:48]


def rules_fingerprint(ws: Workspace) -> str:
    """What the stored rows were decided by: the rules' source and the workspace's card deadline."""
    return f"{_rules_source()}:{ws.config.late_days}"


def flag_bits(flags: Iterable[ReviewFlag]) -> int:
    return sum(FLAG_BITS[f] for f in set(flags))


def rows_of(r: Review) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The stored rows (and their people) of every inspection ``r`` holds, live and voided."""
    violations = {v.entry.serial: v for v in r.violations}
    suspects = Counter(c.entry.serial for c in r.suspects if c.entry is not None)
    qr = Counter(c.entry.serial for c in r.qr_missing if c.entry is not None)
    approved = {o.entry.serial for o in r.over_cap if o.approved}
    rows, people = [], []
    for e, voided_at in [*((e, None) for e in r.entries), *((x.entry, x.voided_at) for x in r.voided)]:
        v = violations.get(e.serial)
        rows.append({
            "serial": e.serial, "start": e.start, "end": e.end, "due": e.due, "county": e.county,
            "county_code": e.county_code, "voided_at": voided_at, "card_state": str(e.card), "flags": flag_bits(e.flags),
            "yes_questions": ",".join(map(str, e.yes_questions)), "yes_answers": len(v.questions) if v else 0,
            "withdrawn": len(v.withdrawn) if v else 0, "suspect_cards": suspects[e.serial], "qr_cards": qr[e.serial],
            "over_cap_approved": e.serial in approved, "numbers_unread": e.numbers_unread,
        })
        people += [{"serial": e.serial, "name": name, "leader": i == 0}
                   for i, name in enumerate(dict.fromkeys(e.team.inspectors))]
    return rows, people


# ---- keeping them current ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    full: bool  # rebuild every row
    serials: frozenset[str]  # else these
    items: frozenset[int]  # and the flagged cards among these archived items
    top: int  # the highest dirty mark read (removed once written)
    generation: int | None  # review_meta.generation when read (None: never filled)
    rules: str


def refresh(ws: Workspace, today: date) -> int:
    """Bring the stored rows up to date for ``today``; how many inspections were decided again."""
    for _ in range(_RETRIES):
        plan = _plan(ws, today)
        if plan is None:
            return 0
        review, cards = _build(ws, plan, today)
        if _write(ws, plan, today, review, cards):
            return len(review.entries) + len(review.voided) if review is not None else 0
    return 0  # other refreshes keep winning: each of them left the rows at least as current


def pending(ws: Workspace) -> int:
    """The latest change not yet in the stored rows (0: none waits)."""
    with session(ws) as s:
        return int(s.scalar(select(func.max(ReviewDirty.id))) or 0)


def _plan(ws: Workspace, today: date) -> _Plan | None:
    rules = rules_fingerprint(ws)
    with session(ws) as s:
        conn = s.connection()
        lost = review_triggers(conn) != expected_review_triggers(conn.dialect.name)
        if lost:  # a table rebuilt since (SQLite drops its triggers): what changed meanwhile is unknown
            install_review_triggers(conn)
        meta = s.get(ReviewMeta, 1)
        top = int(s.scalar(select(func.max(ReviewDirty.id))) or 0)
        generation = meta.generation if meta is not None else None
        if lost or meta is None or meta.rules != rules:
            return _Plan(True, frozenset(), frozenset(), top, generation, rules)
        if top == 0 and meta.as_of == today:
            return None
        marks = int(s.scalar(select(func.count(ReviewDirty.id)).where(ReviewDirty.id <= top)) or 0)
        if marks > FULL_AT * 3:
            return _Plan(True, frozenset(), frozenset(), top, generation, rules)
        serials, items = _dirty(s, top)
        if meta.as_of != today:
            serials |= _crossing(s, meta.as_of, today)
    if len(serials) > FULL_AT:
        return _Plan(True, frozenset(), frozenset(), top, generation, rules)
    return _Plan(False, frozenset(serials), frozenset(items), top, generation, rules)


def _dirty(s: Session, top: int) -> tuple[set[str], set[int]]:
    """The inspections to decide again, and the archived items whose flagged-card row to redo."""
    marks = s.execute(select(ReviewDirty.serial, ReviewDirty.uscc, ReviewDirty.year, ReviewDirty.item_id)
                      .where(ReviewDirty.id <= top)).all()
    serials = {m.serial for m in marks if m.serial}
    pairs = {(m.uscc, m.year) for m in marks if m.uscc is not None and m.year is not None}
    usccs = sorted({u for u, _ in pairs})
    for chunk in in_lists(usccs):
        for serial, uscc, year in s.execute(select(Visit.serial, Visit.uscc, Visit.year)
                                            .where(Visit.uscc.in_(chunk))):
            if (uscc, year) in pairs:
                serials.add(serial)
    items = {m.item_id for m in marks if m.item_id is not None}
    return serials | (sources.item_serials(s, items) if items else set()), items


def _crossing(s: Session, a: date, b: date) -> set[str]:
    """Inspections whose card state may differ between days ``a`` and ``b``: their last day or due
    day lies between them (a missing card turns overdue the day after its due day)."""
    lo, hi = min(a, b), max(a, b)
    r = ReviewRow
    return set(s.scalars(select(r.serial).where(((r.end >= lo) & (r.end < hi)) | ((r.due >= lo) & (r.due < hi)))))


_CARD_FLAGS = (str(Flag.SUSPECT), str(Flag.QR_MISSING))


def _build(ws: Workspace, plan: _Plan, today: date) -> tuple[Review | None, list[dict[str, Any]]]:
    """The review of what the plan names, and the flagged-card rows of its items."""
    if plan.full:
        cards: dict[int, tuple[sources.ReturnedCard, set[str]]] = {}
        for flag in _CARD_FLAGS:
            for c in sources.flagged_cards(ws, flag):
                assert c.document is not None
                cards.setdefault(c.document.item_id, (c, set()))[1].add(flag)
        flagged = list(cards.values())
    elif plan.items:
        with session(ws) as s:
            flagged = sources.flagged_among(s, plan.items, _CARD_FLAGS)
    else:
        flagged = []
    rows = [{"item_id": c.document.item_id if c.document else 0, "serial": c.serial, "county": c.county,
             "received_at": c.received_at, "suspect": str(Flag.SUSPECT) in fl, "qr_missing": str(Flag.QR_MISSING) in fl}
            for c, fl in flagged]
    if plan.full:
        return build_review(ws, today=today, read_cards=False, documents=False), rows
    if not plan.serials:
        return None, rows
    return build_review(ws, today=today, read_cards=False, documents=False, serials=plan.serials), rows


def _write(ws: Workspace, plan: _Plan, today: date, review: Review | None, cards: list[dict[str, Any]]) -> bool:
    rows, people = rows_of(review) if review is not None else ([], [])
    with session(ws) as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT pg_advisory_xact_lock(7275716912)"))  # one writer of review_rows at a time
        meta = s.get(ReviewMeta, 1)
        if (meta.generation if meta is not None else None) != plan.generation:
            return False  # another refresh wrote since we read: ours may be older than the rows now
        if plan.full:
            s.execute(delete(ReviewRow))
            s.execute(delete(ReviewPerson))
            s.execute(delete(ReviewCard))
        else:
            for items in in_lists(sorted(plan.items)):
                s.execute(delete(ReviewCard).where(ReviewCard.item_id.in_(items)))
            for serials in in_lists(sorted(plan.serials)):
                s.execute(delete(ReviewRow).where(ReviewRow.serial.in_(serials)))
                s.execute(delete(ReviewPerson).where(ReviewPerson.serial.in_(serials)))
        for k in range(0, len(rows), 2000):
            s.execute(insert(ReviewRow), rows[k:k + 2000])
        for k in range(0, len(people), 2000):
            s.execute(insert(ReviewPerson), people[k:k + 2000])
        if cards:
            s.execute(insert(ReviewCard), cards)
        s.execute(delete(ReviewDirty).where(ReviewDirty.id <= plan.top))
        if meta is None:
            s.add(ReviewMeta(id=1, as_of=today, rules=plan.rules, generation=1))
        else:
            meta.as_of, meta.rules, meta.generation = today, plan.rules, meta.generation + 1
    return True


# ---- reading them --------------------------------------------------------------------------------


def _live(date_from: date | None, date_to: date | None, county: str | None) -> list[Any]:
    r = ReviewRow
    return [r.voided_at.is_(None), *in_period(r.start, date_from, date_to), *in_county(r.county, r.county_code, county)]


def _bit(f: ReviewFlag) -> Any:
    return ReviewRow.flags.op("&")(FLAG_BITS[f]) != 0


def _n(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _sum(col: Any) -> Any:
    return func.coalesce(func.sum(col), 0)


@dataclass(frozen=True, slots=True)
class _Voided:
    serial: str
    county: str
    flags: int
    yes_questions: tuple[int, ...]
    yes_answers: int
    withdrawn: int


def _voided(s: Session, date_from: date | None, date_to: date | None, county: str | None,
            *where: Any) -> list[_Voided]:
    """The voided visits of the selection (``collect.voided_in_period``), in the review's order."""
    r = ReviewRow
    q = (select(r.serial, r.county, r.flags, r.yes_questions, r.yes_answers, r.withdrawn, r.start, r.voided_at)
         .where(r.voided_at.is_not(None), *in_county(r.county, r.county_code, county), *where)
         .order_by(r.voided_at, r.serial))
    return [_Voided(x.serial, x.county, x.flags, tuple(int(q) for q in x.yes_questions.split(",") if q),
                    x.yes_answers, x.withdrawn)
            for x in s.execute(q) if voided_in_period(x.start, x.voided_at, date_from, date_to)]


def stored_counts(ws: Workspace, date_from: date | None = None, date_to: date | None = None,
                  county: str | None = None, *, today: date) -> ReviewCounts:
    """``counts_of(build_review(ws, date_from, date_to, county, today=today, read_cards=False))``, from
    the stored rows."""
    refresh(ws, today)
    r, live = ReviewRow, _live(date_from, date_to, county)
    with session(ws) as s:
        # One pass over the selection, by county (the by-county order needs each county's size and flagged).
        per_county = s.execute(select(
            r.county, func.count(), _n(r.flags != 0), _n(r.card_state.in_([str(x) for x in RECEIVED_STATES])),
            _n(_bit(ReviewFlag.VIOLATION)), _sum(r.yes_answers), _sum(r.withdrawn),
            _n(r.card_state == CardState.MISSING), _n(r.card_state == CardState.OVERDUE),
            _n(_bit(ReviewFlag.CARD_LATE)), _n(_bit(ReviewFlag.CARD_EARLY)), _n(r.card_state == CardState.NEEDS_REVIEW),
            _n(r.over_cap_approved), _n(_bit(ReviewFlag.OVER_CAP) & ~r.over_cap_approved), _sum(r.suspect_cards),
            _sum(r.qr_cards), _n(_bit(ReviewFlag.VISIT_MISMATCH)), _n(_bit(ReviewFlag.CROSS_COUNTY)),
            _n(_bit(ReviewFlag.SYNC_OVER_CAP)), _n(r.numbers_unread),
        ).where(*live).group_by(r.county)).all()
        sums = [sum(int(row[i]) for row in per_county) for i in range(1, 20)]
        (inspections, flagged, received, with_yes, yes, withdrawn, missing, overdue, late, early, waiting, approved,
         unapproved, suspects, qr, mismatches, cross, sync, unread) = sums
        voided = _voided(s, date_from, date_to, county)
        with_yes_voided = [v for v in voided if v.flags & FLAG_BITS[ReviewFlag.VIOLATION]]
        people = _people_in(s, live) | _people_of(s, [v.serial for v in with_yes_voided])
    loose_suspects, loose_qr = _loose_cards(ws, date_from, date_to, county)
    notes = ([unread_numbers_note(unread)] if unread else []) + [
        voided_yes_note(v.serial, v.yes_questions) for v in voided if v.yes_questions]
    tallies = {row[0]: (int(row[1]), int(row[2])) for row in per_county}
    for name in [v.county for v in with_yes_voided] + [c.county or "（未知）" for c in loose_suspects]:
        tallies.setdefault(name, (0, 0))
    return ReviewCounts(
        inspections=inspections, received=received, with_yes=with_yes + len(with_yes_voided),
        yes_answers=yes + sum(v.yes_answers for v in voided), withdrawn=withdrawn + sum(v.withdrawn for v in voided),
        missing=missing, overdue=overdue, late=late, early=early, waiting=waiting, over_cap_approved=approved,
        over_cap_unapproved=unapproved, suspects=suspects + len(loose_suspects), qr_missing=qr + len(loose_qr),
        mismatches=mismatches, cross_county=cross, sync_over_cap=sync, voided=len(voided), flagged=flagged,
        notes=tuple(notes),
        counties=tuple(sorted(tallies, key=lambda c: (-tallies[c][1], -tallies[c][0], c))),
        inspectors=tuple(sorted(people)),
    )


def _people_in(s: Session, live: list[Any]) -> set[str]:
    """The 组长 and 成员 of the selected inspections: each known name asked whether it has one (a few
    dozen names, each found at once), not every inspection's team read."""
    p, r = ReviewPerson, ReviewRow
    names = list(s.scalars(select(p.name).distinct()))
    return {n for n in names if s.scalar(select(p.id).join(r, r.serial == p.serial)
                                         .where(p.name == n, *live).limit(1)) is not None}


def _people_of(s: Session, serials: list[str]) -> set[str]:
    out: set[str] = set()
    for chunk in in_lists(serials):
        out |= set(s.scalars(select(ReviewPerson.name).where(ReviewPerson.serial.in_(chunk))))
    return out


def _loose_cards(ws: Workspace, date_from: date | None, date_to: date | None, county: str | None,
                 ) -> tuple[list[sources.ReturnedCard], list[sources.ReturnedCard]]:
    """Suspect and QR-less cards that match no inspection and belong to the selection (as ``build_review``
    places them); a card that matches one is counted on its inspection's row."""
    c = ReviewCard
    with session(ws) as s:
        rows = s.execute(select(c.serial, c.county, c.received_at, c.suspect, c.qr_missing)
                         .where(~c.serial.in_(select(ReviewRow.serial)))).all()
    cards = [(sources.ReturnedCard(r.serial, "", r.county, r.received_at, (), None), r.suspect, r.qr_missing)
             for r in rows]
    placed = [(card, sus, qr) for card, sus, qr in cards if loose_card_selected(card, date_from, date_to, county)]
    return [card for card, sus, _ in placed if sus], [card for card, _, qr in placed if qr]


def stored_serials(ws: Workspace, date_from: date | None = None, date_to: date | None = None,
                   county: str | None = None, *, today: date, flag: ReviewFlag | None = None,
                   inspector: str | None = None, card_states: Collection[CardState] | None = None,
                   offset: int = 0, limit: int | None = None) -> tuple[int, list[str]]:
    """How many inspections ``select_entries`` would list, and the serials of rows ``offset…offset+limit``
    of that list (live visits by start date, then, for 是 and voided, the voided visits by when voided)."""
    refresh(ws, today)
    r = ReviewRow
    where: list[Any] = []
    if flag is not None:
        where.append(_bit(flag))
    if inspector is not None:
        where.append(r.serial.in_(select(ReviewPerson.serial).where(ReviewPerson.name == inspector)))
    if card_states is not None:
        where.append(r.card_state.in_([str(c) for c in card_states]))
    with session(ws) as s:
        live = [*_live(date_from, date_to, county), *where]
        n_live = int(s.scalar(select(func.count()).select_from(r).where(*live)) or 0)
        q = select(r.serial).where(*live).order_by(r.start, r.serial).offset(offset)
        page = list(s.scalars(q.limit(limit) if limit is not None else q))
        voided: list[str] = []
        if flag in (ReviewFlag.VIOLATION, ReviewFlag.VOIDED):
            voided = [v.serial for v in _voided(s, date_from, date_to, county, *where)]
    rest = max(offset - n_live, 0)
    take = None if limit is None else limit - len(page)
    page += voided[rest:None if take is None else rest + take]
    return n_live + len(voided), page


def entries_of(ws: Workspace, serials: list[str], date_from: date | None, date_to: date | None,
               county: str | None, *, today: date) -> tuple[Review, list[Entry]]:
    """The review of these inspections only (``build_review(serials=…)``) and its entries in the given order."""
    r = build_review(ws, date_from, date_to, county, today=today, read_cards=False, documents=False, serials=serials)
    by_serial = {e.serial: e for e in [*r.entries, *(x.entry for x in r.voided)]}
    return r, [by_serial[x] for x in serials if x in by_serial]
