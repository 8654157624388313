"""Plan workbooks typed the way a clerk types them (shared by the plan, generate and review tests)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from openpyxl import Workbook

from engine.plan import COLUMNS


def _plan(path: Path, rows: list[dict[str, object]], headers: list[str] | None = None, title: str | None = None) -> Path:
    """A plan typed by hand: optional title row above the headers, columns in the given order."""
    headers = headers or [c.header for c in COLUMNS]
    wb = Workbook()
    sh = wb.active
    if title:
        sh.append([title])
    sh.append(headers)
    for r in rows:
        sh.append([r.get(h, "") for h in headers])
    wb.save(path)
    return path


GOOD = {
    "企业名称": "大同市平城区恒泰机械制造有限公司", "统一社会信用代码": "91140200MA0K123454", "所属县区": "平城区",
    "行业类别": "非高危行业", "等级": "二级", "检查类别": "执法检查", "检查依据": "《2025年度监督检查计划》",
    "开始日期": date(2025, 4, 1), "结束日期": date(2025, 4, 2), "组长": "张建国", "成员": "李明，王芳,赵强",
    "专家": "孙伟", "检查内容": "粉尘防爆",
}
