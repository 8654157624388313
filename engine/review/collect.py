"""The 纪委 review list: what needs the discipline inspectors' attention, as typed data.

``build_review`` reads the register (and, where it exists, the archive index) once and returns a
``Review``: one ``Entry`` per selected inspection with every flag it carries, and the sections the
reviewer reads — 是 answers, missing/overdue/late/early cards, visits over the annual cap (every
``--allow-over-cap`` override with its reason), suspect cards, visit numbers that are wrong on a
card (stated differently from the register, or printed before an earlier-dated visit was entered
or voided, with what happened), every voided visit — plus counts per county and per inspector.

Voided visits are not entries (they count toward nothing); ``Review.voided`` lists those that
started in the period or were voided in it.

Selection: an inspection belongs to ``[date_from, date_to]`` by its **start** date, and to a
county by the register's county name (or its division code).  A suspect card that matches no
inspection is selected by the date it was received and the county it was filed under.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from ..caps import Cap, cap_for
from ..card_state import CardState
from ..db import session
from ..forms import CARD_QUESTIONS, PER_INSPECTION, QUESTION_NUMBERS, YES, FormType
from ..inbox.codes import Flag
from ..readings import ReadBy
from ..register import RegisterState, Stale, Visit, live, stale_among
from ..workspace import Workspace
from . import sources
from .model import (
    SUSPECT_ZH,
    Document,
    Entry,
    ReviewFlag,
    SuspectReason,
    Team,
)


@dataclass(frozen=True, slots=True)
class Violation:
    entry: Entry
    questions: tuple[int, ...]  # answered 是 on the card that counts (the latest version)
    withdrawn: tuple[int, ...] = ()  # answered 是 on an earlier version, no longer on the latest

    @property
    def texts(self) -> tuple[str, ...]:
        """The questions answered 是, worded exactly as the card prints them."""
        return tuple(CARD_QUESTIONS[i - 1] for i in self.questions)

    @property
    def withdrawn_texts(self) -> tuple[str, ...]:
        return tuple(CARD_QUESTIONS[i - 1] for i in self.withdrawn)


@dataclass(frozen=True, slots=True)
class CardIssue:
    entry: Entry
    state: CardState  # MISSING / OVERDUE / LATE / NEEDS_REVIEW
    days_late: int  # days past the deadline: until today (overdue) or until arrival (late); 0 when missing


@dataclass(frozen=True, slots=True)
class OverCap:
    entry: Entry
    cap: int
    rule: str
    approved: bool  # recorded with --allow-over-cap
    reason: str


@dataclass(frozen=True, slots=True)
class SuspectCard:
    """A returned card the inbox flagged SUSPECT (or QR_MISSING: then ``reasons`` may be empty, the
    card's printed enterprise and dates having agreed with the register); ``entry`` is None when its
    serial matches nothing."""

    reasons: tuple[SuspectReason, ...]
    serial: str  # as read from the card ("" when none could be read)
    enterprise: str  # as the card states it (or as filed)
    received_at: datetime | None
    document: Document | None
    entry: Entry | None = None
    county: str = ""
    note: str = ""

    @property
    def reasons_zh(self) -> str:
        return "、".join(SUSPECT_ZH[r] for r in self.reasons)


@dataclass(frozen=True, slots=True)
class VisitMismatch:
    entry: Entry
    stated_total: int | None  # 第N次 on the returned card (None: no card back, or not readable)
    stated_kind: int | None  # 第M次 on the returned card
    expected_total: int | None = None  # 第N次 by date today (None: as printed)
    expected_kind: int | None = None
    explanation: str = ""  # what happened, in Chinese


@dataclass(frozen=True, slots=True)
class VoidedVisit:
    """A visit voided with ``ruqi void``: on the list with who, when and why; its documents stay archived."""

    entry: Entry
    voided_at: datetime
    voided_by: str
    reason: str
    registered_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CardReader:
    """Who read a returned card: the machine, a person, or nobody yet (then how long it has waited)."""

    entry: Entry
    read_by: ReadBy
    days_waiting: int  # since the card arrived, while it waits for a person; 0 once read
    people: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CorrectedAnswer:
    """An answer a person changed after it was read (``ruqi confirm --correct``): on the 纪委 list."""

    serial: str
    enterprise: str
    question: int
    before: str | None
    after: str | None
    by: str
    at: datetime
    reason: str
    archival_code: str
    entry: Entry | None = None


@dataclass(slots=True)
class Tally:
    """Counts for one county or one inspector."""

    name: str
    inspections: int = 0
    as_leader: int = 0
    as_member: int = 0
    received: int = 0
    missing: int = 0
    overdue: int = 0
    late: int = 0
    early: int = 0
    unread: int = 0  # cards back but waiting for a person to read them
    violations: int = 0  # inspections with a 是 (now or on an earlier version of the card)
    yes_answers: int = 0  # 是 answers in total
    over_cap: int = 0
    suspect: int = 0
    mismatches: int = 0
    flagged: int = 0


@dataclass(slots=True)
class Review:
    bureau: str  # 大同市应急管理局
    date_from: date | None
    date_to: date | None
    county: str | None
    today: date
    late_days: int
    entries: list[Entry]
    violations: list[Violation]
    cards: list[CardIssue]
    over_cap: list[OverCap]
    suspects: list[SuspectCard]
    mismatches: list[VisitMismatch]
    by_county: list[Tally]
    by_inspector: list[Tally]
    notes: list[str] = field(default_factory=list)  # what the review could not check, in Chinese
    voided: list[VoidedVisit] = field(default_factory=list)
    qr_missing: list[SuspectCard] = field(default_factory=list)  # cards without a verifiable QR, SUSPECT or not
    readers: list[CardReader] = field(default_factory=list)  # every returned card: read by machine, person, or waiting
    corrections: list[CorrectedAnswer] = field(default_factory=list)

    @property
    def flagged(self) -> list[Entry]:
        return [e for e in self.entries if e.flagged]

    def entry(self, serial: str) -> Entry | None:
        return next((e for e in self.entries if e.serial == serial), None)

    @property
    def period_zh(self) -> str:
        a = f"{self.date_from:%Y-%m-%d}" if self.date_from else "最早"
        b = f"{self.date_to:%Y-%m-%d}" if self.date_to else "至今"
        return f"{a} 至 {b}" if self.date_from or self.date_to else "全部"


# ---- building ------------------------------------------------------------------------------------


def build_review(
    ws: Workspace,
    date_from: date | None = None,
    date_to: date | None = None,
    county: str | None = None,
    *,
    today: date | None = None,
    read_cards: bool = True,
    documents: bool = True,
    serials: Collection[str] | None = None,
) -> Review:
    """The review list for inspections starting in ``[date_from, date_to]`` (inclusive) in ``county``.

    ``today`` decides which missing cards are overdue (injectable for tests and re-runs of an old
    review).  ``read_cards=False`` skips opening returned cards to read the visit numbers they state
    (only needed when the inbox did not store them).  ``documents=False`` gives each entry its returned
    cards only (every finding is decided from them; the web list never shows the other originals).

    ``serials``: only these of the selected inspections, live or voided (one page of the list,
    ``page_serials``; the inspections ``engine.review.stored`` recomputes).  Every flag of an entry is
    decided from its own visit, its own cards and the enterprise-year it belongs to, so each entry is
    exactly the one the whole list has; the sections and counts cover only these inspections (and
    leave out cards that match no inspection).
    """
    today = today or date.today()
    late_days = ws.config.late_days
    with session(ws) as s:
        visits = _select_visits(s, date_from, date_to, county, serials)
        entries = [_entry(v, today, late_days) for v in visits]
        stale = _stale(s, visits)
        voided = [_voided(v, today, late_days) for v in _select_voided(s, date_from, date_to, county)
                  if serials is None or v.serial in serials]
        docs, said = sources.documents_and_answers(
            s, [e.serial for e in entries] + [x.entry.serial for x in voided],
            PER_INSPECTION if documents else (FormType.CARD_RETURNED,))
        changed = sources.corrections(s)
    suspect_items = sources.suspect_items(ws)
    qr_items = sources.flagged_cards(ws, Flag.QR_MISSING)
    if serials is not None:  # one page: cards that match no inspection belong to the whole list only
        suspect_items = [c for c in suspect_items if c.serial in serials]
        qr_items = [c for c in qr_items if c.serial in serials]
    with session(ws) as s:
        known = [c.serial for c in [*suspect_items, *qr_items] if c.serial]
        by_serial_all = {v.serial: v for v in s.scalars(select(Visit).where(Visit.serial.in_(known))).all()}
    notes: list[str] = []
    for e in [*entries, *(x.entry for x in voided)]:
        e.documents = docs.get(e.serial, [])
        _read_people(e, said)
    over = _over_cap(entries)
    suspects = _suspects(entries, suspect_items, by_serial_all, date_from, date_to, county)
    qr_missing = _place_cards(entries, qr_items, by_serial_all, date_from, date_to, county, ReviewFlag.QR_MISSING)
    mismatches = _mismatches(ws, entries, notes, read_cards, stale)
    # A 是 stays in front of the 纪委 when its visit is voided afterwards: voiding must not hide it.
    violations = _violations([*entries, *(x.entry for x in voided)])
    notes.extend(voided_yes_note(x.entry.serial, x.entry.yes_questions) for x in voided if x.entry.yes_questions)
    cards = _card_issues(entries, today)
    corrections = _corrections(changed, entries, date_from, date_to, county)
    _order_flags(entries)
    review = Review(
        ws.config.name, date_from, date_to, county, today, late_days, entries, violations, cards, over, suspects, mismatches,
        by_county=[], by_inspector=[], notes=notes, voided=voided, qr_missing=qr_missing,
        readers=[_reader(e, today) for e in entries if e.read_by is not None], corrections=corrections,
    )
    review.by_county = tally_by_county(review)
    review.by_inspector = tally_by_inspector(review)
    return review


def build_entry(ws: Workspace, serial: str, *, today: date | None = None) -> Entry | None:
    """One inspection as the review sees it (flags, card state, documents), voided or not; None when
    the register has no such serial.  The review is built for the inspection's start day and county,
    so every flag is decided by exactly the rules of the whole list."""
    from_register = _one_visit(ws, serial)
    if from_register is None:
        return None
    start, county = from_register
    r = build_review(ws, start, start, county, today=today)
    return r.entry(serial) or next((x.entry for x in r.voided if x.entry.serial == serial), None)


def _one_visit(ws: Workspace, serial: str) -> tuple[date, str] | None:
    with session(ws) as s:
        v = s.scalars(select(Visit).where(Visit.serial == serial)).first()
        return (v.start, v.county) if v is not None else None


# The review only reads visits: plain rows (attribute access like a ``Visit``) cost a third of ORM
# objects, which a year of 20,000 visits feels.
VisitRow = Any
_VISIT_ROW = select(*Visit.__table__.c)


def in_county(county_col: Any, code_col: Any, county: str | None) -> list[ColumnElement[bool]]:
    """The selection's county: by the register's county name or its division code."""
    return [(county_col == county) | (code_col == county)] if county else []


def in_period(start_col: Any, date_from: date | None, date_to: date | None) -> list[ColumnElement[bool]]:
    """The selection's period: an inspection belongs to it by its start date."""
    return ([start_col >= date_from] if date_from is not None else []) + (
        [start_col <= date_to] if date_to is not None else [])


def _selection(q: Select[Any], date_from: date | None, date_to: date | None, county: str | None) -> Select[Any]:
    """The live visits of the review's selection (its one definition: the list, its pages, its count;
    ``engine.review.stored`` applies the same conditions to its own columns)."""
    return q.where(live(), *in_period(Visit.start, date_from, date_to),
                   *in_county(Visit.county, Visit.county_code, county))


def _select_visits(s: Session, date_from: date | None, date_to: date | None, county: str | None,
                   serials: Collection[str] | None = None) -> list[VisitRow]:
    q = _selection(_VISIT_ROW, date_from, date_to, county)
    if serials is not None:
        q = q.where(Visit.serial.in_(list(serials)))
    return list(s.execute(q.order_by(Visit.start, Visit.serial)).all())


def page_serials(ws: Workspace, date_from: date | None, date_to: date | None, county: str | None, *,
                 offset: int, limit: int) -> tuple[int, list[str]]:
    """How many inspections the review selects, and the serials of rows ``offset…offset+limit`` of
    its list (counted and paged by the database, in the list's order)."""
    with session(ws) as s:
        total = s.scalar(_selection(select(func.count(Visit.id)), date_from, date_to, county)) or 0
        page = s.scalars(_selection(select(Visit.serial), date_from, date_to, county)
                         .order_by(Visit.start, Visit.serial).offset(offset).limit(limit)).all()
    return int(total), list(page)


def _select_voided(s: Session, date_from: date | None, date_to: date | None, county: str | None) -> list[VisitRow]:
    """Voided visits that started in the period, or were voided in it (voiding an old visit is news too)."""
    q = _VISIT_ROW.where(Visit.voided_at.is_not(None), *in_county(Visit.county, Visit.county_code, county))
    return [v for v in s.execute(q.order_by(Visit.voided_at, Visit.serial)).all()
            if voided_in_period(v.start, v.voided_at, date_from, date_to)]


def voided_in_period(start: date, voided_at: datetime | None, date_from: date | None, date_to: date | None) -> bool:
    """A voided visit belongs to the period when it started in it or was voided in it."""
    when = (start, voided_at.date() if voided_at else start)
    return any((date_from is None or d >= date_from) and (date_to is None or d <= date_to) for d in when)


def _voided(v: VisitRow, today: date, late_days: int) -> VoidedVisit:
    assert v.voided_at is not None
    e = _entry(v, today, late_days)
    e.flags = [ReviewFlag.VOIDED]  # nothing is due for a voided visit: only the voiding itself is news
    return VoidedVisit(e, v.voided_at, v.voided_by or "", v.voided_reason or "", v.created_at)


def _stale(s: Session, visits: list[VisitRow]) -> dict[str, Stale]:
    """Printed cards among these visits whose numbers are no longer right by date, by serial."""
    return {st.serial: st for st in stale_among(s, {(v.uscc, v.year) for v in visits})}


def _entry(v: VisitRow, today: date, late_days: int) -> Entry:
    due = v.end + timedelta(days=late_days)
    answers = {int(k): a for k, a in (v.card_answers or {}).items() if str(k).isdigit()}
    card_flags = tuple(v.card_flags or ())
    received = v.card_status in (CardState.RECEIVED, CardState.NEEDS_REVIEW) or v.card_received_at is not None
    arrived = v.card_received_at.date() if v.card_received_at else None
    late = received and (Flag.LATE in card_flags or (arrived is not None and arrived > due))
    # EARLY as the inbox defines it (engine.inbox.validate): arrived on a day before the last day.
    early = received and not late and (Flag.EARLY in card_flags or (arrived is not None and arrived < v.end))
    if received and (v.card_status == CardState.NEEDS_REVIEW or Flag.NEEDS_REVIEW in card_flags):
        state = CardState.NEEDS_REVIEW
    elif received:
        state = CardState.LATE if late else CardState.EARLY if early else CardState.RECEIVED
    elif today > due:
        state = CardState.OVERDUE
    elif today > v.end:
        state = CardState.MISSING
    else:
        state = CardState.NOT_DUE
    e = Entry(
        serial=v.serial, enterprise=v.enterprise, uscc=v.uscc, county=v.county, county_code=v.county_code, kind=v.kind, industry=v.industry,
        grade=v.grade, benchmark=bool(v.benchmark), key_supervision=bool(v.key_supervision), start=v.start,
        end=v.end, issue_date=v.issue_date,
        team=Team(v.leader, tuple(v.members or ()), tuple(v.experts or ())), visit_total=v.visit_total,
        visit_kind=v.visit_kind, due=due, card=state, card_received_at=v.card_received_at,
        card_version=v.card_version or 0, answers=answers, card_flags=card_flags, over_cap=bool(v.over_cap),
        override_reason=v.override_reason or "", actor=v.actor or "", cross_reason=v.cross_reason or "",
        register_note=v.register_note or "", read_by=_read_by(v) if received else None,
    )
    flag = {CardState.LATE: ReviewFlag.CARD_LATE, CardState.MISSING: ReviewFlag.CARD_MISSING,
            CardState.OVERDUE: ReviewFlag.CARD_OVERDUE, CardState.NEEDS_REVIEW: ReviewFlag.CARD_UNREAD,
            CardState.EARLY: ReviewFlag.CARD_EARLY}.get(state)
    if flag is not None:
        e.flag(flag)
    if late and state is CardState.NEEDS_REVIEW:
        e.flag(ReviewFlag.CARD_LATE)  # a scan can be late too; the state shows the more urgent fact
    if early and state is CardState.NEEDS_REVIEW:
        e.flag(ReviewFlag.CARD_EARLY)
    if v.cross_reason:
        e.flag(ReviewFlag.CROSS_COUNTY)
    if v.register_state == RegisterState.CONFLICT:
        e.flag(ReviewFlag.SYNC_OVER_CAP)
    return e


def _read_by(v: VisitRow) -> ReadBy:
    if v.card_read_by in set(ReadBy):
        return ReadBy(v.card_read_by)
    return ReadBy.WAITING if v.card_status == CardState.NEEDS_REVIEW else ReadBy.MACHINE


def _read_people(e: Entry, said: dict[int, Any]) -> None:
    returned = [d for d in e.documents if d.form_type == FormType.CARD_RETURNED]
    if returned:
        latest = max(returned, key=lambda d: d.item_id)
        got = said.get(latest.item_id)
        e.read_people = tuple(got.people) if got is not None else ()


def _reader(e: Entry, today: date) -> CardReader:
    assert e.read_by is not None
    waited = (today - e.card_received_at.date()).days if e.card_received_at and e.read_by is ReadBy.WAITING else 0
    return CardReader(e, e.read_by, max(waited, 0), e.read_people)


def _corrections(changed: list[sources.Correction], entries: list[Entry], date_from: date | None,
                 date_to: date | None, county: str | None) -> list[CorrectedAnswer]:
    """Corrections of cards in this selection (by their inspection), or, matching none, by when made."""
    by_serial = {e.serial: e for e in entries}
    out = []
    for c in changed:
        e = by_serial.get(c.serial)
        if e is None and (county or (date_from and c.changed.at.date() < date_from)
                          or (date_to and c.changed.at.date() > date_to) or c.serial):
            continue  # outside the selection (a serial not selected, or a loose card outside the period)
        if e is not None:
            e.flag(ReviewFlag.ANSWER_CORRECTED)
        ch = c.changed
        out.append(CorrectedAnswer(c.serial, e.enterprise if e else "", ch.question, ch.before, ch.after, ch.by, ch.at,
                                   ch.reason, c.document.archival_code, e))
    return out


def _violations(entries: list[Entry]) -> list[Violation]:
    """是 on the card that counts, and 是 an earlier version had that a later one took back.

    A 是 that disappears in a resubmitted card is exactly what the 纪委 must ask about, so it
    stays on the list (the inbox marks such cards VIOLATION_WITHDRAWN).
    """
    out = []
    for e in entries:
        earlier: set[int] = set()
        returned = sorted((d for d in e.documents if d.form_type == FormType.CARD_RETURNED), key=lambda d: d.version)
        for d in returned[:-1]:
            answers = d.extra.get("answers") if isinstance(d.extra.get("answers"), dict) else {}
            earlier |= {int(k) for k, a in answers.items() if a == YES and str(k).isdigit()}
        withdrawn = tuple(sorted(earlier - set(e.yes_questions)))
        if e.yes_questions or withdrawn:
            out.append(Violation(e, e.yes_questions, withdrawn))
            e.flag(ReviewFlag.VIOLATION)
    return out


def _card_issues(entries: list[Entry], today: date) -> list[CardIssue]:
    out = []
    for e in entries:
        if e.card is CardState.OVERDUE:
            out.append(CardIssue(e, e.card, (today - e.due).days))
        elif e.card is CardState.MISSING:
            out.append(CardIssue(e, e.card, 0))
        elif e.card is CardState.LATE or e.card is CardState.NEEDS_REVIEW:
            arrived = e.card_received_at.date() if e.card_received_at else e.due
            out.append(CardIssue(e, e.card, max((arrived - e.due).days, 0)))
        elif e.card is CardState.EARLY:
            out.append(CardIssue(e, e.card, 0))
    return out


def _over_cap(entries: list[Entry]) -> list[OverCap]:
    """Every approved override, and any visit whose number of its kind exceeds today's cap for it.

    The second case catches visits the cap check never refused: a grade lowered later in the year,
    or a register edited outside ``ruqi generate``.
    """
    out = []
    for e in entries:
        cap = _cap(e)
        beyond = cap is not None and cap.limit is not None and e.visit_kind > cap.limit
        if not (e.over_cap or beyond):
            continue
        limit = cap.limit if cap is not None and cap.limit is not None else 0
        out.append(OverCap(e, limit, cap.rule if cap else "", e.over_cap, e.override_reason))
        e.flag(ReviewFlag.OVER_CAP)
    return out


def _cap(e: Entry) -> Cap | None:
    """Today's cap for this visit's enterprise and kind; None when the register holds a grade the
    caps table does not know (then only an explicit override puts the visit on the list)."""
    try:
        return cap_for(e.industry, e.grade, e.kind, benchmark=e.benchmark, key_supervision=e.key_supervision)
    except KeyError:
        return None


def _suspects(
    entries: list[Entry], items: list[sources.ReturnedCard], visits: dict[str, Visit],
    date_from: date | None, date_to: date | None, county: str | None,
) -> list[SuspectCard]:
    return _place_cards(entries, items, visits, date_from, date_to, county, ReviewFlag.SUSPECT)


def _place_cards(
    entries: list[Entry], items: list[sources.ReturnedCard], visits: dict[str, Visit],
    date_from: date | None, date_to: date | None, county: str | None, flag: ReviewFlag,
) -> list[SuspectCard]:
    """The flagged cards that belong to this selection: by their inspection (which then carries
    ``flag``), or, matching none, by the date received and the county filed under."""
    by_serial = {e.serial: e for e in entries}
    out = []
    for it in items:
        visit = visits.get(it.serial) if it.serial else None
        reasons = it.reasons
        if flag is ReviewFlag.SUSPECT and not reasons:
            reasons = (SuspectReason.SERIAL_UNKNOWN,) if visit is None else (SuspectReason.OTHER,)
        if visit is not None:
            entry = by_serial.get(visit.serial)
            if entry is None:
                continue  # the inspection exists but is outside this selection
            entry.flag(flag)
            out.append(SuspectCard(reasons, it.serial, it.enterprise, it.received_at, it.document, entry,
                                   entry.county, it.note))
            continue
        if not loose_card_selected(it, date_from, date_to, county):
            continue
        out.append(SuspectCard(reasons, it.serial, it.enterprise, it.received_at, it.document, None, it.county,
                               it.note))
    return sorted(out, key=lambda c: (c.received_at or datetime.min, c.serial))


def loose_card_selected(it: sources.ReturnedCard, date_from: date | None, date_to: date | None,
                        county: str | None) -> bool:
    """Whether a flagged card that matches no inspection belongs to this selection: by the date it
    was received and the county it was filed under."""
    when = it.received_at.date() if it.received_at else None
    if when is not None and ((date_from and when < date_from) or (date_to and when > date_to)):
        return False
    return not county or it.county == county  # a card placed in no county belongs to the whole-bureau review only


def _mismatches(ws: Workspace, entries: list[Entry], notes: list[str], read_cards: bool,
                stale: dict[str, Stale]) -> list[VisitMismatch]:
    """Cards whose 第N次/第M次 is wrong: stated otherwise than printed, or printed before the
    register changed under them (an earlier-dated visit entered later, or an earlier one voided)."""
    out = []
    unread = 0
    for e in entries:
        stated: tuple[int | None, int | None] | None = None
        if e.card in _RECEIVED:
            stated = sources.stated_visit_numbers(ws, e, read_cards)
            unread += stated is None
        e.numbers_unread = e.card in _RECEIVED and stated is None
        m = _mismatch(e, stated, stale.get(e.serial))
        if m is not None:
            out.append(m)
            e.flag(ReviewFlag.VISIT_MISMATCH)
    if unread:
        notes.append(unread_numbers_note(unread))
    return out


def unread_numbers_note(n: int) -> str:
    return f"有 {n} 张已交回的反馈卡未能核对所填的检查次数：档案中没有其原件，或从原件中读不出“第N次/第M次”。"


def voided_yes_note(serial: str, questions: Iterable[int]) -> str:
    return (f"已作废的检查 {serial} 交回的反馈卡有“是”的反馈（第{'、'.join(map(str, questions))}题），"
            f"仍列入反馈“是”的检查，并{COUNTED_WHEN_VOIDED}。")


def _mismatch(e: Entry, stated: tuple[int | None, int | None] | None, st: Stale | None) -> VisitMismatch | None:
    total, kind = stated if stated is not None else (None, None)
    printed = (e.visit_total, e.visit_kind)
    differs = (total is not None and total != printed[0]) or (kind is not None and kind != printed[1])
    if st is None and not differs:
        return None
    if st is None:
        why = (f"卡上填写的次数与打印的（第{printed[0]}次、第{printed[1]}次{e.kind}）不同：企业改填了次数"
               "（可能计入了其他层级的检查），或反馈卡被改动过，请核实。")
        return VisitMismatch(e, total, kind, None, None, why)
    why = st.explain()
    if stated is not None and (total, kind) != (None, None):
        if (total in (None, st.now[0])) and (kind in (None, st.now[1])):
            why += "企业交回的卡已按日期改填为正确次数。"
        elif not differs:
            why += "交回的卡上仍是打印时的次数。"
        else:
            why += "交回的卡上所填次数与打印的和按日期的都不同，请核实。"
    return VisitMismatch(e, total, kind, st.now[0], st.now[1], why)


_RECEIVED = (CardState.RECEIVED, CardState.LATE, CardState.EARLY, CardState.NEEDS_REVIEW)


def _order_flags(entries: Iterable[Entry]) -> None:
    order = list(ReviewFlag)
    for e in entries:
        e.flags.sort(key=order.index)


# ---- selecting ---------------------------------------------------------------------------------


def select_entries(review: Review, *, inspector: str | None = None, flag: ReviewFlag | None = None,
                   card_states: Iterable[CardState] | None = None) -> list[Entry]:
    """The review's inspections one kind of finding at a time (the web list's filters).

    ``inspector``: 组长 or 成员 of the team (as ``tally_by_inspector`` counts them); ``flag``: the
    kind of finding; ``card_states``: the card's state.  Voided visits are listed only for
    ``VIOLATION`` (a 是 stays on the list when its visit is voided) and ``VOIDED``."""
    pool = list(review.entries)
    if flag in (ReviewFlag.VIOLATION, ReviewFlag.VOIDED):
        pool += [x.entry for x in review.voided]
    states = frozenset(card_states) if card_states is not None else None
    return [e for e in pool
            if (inspector is None or inspector in e.team.inspectors)
            and (flag is None or flag in e.flags)
            and (states is None or e.card in states)]


# ---- counts --------------------------------------------------------------------------------------


def _counts(e: Entry, suspect_serials: set[str], mismatch_serials: set[str]) -> Tally:
    """What one inspection adds to a tally (counted once, added to several tallies)."""
    return Tally("", inspections=1, received=e.card in _RECEIVED, missing=e.card is CardState.MISSING,
                 overdue=e.card is CardState.OVERDUE, late=ReviewFlag.CARD_LATE in e.flags,
                 early=ReviewFlag.CARD_EARLY in e.flags, unread=e.card is CardState.NEEDS_REVIEW,
                 violations=ReviewFlag.VIOLATION in e.flags, yes_answers=len(e.yes_questions),
                 over_cap=ReviewFlag.OVER_CAP in e.flags, suspect=e.serial in suspect_serials,
                 mismatches=e.serial in mismatch_serials, flagged=e.flagged)


_COUNTED = tuple(f.name for f in fields(Tally) if f.type in (int, "int"))


def _add(t: Tally, counts: Tally) -> None:
    for name in _COUNTED:
        setattr(t, name, getattr(t, name) + getattr(counts, name))


# A 是 on the card of a voided visit is still a 是 about the inspectors' conduct: the tallies count
# it (inspection with a 是, 是 answers), though the voided visit itself counts as no inspection.
COUNTED_WHEN_VOIDED = "计入按县区、按检查人员统计"


def _add_voided_yes(t: Tally, e: Entry) -> None:
    t.violations += ReviewFlag.VIOLATION in e.flags
    t.yes_answers += len(e.yes_questions)


def _voided_with_yes(review: Review) -> list[Entry]:
    return [x.entry for x in review.voided if ReviewFlag.VIOLATION in x.entry.flags]


def tally_by_county(review: Review) -> list[Tally]:
    sus = {c.entry.serial for c in review.suspects if c.entry}
    mis = {m.entry.serial for m in review.mismatches}
    out: dict[str, Tally] = {}
    for e in review.entries:
        _add(out.setdefault(e.county, Tally(e.county)), _counts(e, sus, mis))
    for e in _voided_with_yes(review):
        _add_voided_yes(out.setdefault(e.county, Tally(e.county)), e)
    # Suspect cards that match no inspection still count against the county they were filed under.
    for c in review.suspects:
        if c.entry is None:
            name = c.county or "（未知）"
            out.setdefault(name, Tally(name)).suspect += 1
    return sorted(out.values(), key=lambda t: (-t.flagged, -t.inspections, t.name))


def tally_by_inspector(review: Review) -> list[Tally]:
    sus = {c.entry.serial for c in review.suspects if c.entry}
    mis = {m.entry.serial for m in review.mismatches}
    out: dict[str, Tally] = {}
    for e in review.entries:
        counts = _counts(e, sus, mis)
        for i, name in enumerate(dict.fromkeys(e.team.inspectors)):
            t = out.setdefault(name, Tally(name))
            _add(t, counts)
            if i == 0:
                t.as_leader += 1
            else:
                t.as_member += 1
    for e in _voided_with_yes(review):
        for name in dict.fromkeys(e.team.inspectors):
            _add_voided_yes(out.setdefault(name, Tally(name)), e)
    return sorted(out.values(), key=lambda t: (-t.violations, -t.flagged, -t.inspections, t.name))


def flag_counts(review: Review) -> Counter[ReviewFlag]:
    return Counter(f for e in review.entries for f in e.flags)


# ---- JSON ----------------------------------------------------------------------------------------


def _iso(v: date | datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


def entry_dict(e: Entry) -> dict[str, Any]:
    return {
        "serial": e.serial, "enterprise": e.enterprise, "uscc": e.uscc, "county": e.county, "kind": e.kind,
        "start": _iso(e.start), "end": _iso(e.end), "leader": e.team.leader, "members": list(e.team.members),
        "experts": list(e.team.experts), "visit_total": e.visit_total, "visit_kind": e.visit_kind,
        "card": str(e.card), "due": _iso(e.due), "card_received_at": _iso(e.card_received_at),
        "card_version": e.card_version, "read_by": str(e.read_by) if e.read_by else None,
        "answers": {str(i): e.answers.get(i) for i in QUESTION_NUMBERS},
        "flags": [str(f) for f in e.flags], "cross_reason": e.cross_reason or None,
        "register_note": e.register_note or None,
        "documents": [{"form_type": d.form_type, "archival_code": d.archival_code, "path": d.rel_path}
                      for d in e.documents],
    }


def review_dict(r: Review) -> dict[str, Any]:
    """The whole review as JSON-ready data with stable English keys (``ruqi review --json``)."""
    return {
        "bureau": r.bureau, "date_from": _iso(r.date_from), "date_to": _iso(r.date_to), "county": r.county,
        "today": _iso(r.today), "late_days": r.late_days,
        "entries": [entry_dict(e) for e in r.entries],
        "violations": [{"serial": v.entry.serial, "questions": list(v.questions), "withdrawn": list(v.withdrawn)}
                       for v in r.violations],
        "cards": [{"serial": c.entry.serial, "state": str(c.state), "days_late": c.days_late} for c in r.cards],
        "over_cap": [{"serial": o.entry.serial, "cap": o.cap, "rule": o.rule, "approved": o.approved,
                      "reason": o.reason} for o in r.over_cap],
        "suspects": [{"serial": c.serial, "enterprise": c.enterprise, "reasons": [str(x) for x in c.reasons],
                      "received_at": _iso(c.received_at), "matched": c.entry is not None,
                      "archival_code": c.document.archival_code if c.document else None} for c in r.suspects],
        "qr_missing": [{"serial": c.serial, "enterprise": c.enterprise, "reasons": [str(x) for x in c.reasons],
                        "received_at": _iso(c.received_at), "matched": c.entry is not None,
                        "archival_code": c.document.archival_code if c.document else None} for c in r.qr_missing],
        "mismatches": [{"serial": m.entry.serial, "register": [m.entry.visit_total, m.entry.visit_kind],
                        "stated": [m.stated_total, m.stated_kind], "by_date": [m.expected_total, m.expected_kind],
                        "explanation": m.explanation} for m in r.mismatches],
        "voided": [entry_dict(x.entry) | {"voided_at": _iso(x.voided_at), "voided_by": x.voided_by,
                                          "reason": x.reason} for x in r.voided],
        "readers": [{"serial": c.entry.serial, "read_by": str(c.read_by), "days_waiting": c.days_waiting,
                     "people": list(c.people)} for c in r.readers],
        "corrections": [{"serial": c.serial or None, "question": c.question, "before": c.before, "after": c.after,
                         "by": c.by, "at": _iso(c.at), "reason": c.reason, "archival_code": c.archival_code}
                        for c in r.corrections],
        "by_county": [_tally_dict(t) for t in r.by_county],
        "by_inspector": [_tally_dict(t) for t in r.by_inspector],
        "notes": list(r.notes),
    }


def _tally_dict(t: Tally) -> dict[str, Any]:
    return {k: getattr(t, k) for k in t.__slots__}  # type: ignore[attr-defined]
