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
    PHONE_INVALID = "STATS_PHONE_INVALID"  # not a mobile (11 digits) nor a fixed line with its area code
    # consistency between cells
    ACTUAL_ABOVE_EXPECTED = "STATS_ACTUAL_ABOVE_EXPECTED"  # warning: 实际 > 应
    EXCESS_EXPLAINED = "STATS_EXCESS_EXPLAINED"  # info: 实际 > 应, and the unit's 备注 says why
    REPORTED_ABOVE_REGISTERED = "STATS_REPORTED_ABOVE_REGISTERED"  # 上报企业数 > 应注册企业数
    HAZARDS_WITHOUT_REPORTER = "STATS_HAZARDS_WITHOUT_REPORTER"  # 隐患条数 > 0, 上报企业数 = 0
    TOTAL_MISMATCH = "STATS_TOTAL_MISMATCH"
    TOTAL_UNCHECKED = "STATS_TOTAL_UNCHECKED"  # warning: a formula total without a stored value
    # accepting
    NOT_ACCEPTABLE = "STATS_NOT_ACCEPTABLE"  # accept() called with a submission that has errors
    # filing the summary
    INCOMPLETE = "STATS_INCOMPLETE"  # units have not reported (or were sent back): filing needs --partial
    BAD_ARGUMENT = "STATS_BAD_ARGUMENT"  # a table number, period, unit or date typed on the command line or a page
    NO_BLANKS = "STATS_NO_BLANKS"  # the blank workbooks of this round were never sent out


# What a clerk reads where a code would otherwise be printed (``stats status``' 提示, ``ingest``'s 标记).
LABEL_ZH: dict[StatsCode, str] = {
    StatsCode.UNREADABLE: "无法读取",
    StatsCode.TOO_LARGE: "文件过大",
    StatsCode.NOT_STATS: "不是统计表",
    StatsCode.MISSING_COLUMN: "缺少列",
    StatsCode.PERIOD_UNKNOWN: "期次为推定",
    StatsCode.PERIOD_MISMATCH: "表头季度与下发期次不符",
    StatsCode.META_FOREIGN: "不是本局下发的空白表",
    StatsCode.EXTRA_SHEET: "另有工作表未读取",
    StatsCode.NO_ROWS: "没有数据",
    StatsCode.UNIT_MISSING: "缺少单位",
    StatsCode.UNKNOWN_UNIT: "单位不在报送范围",
    StatsCode.UNIT_MISMATCH: "单位与下发对象不符",
    StatsCode.DUPLICATE_UNIT: "单位重复",
    StatsCode.BLANK: "未填写",
    StatsCode.NOT_NUMBER: "不是数字",
    StatsCode.NOT_WHOLE: "不是整数",
    StatsCode.NEGATIVE: "负数",
    StatsCode.DASH_AS_ZERO: "“—”按0计",
    StatsCode.CHOICE_INVALID: "选项无效",
    StatsCode.PHONE_INVALID: "电话号码有误",
    StatsCode.ACTUAL_ABOVE_EXPECTED: "实际注册数大于应注册数",
    StatsCode.EXCESS_EXPLAINED: "超出部分已在备注中说明",
    StatsCode.REPORTED_ABOVE_REGISTERED: "上报企业数大于应注册企业数",
    StatsCode.HAZARDS_WITHOUT_REPORTER: "有隐患条数但无上报企业",
    StatsCode.TOTAL_MISMATCH: "合计行与各单位之和不符",
    StatsCode.TOTAL_UNCHECKED: "合计行未核对",
    StatsCode.NOT_ACCEPTABLE: "有错误，未入库",
    StatsCode.INCOMPLETE: "部分单位未报送",
    StatsCode.BAD_ARGUMENT: "命令参数有误",
    StatsCode.NO_BLANKS: "尚未下发空白表",
}


def label_zh(code: str) -> str | None:
    """The Chinese label of a statistics code, or None when ``code`` is not one of ours."""
    try:
        return LABEL_ZH.get(StatsCode(code))
    except ValueError:
        return None


PARTIAL_FLAG = "partial"  # archive flag of a summary filed before every unit had reported
