"""Flags as a clerk reads them: the one table the CLI and the web pages print from."""

from __future__ import annotations

from .inbox.codes import Flag
from .stats.aggregate import PARTIAL_FLAG
from .stats.codes import label_zh as stats_label_zh

# Every card flag (``Flag``) has its label here; "REVISED" and "VIOLATION_WITHDRAWN" are what a revised card's
# outcome carries, PARTIAL_FLAG what a summary filed before every unit reported carries.
FLAG_ZH = {Flag.VIOLATION: "反馈“是”", Flag.LATE: "逾期", Flag.EARLY: "提前交回", Flag.SUSPECT: "可疑",
           Flag.QR_MISSING: "无可核验二维码", Flag.NEEDS_REVIEW: "待核对",
           "REVISED": "新版本", "VIOLATION_WITHDRAWN": "曾反馈“是”", PARTIAL_FLAG: "不完整的汇总"}


def flag_zh(flag: str) -> str:
    """A flag as a clerk reads it: cards' flags here, statistics tables' from their own code list."""
    return FLAG_ZH.get(flag) or stats_label_zh(flag) or flag
