"""What a returned card says, per question, as data in the register: the answer, how it was decided,
how sure, which archived file, and who recorded it.

Filing (``engine.inbox``) writes one row per question for every returned card, whatever its kind:
a ticked PDF (``field``), a PDF exported from Word (``text``), a scan or photo (``mark``).  A
person's reading (``ruqi confirm``, ``engine.confirm``) adds rows (``person``), never changes one:
the latest row of a question is what the card says now, the earlier ones are its history.  The
archived file and its index row stay exactly as filed.

A card whose serial could not be read is tied to its inspection by a person: ``CardTie`` (the
archive index row is written once and never updated, so the tie lives here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Float, Integer, String, Text, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, partial_index
from .forms import ANSWER_OPTIONS, QUESTION_NUMBERS
from .readback.common import (
    FIELD_VALUES,
    NOT_READ,
    REVIEW_BELOW,
    TEXT_EXTRACTED,
    YES,
    CardReading,
    Decided,
    Decision,
    decided_by_method,
)

QUESTIONS = QUESTION_NUMBERS


class QuestionReading(Base):
    """One question of one archived card as read once (by a reader at filing, or by a person)."""

    __tablename__ = "card_readings"
    # migration 11: the corrections (a person's change of an answer already read) are few among every reading
    __table_args__ = (partial_index("ix_card_readings_corrected", "item_id", where="reason <> ''"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)  # archive_items.id of the returned card
    question: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(String(2), nullable=True)  # 是 / 否 / None (unresolved)
    how: Mapped[str] = mapped_column(String(10))  # engine.readback.common.Decided
    confidence: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(100), default="")
    actor: Mapped[str] = mapped_column(String(100), default="")
    at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(Text, default="")  # a person's correction of an answer already read

    def decision(self) -> Decision:
        return Decision(self.answer, Decided(self.how), float(self.confidence), self.note or "")


class CardTie(Base):
    """A card filed without a readable serial, tied to its inspection by a person."""

    __tablename__ = "card_ties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, unique=True, index=True)
    serial: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime)


class CardNow(Base):
    """What one archived card says now, kept beside its readings so a list never folds them all: the
    questions still open (``"3,7"``; ``""`` when none) and who read it.  ``record`` rewrites it with
    every reading (migration 11 filled it for cards filed before); a card without a row here has no
    readings at all and is judged from its archive record (``from_filed``)."""

    __tablename__ = "card_now"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    unresolved: Mapped[str] = mapped_column(String(30), index=True)
    read_by: Mapped[str] = mapped_column(String(10))


class ReadBy(StrEnum):
    """Who read the card that counts (the register's ``Visit.card_read_by``)."""

    MACHINE = "machine"  # every answer read by the engine with confidence
    PERSON = "person"  # at least one answer recorded by a person, none left open
    WAITING = "waiting"  # at least one question a person still has to read

    @property
    def zh(self) -> str:
        return READ_BY_ZH[self]


READ_BY_ZH: dict[ReadBy, str] = {ReadBy.MACHINE: "机器识读", ReadBy.PERSON: "人工录入", ReadBy.WAITING: "待人工核对"}


@dataclass(slots=True)
class CardAnswers:
    """What one archived card says now, and what the reader said when it was filed."""

    item_id: int
    now: dict[int, Decision] = field(default_factory=dict)
    machine: dict[int, Decision] = field(default_factory=dict)  # the reader's decision at filing
    people: tuple[str, ...] = ()  # who recorded answers, in order

    @property
    def unresolved(self) -> list[int]:
        return [i for i in QUESTIONS if not (i in self.now and self.now[i].resolved)]

    @property
    def read_by(self) -> ReadBy:
        if self.unresolved:
            return ReadBy.WAITING
        return ReadBy.PERSON if any(d.how is Decided.PERSON for d in self.now.values()) else ReadBy.MACHINE

    def answers(self) -> dict[int, str | None]:
        """The answers that count: an unresolved question has none (a guess never counts)."""
        open_q = set(self.unresolved)
        return {i: (self.now[i].answer if i not in open_q else None) for i in QUESTIONS}

    def answers_json(self) -> dict[str, str | None]:
        return {str(i): a for i, a in self.answers().items()}

    @property
    def yes(self) -> list[int]:
        return [i for i, a in self.answers().items() if a == YES]


PERSON_CONFIDENCE = 1.0  # a person's reading is what the card says, by definition


def person_decisions(answers: Mapping[int, str]) -> dict[int, Decision]:
    """A person's answers as decisions (``ruqi confirm``, and its audit entries replayed by repair)."""
    return {i: Decision(a, Decided.PERSON, PERSON_CONFIDENCE) for i, a in answers.items()}


def record(s: Session, item_id: int, decisions: Mapping[int, Decision], *, actor: str, at: datetime,
           reason: str = "") -> None:
    for i, d in sorted(decisions.items()):
        s.add(QuestionReading(item_id=item_id, question=i, answer=d.answer, how=str(d.how), confidence=d.confidence,
                              note=d.note[:100], actor=actor, at=at, reason=reason))
    s.flush()
    _keep_now(s, item_id)


def _keep_now(s: Session, item_id: int) -> None:
    """Rewrite the card's ``CardNow`` row from its readings (every reading passes through ``record``)."""
    now = fold(item_id, history(s, [item_id])[item_id])
    s.merge(CardNow(item_id=item_id, unresolved=unresolved_text(now.unresolved), read_by=str(now.read_by)))
    s.flush()


def unresolved_text(questions: Iterable[int]) -> str:
    return ",".join(str(i) for i in questions)


def record_filed(s: Session, item_id: int, reading: CardReading, *, actor: str, at: datetime) -> None:
    """The reader's decision on each of the ten questions of a card just filed."""
    record(s, item_id, {i: reading.decision(i) for i in QUESTIONS}, actor=actor, at=at)


# Lists fold the readings of thousands of cards: plain rows (attribute access like a ``QuestionReading``).
_READING_ROW = select(*QuestionReading.__table__.c)
_DECIDED = {str(d): d for d in Decided}


def history(s: Session, item_ids: Iterable[int]) -> dict[int, list[Any]]:
    """Every reading of these cards, oldest first, as rows with ``QuestionReading``'s attributes."""
    ids = sorted(set(item_ids))
    out: dict[int, list[Any]] = {i: [] for i in ids}
    for k in range(0, len(ids), 500):
        for r in s.execute(_READING_ROW.where(QuestionReading.item_id.in_(ids[k:k + 500])).order_by(QuestionReading.id)):
            out[r.item_id].append(r)
    return out


def fold(item_id: int, rows: Iterable[Any]) -> CardAnswers:
    out = CardAnswers(item_id)
    people: list[str] = []
    for r in rows:
        d = Decision(r.answer, _DECIDED[r.how], float(r.confidence), r.note or "")
        out.now[r.question] = d
        if d.how is Decided.PERSON:
            if r.actor not in people:
                people.append(r.actor)
        elif r.question not in out.machine:
            out.machine[r.question] = d
    out.people = tuple(people)
    return out


def current(s: Session, item_id: int) -> CardAnswers | None:
    """What the card says now; None for an item filed before the register kept readings (none here)."""
    rows = history(s, [item_id])[item_id]
    return fold(item_id, rows) if rows else None


def current_many(s: Session, item_ids: Iterable[int]) -> dict[int, CardAnswers]:
    return {i: fold(i, rows) for i, rows in history(s, item_ids).items() if rows}


# A filed answer whose confidence was not kept: a reader's answer is decided, so at least the threshold.
_FILED_CONFIDENCE = {Decided.FIELD: FIELD_VALUES, Decided.TEXT: TEXT_EXTRACTED, Decided.MARK: REVIEW_BELOW}


def from_filed(item_id: int, extra: Mapping[str, object]) -> CardAnswers:
    """What a card says by the answers its archive record kept (``extra``: answers, read method, a
    scan's marks): for a card whose rows are not in the register (a database rebuilt from the archive
    by ``ruqi archive repair``)."""
    answers = extra.get("answers")
    answers = answers if isinstance(answers, dict) else {}
    marks = extra.get("marks")
    marks = marks if isinstance(marks, dict) else {}
    how = decided_by_method(str(extra.get("read_method", "")))
    out = CardAnswers(item_id)
    for i in QUESTIONS:
        a = answers.get(str(i))
        a = a if a in ANSWER_OPTIONS else None
        mark = marks.get(str(i)) if isinstance(marks.get(str(i)), dict) else {}
        sure = float(mark.get("confidence", _FILED_CONFIDENCE[how])) if a else NOT_READ
        out.now[i] = out.machine[i] = Decision(a, how, sure, str(mark.get("how", "")))
    return out


def tie_of(s: Session, item_id: int) -> CardTie | None:
    return s.scalar(select(CardTie).where(CardTie.item_id == item_id))


def ties(s: Session, serials: Iterable[str] | None = None) -> dict[int, str]:
    """item id → the serial a person tied it to (of these serials, or all)."""
    q = select(CardTie.item_id, CardTie.serial)
    if serials is not None:
        q = q.where(CardTie.serial.in_(list(serials)))
    return {i: serial for i, serial in s.execute(q).all()}


def tie(s: Session, item_id: int, serial: str, *, actor: str, at: datetime) -> None:
    s.add(CardTie(item_id=item_id, serial=serial, actor=actor, at=at))
    s.flush()


@dataclass(frozen=True, slots=True)
class Changed:
    """One answer a person changed after it had been read (``ruqi confirm --correct``)."""

    item_id: int
    question: int
    before: str | None
    after: str | None
    by: str
    at: datetime
    reason: str


def corrections(s: Session) -> list[Changed]:
    """Every correction of an answer already read, oldest first (for the 纪委 review)."""
    # Written out (not a bound parameter) so that the partial index ix_card_readings_corrected serves it.
    ids = s.scalars(select(QuestionReading.item_id).where(text("card_readings.reason <> ''")).distinct()).all()
    out: list[Changed] = []
    for item_id, rows in history(s, ids).items():
        now: dict[int, str | None] = {}
        for r in rows:
            if r.reason:
                out.append(Changed(item_id, r.question, now.get(r.question), r.answer, r.actor, r.at, r.reason))
            now[r.question] = r.answer
    return sorted(out, key=lambda c: (c.at, c.item_id, c.question))
