"""Statistics workbooks made the way a county clerk makes them (openpyxl, no engine code).

``clerk_table2`` builds a unit's *own* 附件2 file in the official layout: a 附件 label, a merged
title, a 填报单位/填报时间 line, two-level merged headers in the column order the clerk chose,
blank and extra rows, a 合计 row, numbers typed as text or in full-width digits, bureau-suffixed
unit names and a signature line at the bottom.  ``fill_blank`` fills one of our blanks the way
Excel would save it (only the input cells change).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from engine.simulate import fill_blank  # noqa: F401  (re-exported for the tests)

T2_TITLE = "“扫码入企”工作推进情况调度统计表"
T2_GROUPS = {"staff": "移动应急APP政务人员注册数", "ent": "移动应急APP企业实名认证注册数"}
T2_LEAVES = {"staff_expected": ("staff", "应注册人数"), "staff_actual": ("staff", "实际注册人数"),
             "ent_expected": ("ent", "应注册企业数"), "ent_actual": ("ent", "实际注册企业数")}
DEFAULT_ORDER = ("unit", "staff_expected", "staff_actual", "ent_expected", "ent_actual", "remark")


def clerk_table2(path: Path, rows: list[dict[str, Any]], *, order: tuple[str, ...] = DEFAULT_ORDER,
                 total: dict[str, Any] | None = None, submitter: str = "大同市应急管理局",
                 filled: Any = "2025年6月17日", blank_rows_between: bool = True, extra_col: str | None = "填报人",
                 merge_groups: bool = True, unit_header: str = "单位") -> Path:
    """A unit's own 附件2.  ``order``: column keys left to right (groups stay adjacent when their
    leaves are adjacent).  ``rows``: dicts keyed like ``order``.  ``total``: a 合计 row as typed."""
    cols = list(order) + ([extra_col] if extra_col else [])
    n = len(cols)
    wb = Workbook()
    sh = wb.active
    sh.title = "Sheet1"
    sh["A1"] = "附件2"
    sh["A2"] = T2_TITLE
    sh.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    sh["A3"] = f"填报单位：{submitter}"
    sh.merge_cells(start_row=3, start_column=1, end_row=3, end_column=3)
    sh.cell(3, n - 1, "填报时间：")
    sh.cell(3, n, filled)
    # headers on rows 4-5
    j = 0
    while j < n:
        key = cols[j]
        col = j + 1
        if key in T2_LEAVES:
            group = T2_LEAVES[key][0]
            end = j
            while end + 1 < n and cols[end + 1] in T2_LEAVES and T2_LEAVES[cols[end + 1]][0] == group:
                end += 1
            sh.cell(4, col, T2_GROUPS[group])
            if merge_groups and end > j:
                sh.merge_cells(start_row=4, start_column=col, end_row=4, end_column=end + 1)
            for k in range(j, end + 1):
                sh.cell(5, k + 1, T2_LEAVES[cols[k]][1])
            j = end + 1
            continue
        sh.cell(4, col, {"unit": unit_header, "remark": "备注"}.get(key, key))
        sh.merge_cells(start_row=4, start_column=col, end_row=5, end_column=col)
        j += 1
    r = 6
    for i, row in enumerate(rows):
        if blank_rows_between and i == 1:
            r += 1  # an empty line the clerk left in
        for k, key in enumerate(cols):
            if key in row:
                sh.cell(r, k + 1, row[key])
        r += 1
    if total is not None:
        sh.cell(r, cols.index("unit") + 1, "合  计")
        for k, key in enumerate(cols):
            if key in total:
                sh.cell(r, k + 1, total[key])
        r += 1
    r += 1
    sh.cell(r, 1, "填表人：张晓燕      联系电话：0352-2345678")
    for k in range(n):
        sh.column_dimensions[get_column_letter(k + 1)].width = 14
    wb.save(path)
    return path


def clerk_table3(path: Path, rows: list[tuple[str, Any, Any, Any]], *, quarter: str = "第二季度",
                 filled: Any = "2025年6月24日", submitter: str = "平城区应急管理局") -> Path:
    """A unit's own 附件3 with the seed's three-level header (冶金工贸企业 › 第二季度… › leaves)."""
    wb = Workbook()
    sh = wb.active
    sh["A1"] = "企业内部隐患自查自纠报告机制落实情况统计表"
    sh.merge_cells("A1:D1")
    sh["A2"] = f"填报单位：{submitter}    填报时间：{filled}"
    sh.merge_cells("A2:D2")
    sh["A3"] = "省市县（区）"
    sh.merge_cells("A3:A5")
    sh["B3"] = "冶金工贸企业"
    sh.merge_cells("B3:D3")
    sh["B4"] = "应注册企业数"
    sh.merge_cells("B4:B5")
    sh["C4"] = f"{quarter}企业重大事故隐患排查上报"
    sh.merge_cells("C4:D4")
    sh["C5"] = "上报企业数"
    sh["D5"] = "上报重大事故隐患条数"
    for row in rows:
        sh.append(list(row))
    wb.save(path)
    return path


def clerk_table4(path: Path, rows: list[tuple[str, str, str, str, str]], *, merge_unit: bool = True) -> Path:
    """A unit's own 附件4: 序号 added, the unit cell merged down over its problems."""
    wb = Workbook()
    sh = wb.active
    sh["A1"] = "移动应急APP操作使用问题反馈清单"
    sh.merge_cells("A1:F1")
    sh.append(["序号", "单位", "用户类型", "手册内容", "问题描述", "意见建议"])
    first = 3
    for i, (unit, user, part, desc, sugg) in enumerate(rows, start=1):
        sh.append([i, unit if (i == 1 or not merge_unit) else None, user, part, desc, sugg])
    if merge_unit and len(rows) > 1:
        sh.merge_cells(start_row=first, start_column=2, end_row=first + len(rows) - 1, end_column=2)
    for row in sh.iter_rows(min_row=first):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # typed as '=… in Excel: text, not a formula
    wb.save(path)
    return path


def seed_roster(path: Path, rows: list[tuple[Any, ...]]) -> Path:
    """附件1 as a unit types it, borrowing the columns of seed 002's 管理员名单 (职务, 微信号, 备注)."""
    wb = Workbook()
    sh = wb.active
    sh["A1"] = "附件1"
    sh["A2"] = "应急系统“扫码入企”工作推进联络人报名表"
    sh.append(["填报单位：平城区应急管理局"])
    sh.append(["序号", "单位", "姓名", "职务", "联系电话（座机号、手机号）", "微信号", "备注"])
    for row in rows:
        sh.append(list(row))
    wb.save(path)
    return path


def to_xls(sources: list[Path], out_dir: Path) -> list[Path] | None:
    """Convert with LibreOffice (the honest way to get real BIFF8 .xls files, as WPS/Excel save
    them); one soffice run for all sources.  None when LibreOffice is not installed."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{out_dir}/lo-profile",
                    "--convert-to", "xls", "--outdir", str(out_dir), *map(str, sources)],
                   check=False, capture_output=True, timeout=300)
    outs = [out_dir / (src.stem + ".xls") for src in sources]
    return outs if all(o.exists() for o in outs) else None
