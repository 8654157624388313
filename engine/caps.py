"""Annual caps on inspections per enterprise (seed 001 §四; seed 004 for 标杆企业).

``cap_for`` answers "how many visits of this kind may this enterprise receive this year, and
by which rule"; ``check_cap`` compares with the register's count.  ``None`` means no cap
(调查核查: 根据需要开展).
"""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Finding, error, warning
from .forms import InspectionKind

INDUSTRIES: tuple[str, ...] = ("煤矿", "非煤矿山", "危险化学品", "金属冶炼", "非高危行业")
LETTER_GRADES: tuple[str, ...] = ("A", "B", "C", "D")
STANDARD_GRADES: tuple[str, ...] = ("一级", "二级", "三级", "未定级")
ALL_GRADES: tuple[str, ...] = LETTER_GRADES + STANDARD_GRADES

# (industry, grade) → (cap, how the seed names the grade)
_ENFORCEMENT_CAPS: dict[str, dict[str, tuple[int, str]]] = {
    "煤矿": {"A": (2, "A类（安全保障程度较高）"), "B": (4, "B类（一般）"), "C": (6, "C类（较低）"),
             "D": (4, "D类（长期停工停产）")},
    "非煤矿山": {"A": (1, "A类（低风险）"), "B": (1, "B类（一般风险）"), "C": (2, "C类（较大风险）"),
                 "D": (4, "D类（重大风险）")},
    "危险化学品": {"一级": (2, "标准化一级"), "二级": (4, "标准化二级"), "三级": (8, "标准化三级"),
                   "未定级": (12, "未定级")},
    "金属冶炼": {"一级": (2, "标准化一级"), "二级": (4, "标准化二级"), "三级": (8, "标准化三级"),
                 "未定级": (12, "未定级")},
    "非高危行业": {"一级": (1, "标准化一级"), "二级": (2, "标准化二级"), "三级": (4, "标准化三级"),
                   "未定级": (6, "未定级")},
}
SUPERVISION_CAP = 3


class CapCode:
    OVER_CAP = "OVER_CAP"
    OVER_CAP_APPROVED = "OVER_CAP_APPROVED"  # a warning: over the cap, approved by row with --allow-over-cap
    BAD_GRADE = "GRADE_INVALID"


@dataclass(frozen=True, slots=True)
class Cap:
    limit: int | None
    rule: str  # Chinese, quoted in refusals and on the register


def grades_for(industry: str) -> tuple[str, ...]:
    return LETTER_GRADES if industry in ("煤矿", "非煤矿山") else STANDARD_GRADES


def cap_for(industry: str, grade: str, kind: str, *, benchmark: bool = False, key_supervision: bool = False) -> Cap:
    if kind == InspectionKind.INVESTIGATION:
        return Cap(None, "调查核实：根据需要开展，不限次数")
    if kind == InspectionKind.SUPERVISION:
        return Cap(SUPERVISION_CAP, "督导检查：每年每企累计不超过3次")
    if benchmark:
        # Seed 004: from the year after selection, ≤1 if on the key-supervision list, none otherwise.
        if key_supervision:
            return Cap(1, "标杆企业（纳入重点监管名单）：原则上安全执法检查不超过1次")
        return Cap(0, "标杆企业（非重点监管单位）：不安排安全执法检查")
    limit, label = _ENFORCEMENT_CAPS[industry][grade]
    return Cap(limit, f"执法检查：{industry}{label}企业每年累计不超过{limit}次")


def cap_exceeded(
    industry: str, grade: str, kind: str, done: int, *, benchmark: bool = False, key_supervision: bool = False,
) -> Cap | None:
    """The cap one more visit would exceed (``done`` is the count so far this year), else None."""
    cap = cap_for(industry, grade, kind, benchmark=benchmark, key_supervision=key_supervision)
    if cap.limit is None or done + 1 <= cap.limit:
        return None
    return cap


def check_cap(
    industry: str, grade: str, kind: str, done: int, *, benchmark: bool = False, key_supervision: bool = False,
    where: str = "", row: int | None = None,
) -> Finding | None:
    """A finding when one more visit would exceed the cap; ``done`` is the count so far this year."""
    cap = cap_exceeded(industry, grade, kind, done, benchmark=benchmark, key_supervision=key_supervision)
    if cap is None:
        return None
    how = f"--allow-over-cap {row}" if row is not None else "--allow-over-cap 行号"
    return error(
        CapCode.OVER_CAP,
        f"超过年度入企次数上限：{cap.rule}；本年度已{kind}{done}次，本次将是第{done + 1}次。"
        f"确需检查的，请经批准后使用 {how} --reason 说明理由，该情况将列入纪委审查清单。",
        where,
    )


def approved_over_cap(cap: Cap, kind: str, done: int, reason: str, where: str = "") -> Finding:
    """What an approved over-cap row prints instead of the refusal."""
    return warning(
        CapCode.OVER_CAP_APPROVED,
        f"超过年度入企次数上限，已批准：{cap.rule}；本年度已{kind}{done}次，本次为第{done + 1}次。"
        f"批准理由：{reason}。该检查将列入纪委审查清单。",
        where,
    )
