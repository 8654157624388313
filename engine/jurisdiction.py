"""Jurisdiction: a 县 bureau inspects the enterprises registered in its own county.

A plan row of a 县 bureau naming an enterprise of another county is refused, unless its
``跨县区事由`` column names one of the approved reasons (a cross-county check the city ordered,
or a joint visit); such visits are recorded with the reason and listed for the 纪委.
市 and 省 bureaus inspect across their counties by office.  An enterprise whose county has no
published division code (开发区) cannot be placed, and is not refused.
"""

from __future__ import annotations

from enum import StrEnum

from .findings import Finding, error
from .inspection import Inspection
from .workspace import Config

CROSS_REASONS: tuple[str, ...] = ("异地交叉检查", "联合检查")


class JurisdictionCode(StrEnum):
    OUTSIDE_COUNTY = "OUTSIDE_JURISDICTION"
    REASON_UNKNOWN = "CROSS_REASON_UNKNOWN"


def cross_reason_finding(value: str, where: str) -> Finding | None:
    """A 跨县区事由 cell that is not one of the approved reasons."""
    if not value or value in CROSS_REASONS:
        return None
    return error(JurisdictionCode.REASON_UNKNOWN, f"“跨县区事由”只能填 {'、'.join(CROSS_REASONS)} 之一（或留空），现为“{value}”。",
                 where)


def outside_county(config: Config, insp: Inspection, where: str) -> Finding | None:
    """The refusal of a 县 bureau's row for an enterprise of another county without an approved reason."""
    if config.level != "县" or not insp.county_code or insp.county_code == config.division_code:
        return None
    if insp.cross_reason in CROSS_REASONS:
        return None
    return error(JurisdictionCode.OUTSIDE_COUNTY,
                 f"{insp.enterprise}登记在{insp.county}（{insp.county_code}），不在本局（{config.name}，{config.division_code}）"
                 f"辖区内，县级应急管理部门不能对其他县区的企业入企检查。确属上级安排的异地交叉检查或联合检查的，请在“跨县区事由”列填写"
                 f"{'或'.join(CROSS_REASONS)}；该检查将列入纪委审查清单。", where)
