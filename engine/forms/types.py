"""What an archived document is (文种): the archive's ``form_type``, with its Chinese labels.

The three forms of ``definitions`` are filed as ``notice``, ``notice_board`` and, for the card,
``card_generated`` (the blank the bureau issued) or ``card_returned`` (what the enterprise sent
back); the statistics tables, the plan and the review export are filed beside them.  The values
are stored in every workspace's archive index and journal: never change one.
"""

from __future__ import annotations

from enum import StrEnum

from .definitions import FormKey


class FormType(StrEnum):
    NOTICE = "notice"
    NOTICE_BOARD = "notice_board"
    CARD_GENERATED = "card_generated"
    CARD_RETURNED = "card_returned"
    CARD_SCAN = "card_scan"  # a scan holding several returned cards, filed once; each card is a card_returned of its own
    STATS_BLANK = "stats_blank"
    STATS_TABLE = "stats_table"
    STATS_REPORT = "stats_report"
    PLAN = "plan"
    REVIEW_EXPORT = "review_export"
    OTHER = "other"  # also a returned card whose serial matches no inspection (no inspection folder)

    @property
    def zh(self) -> str:
        """The full label, also the archived file's name: ``入企检查监督反馈卡（交回）``."""
        return _ZH[self][0]

    @property
    def short(self) -> str:
        """The label in narrow table columns: ``反馈卡（交回）``."""
        return _ZH[self][1]

    @classmethod
    def generated(cls, key: FormKey | str) -> FormType:
        """How a form the engine fills is filed: the card as ``card_generated``, the others under their key."""
        return cls.CARD_GENERATED if key == FormKey.CARD else cls(str(key))

    @classmethod
    def label(cls, value: str, *, short: bool = False) -> str:
        """The label of a stored value, the value itself when a newer version wrote it."""
        try:
            t = cls(value)
        except ValueError:
            return value
        return t.short if short else t.zh


_ZH: dict[FormType, tuple[str, str]] = {
    FormType.NOTICE: (FormKey.NOTICE.zh, "通知书"),
    FormType.NOTICE_BOARD: (FormKey.NOTICE_BOARD.zh, "公示"),
    FormType.CARD_GENERATED: (f"{FormKey.CARD.zh}（空白）", "反馈卡（空白）"),
    FormType.CARD_RETURNED: (f"{FormKey.CARD.zh}（交回）", "反馈卡（交回）"),
    FormType.CARD_SCAN: (f"{FormKey.CARD.zh}（多张扫描原件）", "反馈卡（多张扫描）"),
    FormType.STATS_BLANK: ("统计表（下发）", "统计表（下发）"),
    FormType.STATS_TABLE: ("统计表", "统计表"),
    FormType.STATS_REPORT: ("统计报告", "统计报告"),
    FormType.PLAN: ("检查计划", "检查计划"),
    FormType.REVIEW_EXPORT: ("审查导出", "审查导出"),
    FormType.OTHER: ("其他文件", "其他"),
}

# Filed in the inspection's folder (they need its serial), in the order a reviewer reads them.
PER_INSPECTION: tuple[FormType, ...] = (
    FormType.NOTICE, FormType.NOTICE_BOARD, FormType.CARD_GENERATED, FormType.CARD_RETURNED)
# The forms the engine fills for an inspection: never a return, whoever drops a copy into the inbox.
GENERATED_FORMS: tuple[FormType, ...] = (FormType.NOTICE, FormType.NOTICE_BOARD, FormType.CARD_GENERATED)
