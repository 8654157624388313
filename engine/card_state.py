"""The state of an inspection's feedback card, with its Chinese label.

The register stores one of ``STORED`` in ``visits.card_status`` (the inbox keeps it up to date
from the archive); the review derives the others from the stored state, the dates and the card's
flags.  Stored values are in every workspace's database: never change one.
"""

from __future__ import annotations

from enum import StrEnum


class CardState(StrEnum):
    NONE = "none"  # no card back yet (stored)
    RECEIVED = "received"  # back and read (stored); in the review: back within the deadline
    NEEDS_REVIEW = "needs_review"  # back, but a person must read the answers (stored)
    LATE = "late"  # received after the deadline
    EARLY = "early"  # received before the inspection's last day (inbox flag EARLY)
    MISSING = "missing"  # ended, not received, deadline not passed
    OVERDUE = "overdue"  # not received, deadline passed
    NOT_DUE = "not_due"  # the inspection has not ended yet

    @property
    def zh(self) -> str:
        return CARD_STATE_ZH[self]

    @classmethod
    def stored(cls, received_needs_review: bool) -> CardState:
        """The register's state of a visit with a filed card."""
        return cls.NEEDS_REVIEW if received_needs_review else cls.RECEIVED


CARD_STATE_ZH: dict[CardState, str] = {
    CardState.NONE: "未交回",
    CardState.RECEIVED: "已交回",
    CardState.LATE: "逾期交回",
    CardState.EARLY: "提前交回（检查结束前）",
    CardState.NEEDS_REVIEW: "已交回，待人工核对",
    CardState.MISSING: "未交回（期限内）",
    CardState.OVERDUE: "逾期未交回",
    CardState.NOT_DUE: "检查未结束",
}

# What ``visits.card_status`` may hold.
STORED: tuple[CardState, ...] = (CardState.NONE, CardState.RECEIVED, CardState.NEEDS_REVIEW)
