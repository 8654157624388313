"""A person's reading of a returned card (``ruqi confirm``; the web page 待核对 calls the same functions).

- ``waiting_cards``: the cards waiting for a person — questions the machine could not read, with the
  machine's reading and confidence per question, days waiting — and filed images without a readable
  serial, which a person first ties to their inspection; ``waiting_card``: one of them by its archive id.
- ``confirm``: records a person's reading (all ten answers, or some questions), ties a card to its
  inspection (``serial``), or corrects answers already read (``correct`` with a ``reason``).

The archived file and its index row never change: the answers are rows of the register
(``engine.readings``), the register's card columns follow them (``engine.inbox.cards.refresh_visit``),
and each action is one audit entry with who, when, what the machine read and what the person
recorded.  So a confirmed card counts exactly like a ticked PDF (VIOLATION for a 是, LATE, SUSPECT …).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import readings
from .archive import Action, log_action
from .archive.models import ItemRecord
from .db import session
from .findings import Finding, Findings, error
from .identifiers import Serial
from .inbox.cards import (
    RETURNED,
    UNMATCHED,
    effective_flags,
    refresh_visit,
    returned_items,
    says,
    serial_from_ocr,
    serial_pending,
)
from .inbox.codes import Kind
from .readback.common import NO, QUESTION_COUNT, YES, Decision
from .readings import QUESTIONS, CardAnswers, ReadBy
from .register import Visit, by_serial
from .workspace import Workspace


class ConfirmCode(StrEnum):
    SERIAL_UNKNOWN = "CONFIRM_SERIAL_UNKNOWN"  # no inspection with this serial
    CARD_UNKNOWN = "CONFIRM_CARD_UNKNOWN"  # neither a serial nor the 档号 of a returned card
    NO_CARD = "CONFIRM_NO_CARD"  # the inspection exists, no card has come back for it
    ANSWERS_LENGTH = "CONFIRM_ANSWERS_LENGTH"  # --answers is not ten answers
    ANSWER_INVALID = "CONFIRM_ANSWER_INVALID"  # a character other than 是/否
    QUESTION_INVALID = "CONFIRM_QUESTION_INVALID"  # --q not like 3=是
    NOTHING_GIVEN = "CONFIRM_NOTHING_GIVEN"  # neither answers nor a serial to tie
    BY_REQUIRED = "CONFIRM_BY_REQUIRED"  # who read the card must be named
    ALREADY_READ = "CONFIRM_ALREADY_READ"  # the card is read (machine or person): only --correct changes it
    WOULD_OVERWRITE = "CONFIRM_WOULD_OVERWRITE"  # an answer already read differs: only --correct changes it
    REASON_REQUIRED = "CONFIRM_REASON_REQUIRED"  # --correct without --reason
    UNCHANGED = "CONFIRM_UNCHANGED"  # --correct with the answers the card already has
    NEEDS_SERIAL = "CONFIRM_NEEDS_SERIAL"  # a card tied to no inspection: --serial first
    ALREADY_TIED = "CONFIRM_ALREADY_TIED"  # --serial on a card that already belongs to an inspection
    NO_CARD_NAMED = "CONFIRM_NO_CARD_NAMED"  # answers or a serial given without naming the card they are for
    UNANSWERED = "CONFIRM_UNANSWERED"  # the 待核对 page: an open question left without 是/否


def _serial_example() -> str:
    return "如 140200-2025-0001"


# ---- the waiting list ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaitingCard:
    """A filed card a person has to read (or tie to its inspection first)."""

    item_id: int
    archival_code: str  # 档号: how the clerk names a card without a serial
    rel_path: str  # the archived original, under archive/
    original_name: str
    sha256: str
    serial: str  # "" when no serial could be read and none is tied yet
    enterprise: str
    county: str
    received_at: datetime | None
    days_waiting: int
    unresolved: tuple[int, ...]
    machine: dict[int, Decision]  # the reader's decision per question at filing
    now: dict[int, Decision]  # what the card says now (a person may have read some questions)
    flags: tuple[str, ...] = ()
    # The page of the archived file the card is on: a card cut from a multi-card scan is a file of
    # its own (0); a one-card scan may have a blank page before it.
    page: int = 0
    # Filed under the serial read off the print (no QR): a person confirms it first (``--serial``).
    serial_unconfirmed: bool = False

    @property
    def needs_serial(self) -> bool:
        return not self.serial

    def to_json(self) -> dict[str, Any]:
        return {
            "archival_code": self.archival_code, "file": self.rel_path, "original_name": self.original_name,
            "sha256": self.sha256, "serial": self.serial or None, "enterprise": self.enterprise, "county": self.county,
            "received_at": self.received_at.isoformat(timespec="seconds") if self.received_at else None,
            "days_waiting": self.days_waiting, "unresolved": list(self.unresolved), "needs_serial": self.needs_serial,
            "serial_unconfirmed": self.serial_unconfirmed,
            "flags": list(self.flags),
            "questions": {str(i): decision_json(self.machine.get(i), self.now.get(i)) for i in QUESTIONS},
        }


def decision_json(machine: Decision | None, now: Decision | None) -> dict[str, Any]:
    return {"machine": machine.answer if machine else None, "how": str(machine.how) if machine else None,
            "confidence": round(machine.confidence, 3) if machine else None,
            "answer": now.answer if now and now.resolved else None,
            "decided_by": str(now.how) if now and now.resolved else None}


def _is_card(item: ItemRecord) -> bool:
    return item.form_type == RETURNED or (item.form_type == UNMATCHED
                                          and (item.extra or {}).get("kind") == Kind.FEEDBACK_CARD)


def _serial_of(item: ItemRecord, tied: dict[int, str]) -> str:
    return item.serial if item.form_type == RETURNED else tied.get(item.id, "")


def waiting_cards(ws: Workspace, today: date | None = None) -> list[WaitingCard]:
    """The cards waiting for a person, longest waiting first: the latest card of each inspection
    with a question still open, and every filed card image whose serial could not be read.

    Only the cards that may wait are read: returned cards whose ``CardNow`` row has a question open
    (or that have no readings at all), and the few filed as ``UNMATCHED``; a card read in full is
    never opened, so the list costs the same with 100 cards in the archive or 100,000."""
    today = today or date.today()
    with session(ws) as s:
        tied = readings.ties(s)
        items = _may_wait(s)
        serials = {_serial_of(r, tied) for r in items} - {""}
        latest = _latest_card_ids(s, serials, {r.id: tied[r.id] for r in items
                                               if r.form_type == UNMATCHED and r.id in tied})
        candidates = []
        for r in items:
            serial = _serial_of(r, tied)
            if serial and latest.get(serial) == r.id:
                candidates.append(r)
            elif not serial and not (r.extra or {}).get("serial_read"):
                candidates.append(r)  # no serial read at all (a serial read but unknown is a SUSPECT card, not ours)
        said = readings.current_many(s, [r.id for r in candidates])
        visits = {v.serial: v for v in s.scalars(select(Visit).where(Visit.serial.in_(list(serials)))).all()}
        out = []
        for r in candidates:
            now = said.get(r.id) or readings.from_filed(r.id, r.extra or {})
            serial = _serial_of(r, tied)
            pending = serial_from_ocr(r) and r.id not in tied
            if serial and not now.unresolved and not pending:
                continue
            out.append(_waiting(r, serial, now, visits.get(serial), today, pending))
    return sorted(out, key=lambda w: (-w.days_waiting, w.archival_code))


def _may_wait(s: Session) -> list[ItemRecord]:
    """Cards that may be waiting: returned cards with a question open now (``CardNow``), without
    readings, or without a serial, or filed under a serial read off the print that no person has
    confirmed (no ``card_ties`` row); and every card filed UNMATCHED (tied to an inspection or not)."""
    now = readings.CardNow
    unconfirmed = (ItemRecord.extra["serial_from_ocr"].as_boolean().is_(True)
                   & ItemRecord.id.not_in(select(readings.CardTie.item_id)))
    returned = (select(ItemRecord).outerjoin(now, now.item_id == ItemRecord.id)
                .where(ItemRecord.form_type == RETURNED, (now.unresolved != "") | now.item_id.is_(None)
                       | (ItemRecord.serial == "") | unconfirmed))
    unmatched = select(ItemRecord).where(ItemRecord.form_type == UNMATCHED)
    rows = [*s.scalars(returned).all(), *s.scalars(unmatched).all()]
    return sorted((r for r in rows if _is_card(r)), key=lambda r: r.id)


def _latest_card_ids(s: Session, serials: set[str], tied_cards: dict[int, str]) -> dict[str, int]:
    """The archive id of the latest card of each inspection: filed under its serial, or tied to it
    (``tied_cards``: the UNMATCHED cards a person tied, item id → serial)."""
    out: dict[str, int] = {}
    wanted = sorted(serials)
    for k in range(0, len(wanted), 500):
        out |= {serial: int(top) for serial, top in s.execute(select(ItemRecord.serial, func.max(ItemRecord.id))
                              .where(ItemRecord.form_type == RETURNED, ItemRecord.serial.in_(wanted[k:k + 500]))
                              .group_by(ItemRecord.serial))}
    for item_id, serial in tied_cards.items():
        out[serial] = max(out.get(serial, 0), item_id)
    return out


def waiting_card(ws: Workspace, item_id: int, today: date | None = None) -> WaitingCard | None:
    """The card ``item_id`` as ``waiting_cards`` lists it, without listing them all (the web page opens
    one card at a time); None when it is not waiting: read meanwhile, followed by a later card of the
    same inspection, a serial read but unknown, or not a card."""
    today = today or date.today()
    with session(ws) as s:
        r = s.get(ItemRecord, item_id)
        if r is None or not _is_card(r):
            return None
        tied = readings.ties(s)
        serial = _serial_of(r, tied)
        if serial:
            same = [*s.scalars(select(ItemRecord.id).where(ItemRecord.form_type == RETURNED, ItemRecord.serial == serial)),
                    *(i for i, t in tied.items() if t == serial)]
            if max(same, default=r.id) != r.id:
                return None
        elif (r.extra or {}).get("serial_read"):
            return None
        now = readings.current_many(s, [r.id]).get(r.id) or readings.from_filed(r.id, r.extra or {})
        pending = serial_pending(s, r)
        if serial and not now.unresolved and not pending:
            return None
        return _waiting(r, serial, now, by_serial(s, serial) if serial else None, today, pending)


def _waiting(r: ItemRecord, serial: str, now: CardAnswers, v: Visit | None, today: date,
             pending: bool = False) -> WaitingCard:
    extra = r.extra or {}
    received = r.received_at or r.filed_at
    return WaitingCard(
        item_id=r.id, archival_code=r.archival_code, rel_path=r.rel_path, original_name=r.original_name or "",
        sha256=r.sha256, serial=serial, enterprise=v.enterprise if v else str(extra.get("enterprise_read") or ""),
        county=v.county if v else (r.county or ""), received_at=received,
        days_waiting=max((today - received.date()).days, 0) if received else 0, unresolved=tuple(now.unresolved),
        machine=dict(now.machine), now=dict(now.now), flags=tuple(effective_flags(r, now, pending)),
        page=0 if extra.get("source") else int(extra.get("page") or 0), serial_unconfirmed=pending,
    )


# ---- parsing what the person typed ---------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,，、;；]+")


def parse_answers(text: str) -> tuple[dict[int, str], list[Finding]]:
    """``否否是否否否否否否否`` (spaces and commas allowed between) → {1: 否, …}; refusals as findings."""
    chars = _SEPARATORS.sub("", text or "")
    bad = [(k, ch) for k, ch in enumerate(chars, start=1) if ch not in (YES, NO)]
    if bad:
        where = "、".join(f"第{k}个字“{ch}”" for k, ch in bad[:5])
        return {}, [error(ConfirmCode.ANSWER_INVALID, f"--answers 只能由“是”和“否”组成，{where}不是。"
                                                      "请按第1题到第10题的顺序写10个字，例如 否否是否否否否否否否。", "--answers")]
    if len(chars) != QUESTION_COUNT:
        return {}, [error(ConfirmCode.ANSWERS_LENGTH, f"--answers 应为{QUESTION_COUNT}个字（第1题到第10题各一个“是”或“否”），"
                                                      f"现在是{len(chars)}个。例如 否否是否否否否否否否。", "--answers")]
    return {k: ch for k, ch in enumerate(chars, start=1)}, []


_QUESTION_RE = re.compile(r"^\s*(?:第)?\s*(\d{1,2})\s*(?:题)?\s*[=＝:：]\s*([是否])\s*$")


def parse_questions(specs: Sequence[str]) -> tuple[dict[int, str], list[Finding]]:
    """``["3=是", "7=否"]`` → {3: 是, 7: 否}; refusals as findings."""
    out: dict[int, str] = {}
    problems: list[Finding] = []
    for spec in specs:
        m = _QUESTION_RE.match(spec or "")
        n = int(m.group(1)) if m else 0
        if m is None or not 1 <= n <= QUESTION_COUNT:
            problems.append(error(ConfirmCode.QUESTION_INVALID, f"--q “{spec}”看不懂：应写成“题号=是”或“题号=否”，"
                                                                f"题号为1到{QUESTION_COUNT}，例如 --q 3=是。", "--q"))
        elif n in out and out[n] != m.group(2):
            problems.append(error(ConfirmCode.QUESTION_INVALID, f"第{n}题写了两次且不一致（{out[n]}、{m.group(2)}）。", "--q"))
        else:
            out[n] = m.group(2)
    return out, problems


# ---- recording -----------------------------------------------------------------------------------


@dataclass(slots=True)
class ConfirmResult:
    ref: str  # what the person named: a serial or a 档号
    findings: Findings = field(default_factory=Findings)
    serial: str = ""
    archival_code: str = ""
    enterprise: str = ""
    tied: bool = False  # this call tied the card to ``serial``
    recorded: dict[int, str] = field(default_factory=dict)  # the answers this call recorded
    before: dict[int, str | None] = field(default_factory=dict)  # what the card said before
    machine: dict[int, Decision] = field(default_factory=dict)
    after: dict[int, str | None] = field(default_factory=dict)
    read_by: ReadBy | None = None
    unresolved: list[int] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    audit_seq: list[int] = field(default_factory=list)
    serial_unconfirmed: bool = False  # still filed under a serial read off the print, not confirmed

    @property
    def ok(self) -> bool:
        return self.findings.ok

    @property
    def yes(self) -> list[int]:
        return [i for i, a in self.after.items() if a == YES]

    def to_json(self) -> dict[str, Any]:
        return {"ref": self.ref, "ok": self.ok, "serial": self.serial or None, "archival_code": self.archival_code or None,
                "enterprise": self.enterprise or None, "tied": self.tied, "serial_unconfirmed": self.serial_unconfirmed,
                "recorded": {str(k): a for k, a in sorted(self.recorded.items())},
                "before": {str(k): a for k, a in sorted(self.before.items())},
                "answers": {str(k): a for k, a in sorted(self.after.items())},
                "read_by": str(self.read_by) if self.read_by else None, "unresolved": self.unresolved,
                "flags": self.flags, "audit_seq": self.audit_seq, "errors": self.findings.to_list()}


def confirm(ws: Workspace, ref: str, *, answers: str | None = None, questions: Sequence[str] = (), by: str = "",
            correct: bool = False, reason: str = "", serial: str | None = None,
            now: datetime | None = None) -> ConfirmResult:
    """Record a person's reading of the card ``ref`` (a serial, or the 档号 of a card without one).

    Refused with findings, nothing changed, when the input is malformed, the card unknown, an answer
    already read would change without ``correct`` and a ``reason``, or a card without an inspection
    is given answers before it is tied (``serial``)."""
    out = ConfirmResult(ref.strip())
    by, reason = (by or "").strip(), (reason or "").strip()
    given = _given(out, answers, questions, by, correct, reason, serial)
    if not out.ok:
        return out
    with contextlib.suppress(_Refused):  # refused: the transaction rolled back, nothing was recorded
        _apply(ws, out, given, by, correct, reason, (serial or "").strip(), now or datetime.now())
    return out


class _Refused(Exception):
    """Raised inside the transaction once a finding refuses the call, so everything it wrote rolls back."""


def _apply(ws: Workspace, out: ConfirmResult, given: dict[int, str], by: str, correct: bool, reason: str,
           serial: str, when: datetime) -> None:
    with session(ws) as s:
        item = _find(s, out)
        if item is None:
            raise _Refused
        out.archival_code = item.archival_code
        item_serial = _serial_of(item, readings.ties(s, None))
        if serial:
            item_serial = _tie(ws, s, item, item_serial, serial, by, when, out)
        out.serial = item_serial
        visit = by_serial(s, item_serial) if item_serial else None
        out.enterprise = visit.enterprise if visit else str((item.extra or {}).get("enterprise_read") or "")
        current = says(s, item)
        out.machine, out.before = dict(current.machine), current.answers()
        if given and not item_serial and out.ok:
            out.findings.add(error(ConfirmCode.NEEDS_SERIAL, f"档号 {item.archival_code} 的反馈卡读不出检查编号，还没有对应到检查："
                                                             "请先核对卡上的检查编号，加 --serial 检查编号 一并录入。", "--serial"))
        if given and out.ok and not serial and not correct and not current.unresolved and serial_pending(s, item):
            out.findings.add(error(ConfirmCode.NEEDS_SERIAL, f"这张反馈卡的十题已由机器识读（{_answers_zh(current.answers())}），"
                                                             f"待核对的是检查编号：{item_serial} 是机器从卡上印刷的文字识别的，二维码签名未核验。"
                                                             f"请核对原图上印的编号后运行：ruqi confirm {item.archival_code} --serial 检查编号 --by 姓名。",
                                   "--serial"))
        if given and out.ok:
            _record(ws, s, item, current, given, by, correct, reason, when, out)
        if not out.ok:
            raise _Refused
        if visit is not None:
            refresh_visit(s, visit)
        final = says(s, item)
        out.after, out.read_by, out.unresolved = final.answers(), final.read_by, final.unresolved
        out.flags = list(visit.card_flags or []) if visit is not None else effective_flags(item, final)
        out.serial_unconfirmed = serial_pending(s, item)


def _given(out: ConfirmResult, answers: str | None, questions: Sequence[str], by: str, correct: bool, reason: str,
           serial: str | None) -> dict[int, str]:
    """The answers the person gave, checked before anything is looked up."""
    given: dict[int, str] = {}
    if answers is not None:
        given, problems = parse_answers(answers)
        out.findings.extend(problems)
    if questions:
        per_q, problems = parse_questions(questions)
        out.findings.extend(problems)
        clash = [n for n, a in per_q.items() if n in given and given[n] != a]
        if clash:
            out.findings.add(error(ConfirmCode.QUESTION_INVALID, f"--answers 与 --q 对第{'、'.join(map(str, clash))}题"
                                                                 "给出的答案不一致，请只用一种写法。", "--q"))
        given |= per_q
    if not out.ok:
        return {}
    if not given and not (serial or "").strip():
        out.findings.add(error(ConfirmCode.NOTHING_GIVEN, "没有要录入的内容：请用 --answers 写出十题的答案（如 否否是否否否否否否否），"
                                                          "或用 --q 3=是 录入一题，或用 --serial 把卡对应到检查。", "--answers"))
    if not by:
        out.findings.add(error(ConfirmCode.BY_REQUIRED, "请用 --by 写明核对人的姓名（审计日志记录是谁录入的）。", "--by"))
    if correct and not reason:
        out.findings.add(error(ConfirmCode.REASON_REQUIRED, "更正已识读的答案必须用 --reason 写明理由（例如“核对原件，第3题勾的是“是””），"
                                                            "更正列入纪委审查清单。", "--reason"))
    return given


def _find(s: Session, out: ConfirmResult) -> ItemRecord | None:
    """The card ``out.ref`` names: the latest card of an inspection, or a card by its 档号."""
    ref = out.ref
    if Serial.parse(ref) is not None and str(Serial.parse(ref)) == ref:
        if by_serial(s, ref) is None:
            out.findings.add(error(ConfirmCode.SERIAL_UNKNOWN, f"检查编号 {ref} 不在本局检查登记中，请核对编号（{_serial_example()}）。",
                                   "检查编号"))
            return None
        items = returned_items(s, ref)
        if not items:
            out.findings.add(error(ConfirmCode.NO_CARD, f"检查 {ref} 还没有收到反馈卡，没有可核对的内容。", "检查编号"))
            return None
        return items[-1]
    item = s.scalar(select(ItemRecord).where(ItemRecord.archival_code == ref))
    if item is None or not _is_card(item):
        what = "不是交回的反馈卡" if item is not None else "既不是检查编号，也不是档案中的档号"
        out.findings.add(error(ConfirmCode.CARD_UNKNOWN, f"“{ref}”{what}。请写检查编号（{_serial_example()}），"
                                                         "读不出编号的卡写 ruqi confirm 列出的档号。", "检查编号"))
        return None
    return item


def _tie(ws: Workspace, s: Session, item: ItemRecord, item_serial: str, serial: str, by: str, when: datetime,
         out: ConfirmResult) -> str:
    if item_serial:
        pending = serial_pending(s, item)
        if item_serial != serial:
            how = "（编号是机器从印刷文字识别的，尚未核对）" if pending else ""
            out.findings.add(error(ConfirmCode.ALREADY_TIED, f"档号 {item.archival_code} 的反馈卡已对应检查 {item_serial}{how}，"
                                                             f"不能再对应到 {serial}。请再核对原图上印的检查编号；确与 {item_serial} "
                                                             "不符时请交管理员处理。", "--serial"))
            return item_serial
        if not pending:
            return item_serial
    v = by_serial(s, serial)
    if v is None:
        out.findings.add(error(ConfirmCode.SERIAL_UNKNOWN, f"--serial {serial} 不在本局检查登记中，请核对卡上印的检查编号"
                                                           f"（{_serial_example()}）。", "--serial"))
        return ""
    readings.tie(s, item.id, v.serial, actor=by, at=when)
    # A card filed under the serial read off its print: the tie is the person's confirmation of it.
    entry = log_action(ws, Action.TIE, v.serial, actor=by, session=s, details={
        "archival_code": item.archival_code, "file": item.rel_path, "sha256": item.sha256, "by": by,
        "enterprise": v.enterprise, "enterprise_read": (item.extra or {}).get("enterprise_read") or "",
        "serial_read": item.serial if item_serial else ""})
    out.tied = True
    out.audit_seq.append(entry.seq)
    return v.serial


def _record(ws: Workspace, s: Session, item: ItemRecord, current: CardAnswers, given: dict[int, str], by: str,
            correct: bool, reason: str, when: datetime, out: ConfirmResult) -> None:
    read = {i: d for i, d in current.now.items() if i not in current.unresolved}
    if not correct:
        if out.tied and all(i in read and read[i].answer == a for i, a in given.items()):
            return  # the person tied the card and gave the answers the machine read: nothing to record
        if not current.unresolved:
            who = "、".join(current.people) if current.read_by is ReadBy.PERSON else ""
            how = f"已由 {who} 人工录入" if who else "已由机器识读"
            out.findings.add(error(ConfirmCode.ALREADY_READ, f"这张反馈卡{how}（{_answers_zh(current.answers())}），不再等待核对。"
                                                             "确需更改时加 --correct --reason “理由”，更正会列入纪委审查清单。", "检查编号"))
            return
        differ = [i for i, a in sorted(given.items()) if i in read and read[i].answer != a]
        if differ:
            which = "、".join(f"第{i}题已识读为“{read[i].answer}”，现录入“{given[i]}”" for i in differ)
            out.findings.add(error(ConfirmCode.WOULD_OVERWRITE, f"{which}。已识读的答案只能用 --correct --reason “理由”更正"
                                                                "（列入纪委审查清单）；请核对原件。", "--answers"))
            return
    else:
        before = current.answers()
        if all(before.get(i) == a for i, a in given.items()):
            out.findings.add(error(ConfirmCode.UNCHANGED, f"录入的答案与卡上现有的相同（{_answers_zh(before)}），没有需要更正的。",
                                   "--answers"))
            return
    readings.record(s, item.id, readings.person_decisions(given), actor=by, at=when, reason=reason if correct else "")
    out.recorded = dict(given)
    entry = log_action(ws, Action.CORRECT if correct else Action.CONFIRM, out.serial or item.archival_code, actor=by,
                       session=s, details={
                           "archival_code": item.archival_code, "file": item.rel_path, "sha256": item.sha256, "by": by,
                           "machine": {str(i): decision_json(d, None) for i, d in sorted(current.machine.items())},
                           "before": {str(i): a for i, a in current.answers().items()},
                           "recorded": {str(i): a for i, a in sorted(given.items())},
                           "reason": reason if correct else ""})
    out.audit_seq.append(entry.seq)


def _answers_zh(answers: dict[int, str | None]) -> str:
    return "".join(a or "？" for _, a in sorted(answers.items()))
