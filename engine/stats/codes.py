"""Stable finding codes of the statistics tables (附件1–4).

Codes are for programs and tests; the Chinese message beside each finding is for the clerk.
Never rename a code once it has shipped: rejected-file reasons and audit entries quote them.
"""

from __future__ import annotations

from enum import StrEnum


class StatsCode(StrEnum):
    # the file as a whole
    UNREADABLE = "STATS_UNREADABLE"
    TOO_LARGE = "STATS_TOO_LARGE"
    NOT_STATS = "STATS_NOT_A_TABLE"
    MISSING_COLUMN = "STATS_MISSING_COLUMN"
    PERIOD_UNKNOWN = "STATS_PERIOD_UNKNOWN"  # warning: the period was inferred
    PERIOD_MISMATCH = "STATS_PERIOD_MISMATCH"  # warning: header quarter differs from the metadata
    META_FOREIGN = "STATS_META_FOREIGN"  # warning: metadata not signed by this workspace
    EXTRA_SHEET = "STATS_EXTRA_SHEET"  # warning: another sheet holds another table
    NO_ROWS = "STATS_NO_ROWS"
    # units
    UNIT_MISSING = "STATS_UNIT_MISSING"
    UNKNOWN_UNIT = "STATS_UNKNOWN_UNIT"
    UNIT_MISMATCH = "STATS_UNIT_MISMATCH"
    DUPLICATE_UNIT = "STATS_DUPLICATE_UNIT"
    # cells
    BLANK = "STATS_BLANK"
    NOT_NUMBER = "STATS_NOT_NUMBER"
    NOT_WHOLE = "STATS_NOT_WHOLE"
    NEGATIVE = "STATS_NEGATIVE"
    DASH_AS_ZERO = "STATS_DASH_AS_ZERO"  # warning
    CHOICE_INVALID = "STATS_CHOICE_INVALID"
    PHONE_INVALID = "STATS_PHONE_INVALID"  # warning
    # consistency between cells
    ACTUAL_ABOVE_EXPECTED = "STATS_ACTUAL_ABOVE_EXPECTED"  # warning: 实际 > 应
    REPORTED_ABOVE_REGISTERED = "STATS_REPORTED_ABOVE_REGISTERED"  # 上报企业数 > 应注册企业数
    HAZARDS_WITHOUT_REPORTER = "STATS_HAZARDS_WITHOUT_REPORTER"  # 隐患条数 > 0, 上报企业数 = 0
    TOTAL_MISMATCH = "STATS_TOTAL_MISMATCH"
    TOTAL_UNCHECKED = "STATS_TOTAL_UNCHECKED"  # warning: a formula total without a stored value
    # accepting
    NOT_ACCEPTABLE = "STATS_NOT_ACCEPTABLE"  # accept() called with a submission that has errors
