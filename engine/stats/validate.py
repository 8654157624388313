"""Checking a read submission: values as people type them, units, the table's rules, the 合计 row.

Every check *yields* findings; each names the cell (A1 reference), says what is wrong and what
to do, in Chinese, with a stable ``StatsCode``.  Checking also fills ``Row.values`` with clean
values (``'１２'`` → 12, ``'企业用户'`` → ``企业``) for the aggregate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from ..cells import cell_text as _text
from ..cells import text_findings
from ..findings import Finding, Severity, error, warning
from ..workspace import Config
from .codes import StatsCode
from .model import Row, Submission
from .tables import MANUAL_PARTS, USER_TYPES, ColType, Column, NeedsPositive, NotAbove, TableDef
from .units import Unit, resolve

ZERO_WORDS = ("无", "没有", "零")
DASHES = ("/", "-", "—", "——", "－", "\\", "－－", "--")
_COUNT_SUFFIX = re.compile(r"(人|个|家|条|户|项|名|件)$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


# ---- values ---------------------------------------------------------------------------------


def parse_count(raw: Any) -> tuple[int | None, StatsCode | None]:
    """A count as typed: ``12``, ``12.0``, ``'１２'``, ``'12 家'``, ``'1,234'``, ``'无'``.

    Returns the value (None when unusable) and the problem, if any; ``DASH_AS_ZERO`` comes with
    the value 0 (a warning, not a rejection).
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, StatsCode.BLANK
    if isinstance(raw, bool | date | datetime | time | timedelta):
        return None, StatsCode.NOT_NUMBER
    if isinstance(raw, int):
        return (raw, None) if raw >= 0 else (None, StatsCode.NEGATIVE)
    if isinstance(raw, float):
        return _from_float(raw)
    t = unicodedata.normalize("NFKC", str(raw))
    t = re.sub(r"[\s,，]", "", t)
    if t in ZERO_WORDS:
        return 0, None
    if t in DASHES:
        return 0, StatsCode.DASH_AS_ZERO
    t = _COUNT_SUFFIX.sub("", t)
    if not _NUMBER.match(t):
        return None, StatsCode.NOT_NUMBER
    return _from_float(float(t)) if "." in t else _from_int(int(t))


def _from_float(v: float) -> tuple[int | None, StatsCode | None]:
    if v != v or v in (float("inf"), float("-inf")):
        return None, StatsCode.NOT_NUMBER
    if not v.is_integer():
        return None, StatsCode.NOT_WHOLE
    return _from_int(int(v))


def _from_int(v: int) -> tuple[int | None, StatsCode | None]:
    return (v, None) if v >= 0 else (None, StatsCode.NEGATIVE)


def parse_choice(col: Column, raw: Any) -> str | None:
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw or "")))
    if not t:
        return None
    if col.choices == USER_TYPES:
        if t.startswith(("政务", "执法", "干部", "工作人员")):
            return "政务人员"
        if t.startswith(("企业", "法人")):
            return "企业"
        return None
    if col.choices == MANUAL_PARTS:
        return _manual_part(t)
    return next((c for c in col.choices if unicodedata.normalize("NFKC", c) == t), None)


_CN_DIGITS = "一二三四五六七"
_QUOTES = re.compile(r"[“”\"'‘’]")


def _manual_part(t: str) -> str | None:
    m = re.search(r"第?([一二三四五六七1-7])部分", t) or re.fullmatch(r"([一二三四五六七1-7])", t)
    if m:
        d = m.group(1)
        return MANUAL_PARTS[(_CN_DIGITS.index(d) if d in _CN_DIGITS else int(d) - 1)]
    bare = _QUOTES.sub("", t)
    for part in MANUAL_PARTS:
        if _QUOTES.sub("", unicodedata.normalize("NFKC", part.split("：", 1)[1])) in bare:
            return part
    return None


_PHONE_SPLIT = re.compile(r"[、/,，;；]|或")
_EXTENSION = re.compile(r"(转|分机|ext\.?|EXT\.?)\s*\d+$")


def phone_problem(raw: Any) -> str | None:
    """Why the phone cell is wrong (Chinese), or None when it is right.

    Right means every number in the cell (several are allowed, 、 / ， ； or 或 between them) is a
    Chinese mobile (11 digits) or a fixed line with its area code (0352-2345678), as
    ``phonenumbers`` (Google's libphonenumber data) validates them: prefixes and lengths per area
    code, not just a count of digits.  An extension (转801) is allowed after a fixed line.
    """
    t = unicodedata.normalize("NFKC", _text(raw)).strip()
    parts = [p.strip() for p in _PHONE_SPLIT.split(t) if p.strip()]
    if not parts:
        return "未填写"
    for part in parts:
        why = _one_phone_problem(part)
        if why:
            return why
    return None


def _one_phone_problem(part: str) -> str | None:
    import phonenumbers  # deferred: its metadata is only needed for tables with phone columns

    number = _EXTENSION.sub("", part).strip()
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return f"“{part}”不是电话号码"
    kind = phonenumbers.PhoneNumberType
    if parsed.country_code == 86 and phonenumbers.is_valid_number(parsed) \
            and phonenumbers.number_type(parsed) in (kind.MOBILE, kind.FIXED_LINE, kind.FIXED_LINE_OR_MOBILE):
        return None
    digits = str(parsed.national_number)
    if digits.startswith("1") and 9 <= len(digits) <= 12 and parsed.country_code == 86:
        return f"手机号应为11位，“{part}”是{len(digits)}位" if len(digits) != 11 else f"“{part}”不是有效的手机号"
    if len(digits) in (7, 8) and not re.sub(r"\D", "", number).startswith("0"):
        return f"座机号“{part}”缺少区号，请写成“0352-2345678”这样"
    return f"“{part}”不是有效的手机号或带区号的座机号"


# ---- the checks -----------------------------------------------------------------------------


def check(sub: Submission, units: Sequence[Unit], config: Config) -> Iterator[Finding]:
    """All checks of a read submission, in sheet order; fills ``Row.values`` and ``Row.unit``."""
    t = sub.table
    if t is None:
        return
    yield from check_units(sub, units, config)
    # A 备注 line under the table speaks for the unit only when the workbook holds one unit.
    note = sub.note if t.per_unit and len(sub.unit_codes()) == 1 else ""
    for row in sub.rows:
        yield from check_cells(t, row)
        if note and row.unit is not None and not row.values.get("remark"):
            row.values["remark"] = note  # the aggregate's 备注 column shows it beside the numbers
        yield from check_rules(t, row)
    if sub.total is not None:
        yield from check_cells(t, sub.total, counts_only=True)
        yield from check_total(t, sub)


def check_units(sub: Submission, units: Sequence[Unit], config: Config) -> Iterator[Finding]:
    t = sub.table
    assert t is not None
    seen: dict[str, Row] = {}
    expected = sub.submitter if sub.meta_trusted else None
    last: Unit | None = None
    for row in sub.rows:
        if row.unit_text:
            row.unit = resolve(row.unit_text, units, config)
            if row.unit is None:
                yield error(StatsCode.UNKNOWN_UNIT,
                            f"单位“{row.unit_text}”不在本次报送范围内（{'、'.join(u.name for u in units)}）。"
                            "请写成上列名称之一，或删除这一行。", row.ref("unit"))
                continue
        else:
            # Multi-row tables: a unit written once above, or in 填报单位, counts for the rows below.
            row.unit = (last if not t.per_unit else None) or sub.submitter
            if row.unit is None:
                yield error(StatsCode.UNIT_MISSING, "这一行有数据但没有写单位。请在“单位”列填写单位名称。",
                            row.ref("unit"))
                continue
        last = row.unit
        if expected is not None and row.unit != expected:
            row_unit = row.unit
            row.unit = None
            yield error(StatsCode.UNIT_MISMATCH,
                        f"这份表是发给{expected.name}的，但这一行写的是{row_unit.name}。"
                        f"请只填写{expected.name}的数据；{row_unit.name}的数据请用发给它的表报送。", row.ref("unit"))
            continue
        if t.per_unit:
            if row.unit.code in seen:
                yield error(StatsCode.DUPLICATE_UNIT,
                            f"{row.unit.name}在第{seen[row.unit.code].line}行已经出现过，每个单位只能填一行。"
                            "请合并为一行后重新报送。", row.ref("unit"))
                row.unit = None
                continue
            seen[row.unit.code] = row


def check_cells(t: TableDef, row: Row, counts_only: bool = False) -> Iterator[Finding]:
    for col in t.columns:
        if col.key not in row.raw or not col.is_input:
            continue
        if counts_only and col.type is not ColType.COUNT:
            continue
        raw = row.raw[col.key]
        if col.type is ColType.COUNT:
            yield from _count_cell(col, row, raw)
        elif col.type is ColType.CHOICE:
            yield from _choice_cell(col, row, raw)
        else:
            value = _text(raw)
            row.values[col.key] = value
            yield from text_findings(raw, row.ref(col.key), col.leaf)
            if col.required and not value:
                yield error(StatsCode.BLANK, f"“{col.leaf}”未填写。请补填。", row.ref(col.key))
            elif col.type is ColType.PHONE and value and (why := phone_problem(raw)):
                yield error(StatsCode.PHONE_INVALID,
                            f"{row.ref(col.key)}（{col.leaf}）填的是“{value}”：{why}。手机号填11位，"
                            "座机号填区号加号码（如 0352-2345678）；请改正后重新报送。", row.ref(col.key))


def _count_cell(col: Column, row: Row, raw: Any) -> Iterator[Finding]:
    value, problem = parse_count(raw)
    row.values[col.key] = value
    shown = _text(raw)
    if problem is None:
        return
    if problem is StatsCode.DASH_AS_ZERO:
        yield warning(problem, f"“{col.leaf}”填的是“{shown}”，按 0 计。如不是 0，请填写实际数字。", row.ref(col.key))
    elif problem is StatsCode.BLANK:
        if not row.is_total:
            yield error(problem, f"“{col.leaf}”未填写。请填写整数，没有请填 0。", row.ref(col.key))
    elif problem is StatsCode.NEGATIVE:
        yield error(problem, f"“{col.leaf}”不能是负数（现为“{shown}”）。请填写不小于 0 的整数。", row.ref(col.key))
    elif problem is StatsCode.NOT_WHOLE:
        yield error(problem, f"“{col.leaf}”应为整数（现为“{shown}”）。请改为整数。", row.ref(col.key))
    else:
        yield error(problem, f"“{col.leaf}”应为数字（现为“{shown}”）。请只填写阿拉伯数字，例如 12。", row.ref(col.key))


def _choice_cell(col: Column, row: Row, raw: Any) -> Iterator[Finding]:
    shown = _text(raw)
    value = parse_choice(col, raw)
    row.values[col.key] = value if value is not None else shown
    if not shown:
        if col.required:
            yield error(StatsCode.BLANK, f"“{col.leaf}”未填写。请从下拉列表中选择。", row.ref(col.key))
    elif value is None:
        yield error(StatsCode.CHOICE_INVALID,
                    f"“{col.leaf}”填的是“{shown}”，应为以下之一：{'、'.join(col.choices)}。请从下拉列表中选择。",
                    row.ref(col.key))


def check_rules(t: TableDef, row: Row) -> Iterator[Finding]:
    v = row.values
    for rule in t.rules:
        if isinstance(rule, NotAbove):
            a, b = v.get(rule.col), v.get(rule.limit)
            if a is None or b is None or a <= b:
                continue
            ca, cb = t.column(rule.col).leaf, t.column(rule.limit).leaf
            who = row.unit.name if row.unit else ""
            why = explanation(row) if rule.severity is Severity.WARNING else ""
            if why:
                yield Finding(StatsCode.EXCESS_EXPLAINED, f"{who}“{ca}”（{a}）大于“{cb}”（{b}），备注已说明：“{why}”。",
                              row.ref(rule.col), Severity.INFO)
            elif rule.severity is Severity.WARNING:
                yield warning(rule.code, f"{who}“{ca}”（{a}）大于“{cb}”（{b}）。请核实：{cb}有误的请改正；"
                              "确实多于应注册数的，请在备注中说明。", row.ref(rule.col))
            else:
                yield error(rule.code, f"{who}“{ca}”（{a}）不能大于“{cb}”（{b}）。请核对后改正。", row.ref(rule.col))
        elif isinstance(rule, NeedsPositive):
            a, b = v.get(rule.col), v.get(rule.other)
            if a and b == 0:
                ca, cb = t.column(rule.col).leaf, t.column(rule.other).leaf
                yield error(rule.code, f"“{ca}”为 {a}，但“{cb}”为 0：有隐患条数就必须有上报企业。"
                            f"请改正“{cb}”或“{ca}”。", row.ref(rule.col))


_NOT_AN_EXPLANATION = {*ZERO_WORDS, *DASHES, "暂无", "无说明", "见说明", "/"}


def explanation(row: Row) -> str:
    """The unit's own words on why its numbers exceed what was expected, or "".

    That is the 备注 cell of the unit's row (the column the blank workbook provides and its
    填报说明 points to), or the ``备注：…`` line under the table of a one-unit workbook (copied into
    the row's 备注 by ``check``).  A dash, 无 and the like are not an explanation.
    """
    text = _text(row.values.get("remark"))
    bare = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    return text if bare and bare not in _NOT_AN_EXPLANATION else ""


def check_total(t: TableDef, sub: Submission) -> Iterator[Finding]:
    total = sub.total
    assert total is not None
    counts = [c for c in t.counts if c.key in total.raw]
    if counts and all(total.values.get(c.key) is None and not _text(total.raw.get(c.key)) for c in counts):
        yield warning(StatsCode.TOTAL_UNCHECKED, "合计行没有数值（可能是未计算的公式），未能核对；汇总时按各行重新计算。",
                      total.ref("unit"))
        return
    rows = [r for r in sub.rows if r.unit is not None]
    for c in counts:
        given = total.values.get(c.key)
        parts = [r.values.get(c.key) for r in rows]
        if given is None or any(p is None for p in parts):
            continue  # an unreadable cell was reported already
        expect = sum(p for p in parts if p is not None)
        if given != expect:
            yield error(StatsCode.TOTAL_MISMATCH,
                        f"合计行“{c.leaf}”为 {given}，但各单位之和为 {expect}。请改正合计（或删除合计行，汇总时会重新计算）。",
                        total.ref(c.key))
