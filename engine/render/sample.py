"""Realistic sample inspections and contexts.

Used where a context is needed without a workspace: the template linter resolves variable
names against a sample context, the benchmark renders N of them, and tests use them as
their "typical inspection".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from ..forms import FORMS, INSPECTION_KINDS
from ..forms.context import build_context
from ..identifiers import make_uscc
from ..inspection import Inspection
from ..workspace import Config, Contacts

SAMPLE_KEY = b"ruqi-sample-key-not-for-production"

_NAMES = ("晋华化工", "云冈煤业", "同煤机械", "平城冶金", "塞北建材", "御河食品", "恒安物流", "北岳矿业", "大同燃气", "雁门纺织")
_COUNTIES = (("平城区", "140213"), ("云冈区", "140214"), ("云州区", "140215"), ("新荣区", "140212"), ("左云县", "140226"))
_KINDS = INSPECTION_KINDS
_PEOPLE = ("王建国", "李红梅", "张伟", "刘志强", "陈晓东", "赵丽", "孙海涛", "周敏", "吴刚", "郑春燕")


def sample_config() -> Config:
    """A 市 bureau as ``ruqi init`` would create it."""
    return Config(
        name="大同市应急管理局",
        level="市",
        division_code="140200",
        report_phone="0352-12350",
        report_email="jubao@dtyjj.gov.cn",
        contacts={
            "省": Contacts("zfjd@yjt.shanxi.gov.cn", "0351-4000001", "jw@yjt.shanxi.gov.cn", "0351-4000002"),
            "市": Contacts("zfjd@dtyjj.gov.cn", "0352-5000001", "jw@dtyjj.gov.cn", "0352-5000002"),
            "县": Contacts("zfjd-xian@dtyjj.gov.cn", "0352-6000001", "jw-xian@dtyjj.gov.cn", "0352-6000002"),
        },
    )


def sample_inspection(i: int = 0, enterprise: str | None = None) -> Inspection:
    """The i-th of a family of distinct, plausible inspections (serial 140200-2025-000i+1)."""
    county, code = _COUNTIES[i % len(_COUNTIES)]
    start = date(2025, 3, 3) + timedelta(days=(i * 3) % 250)
    members = [_PEOPLE[(i + k) % len(_PEOPLE)] for k in (1, 2)]
    return Inspection(
        enterprise=enterprise or f"大同市{county}{_NAMES[i % len(_NAMES)]}有限公司{'' if i < 10 else f'第{i}分公司'}",
        uscc=make_uscc(f"9114{code[2:]}MA0K{i % 10000:04d}X"),
        county=county,
        county_code=code,
        industry="危险化学品",
        grade="二级",
        kind=_KINDS[i % 3],
        basis="《大同市应急管理局2025年度安全生产监督检查计划》",
        start=start,
        end=start + timedelta(days=1 + i % 3),
        leader=_PEOPLE[i % len(_PEOPLE)],
        members=members,
        experts=["钱立新"] if i % 2 == 0 else [],
        joint_units="大同市消防救援支队" if i % 4 == 0 else "",
        content="安全生产责任制落实、重大危险源管控、动火作业审批及特殊作业安全管理情况",
        serial=f"140200-2025-{i + 1:04d}",
        visit_total=1 + i % 4,
        visit_kind=1 + i % 2,
        issue_date=start - timedelta(days=2),
    )


def sample_context(i: int = 0, enterprise: str | None = None) -> dict[str, Any]:
    return build_context(sample_inspection(i, enterprise), sample_config(), SAMPLE_KEY)


TEXTS_PLACEHOLDER = "〔[texts] 的文字〕"  # what the template check prints for a clerk's [texts] line


def lint_context() -> dict[str, Any]:
    """The sample with one clerk's line ([texts]) on every form, so the template check sees where
    each version prints them."""
    cfg = replace(sample_config(), texts={key: (TEXTS_PLACEHOLDER,) for key in FORMS})
    return build_context(sample_inspection(0), cfg, SAMPLE_KEY)
