"""The review's vocabulary and its per-inspection records: flags, card states, suspect reasons,
and the ``Entry``/``Document`` values that ``collect`` builds and ``sources`` fills.

Plain values only (no database, no files), so ``collect`` and ``sources`` both import it and not
each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from ..card_state import CARD_STATE_ZH, CardState
from ..forms import YES
from ..readings import ReadBy

__all__ = ["CARD_STATE_ZH", "FLAG_ZH", "SUSPECT_ZH", "YES", "CardState", "Document", "Entry", "ReviewFlag",
           "SuspectReason", "Team"]


class ReviewFlag(StrEnum):
    """Why an inspection is on the review list (stable codes; the Chinese label is ``FLAG_ZH``)."""

    VIOLATION = "VIOLATION"  # 是 on the returned card
    CARD_MISSING = "CARD_MISSING"  # ended, no card yet, still within the deadline
    CARD_OVERDUE = "CARD_OVERDUE"  # no card and the deadline has passed
    CARD_LATE = "CARD_LATE"  # the card came back after the deadline
    CARD_EARLY = "CARD_EARLY"  # the card came back before the inspection's last day: signed in advance?
    CARD_UNREAD = "CARD_NEEDS_REVIEW"  # the card came back but its answers need a person (scan, unclear marks)
    OVER_CAP = "OVER_CAP"  # beyond the annual cap (approved override or not)
    SUSPECT = "SUSPECT"  # a card for this inspection failed a check (QR signature, enterprise)
    QR_MISSING = "QR_MISSING"  # a card for this inspection has no verifiable QR: only its printed serial ties it here
    VISIT_MISMATCH = "VISIT_NUMBER_MISMATCH"  # the card states other visit numbers than the register
    CROSS_COUNTY = "CROSS_COUNTY"  # a 县 bureau's visit to an enterprise of another county, with the approved reason
    SYNC_OVER_CAP = "REGISTER_SYNC_OVER_CAP"  # recorded --offline or before joining; over the cap once pushed
    ANSWER_CORRECTED = "ANSWER_CORRECTED"  # a person changed an answer already read (ruqi confirm --correct)
    VOIDED = "VOIDED"  # voided with `ruqi void` (only on Review.voided, never on a counted entry)

    @property
    def zh(self) -> str:
        return FLAG_ZH[self]


FLAG_ZH: dict[ReviewFlag, str] = {
    ReviewFlag.VIOLATION: "反馈“是”",
    ReviewFlag.CARD_MISSING: "反馈卡未交回",
    ReviewFlag.CARD_OVERDUE: "反馈卡逾期未交回",
    ReviewFlag.CARD_LATE: "反馈卡逾期交回",
    ReviewFlag.CARD_EARLY: "反馈卡提前交回",
    ReviewFlag.CARD_UNREAD: "反馈卡待人工核对",
    ReviewFlag.OVER_CAP: "超年度次数上限",
    ReviewFlag.SUSPECT: "可疑反馈卡",
    ReviewFlag.QR_MISSING: "反馈卡无可核验二维码",
    ReviewFlag.VISIT_MISMATCH: "检查次数与台账不符",
    ReviewFlag.CROSS_COUNTY: "跨县区检查",
    ReviewFlag.SYNC_OVER_CAP: "补报共享台账时超上限",
    ReviewFlag.ANSWER_CORRECTED: "反馈卡答案经人工更正",
    ReviewFlag.VOIDED: "已作废",
}


class SuspectReason(StrEnum):
    SERIAL_UNKNOWN = "SERIAL_UNKNOWN"  # no inspection with this serial (or none readable)
    QR_INVALID = "QR_INVALID"  # the QR signature does not verify
    SERIAL_MISMATCH = "SERIAL_MISMATCH"  # the QR and the printed serial differ
    ENTERPRISE_MISMATCH = "ENTERPRISE_MISMATCH"  # the card names another enterprise than the register
    DATES_MISMATCH = "DATES_MISMATCH"  # no verifiable QR, and the printed 检查日期 are not the register's
    UNCONFIRMED = "IDENTITY_UNCONFIRMED"  # no verifiable QR, and no readable enterprise or dates to check
    OTHER = "SUSPECT_OTHER"  # flagged SUSPECT by the inbox without a more specific reason


SUSPECT_ZH: dict[SuspectReason, str] = {
    SuspectReason.SERIAL_UNKNOWN: "检查编号不存在",
    SuspectReason.QR_INVALID: "二维码签名无效",
    SuspectReason.SERIAL_MISMATCH: "二维码与印刷编号不一致",
    SuspectReason.ENTERPRISE_MISMATCH: "企业与台账不符",
    SuspectReason.DATES_MISMATCH: "检查日期与台账不符",
    SuspectReason.UNCONFIRMED: "无二维码且读不出企业或日期",
    SuspectReason.OTHER: "可疑",
}


@dataclass(frozen=True, slots=True)
class Team:
    leader: str
    members: tuple[str, ...] = ()
    experts: tuple[str, ...] = ()

    @property
    def inspectors(self) -> tuple[str, ...]:
        """组长 and 成员: the people the card asks about (experts are not inspectors)."""
        return (self.leader, *self.members)

    def label(self) -> str:
        s = f"组长 {self.leader}"
        if self.members:
            s += f"；成员 {'、'.join(self.members)}"
        if self.experts:
            s += f"；专家 {'、'.join(self.experts)}"
        return s


@dataclass(frozen=True, slots=True)
class Document:
    """One archived original of an inspection (or a suspect card)."""

    form_type: str  # notice / notice_board / card_generated / card_returned
    archival_code: str  # 档号
    rel_path: str  # under archive/
    sha256: str
    size: int
    original_name: str = ""
    version: int = 1
    flags: tuple[str, ...] = ()
    received_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)
    item_id: int = 0  # the archive index row


@dataclass(slots=True)
class Entry:
    """One selected inspection with everything the review needs to say about it."""

    serial: str
    enterprise: str
    uscc: str
    county: str
    kind: str
    industry: str
    grade: str
    benchmark: bool  # 标杆企业 (its cap differs, see engine.caps)
    key_supervision: bool
    start: date
    end: date
    issue_date: date
    team: Team
    visit_total: int
    visit_kind: int
    due: date  # last day the card may arrive
    card: CardState
    card_received_at: datetime | None = None
    card_version: int = 0
    answers: dict[int, str | None] = field(default_factory=dict)
    card_flags: tuple[str, ...] = ()
    over_cap: bool = False  # approved with --allow-over-cap
    override_reason: str = ""
    actor: str = ""
    cross_reason: str = ""  # 跨县区事由 of a 县 bureau's visit outside its county
    register_note: str = ""  # what `ruqi register sync` found (over the cap once every bureau counted)
    flags: list[ReviewFlag] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    read_by: ReadBy | None = None  # who read the card that counts (None: no card back)
    read_people: tuple[str, ...] = ()  # who recorded answers of it by hand
    numbers_unread: bool = False
    county_code: str = ""  # the register's division code of ``county``  # a card is back, but the 第N次/第M次 it states could not be checked

    @property
    def yes_questions(self) -> tuple[int, ...]:
        return tuple(sorted(i for i, a in self.answers.items() if a == YES))

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def flag(self, f: ReviewFlag) -> None:
        if f not in self.flags:
            self.flags.append(f)

    def codes(self, form_type: str) -> list[str]:
        return [d.archival_code for d in self.documents if d.form_type == form_type]
