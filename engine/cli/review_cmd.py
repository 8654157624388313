"""`ruqi review` (the 纪委 review list) and `ruqi review export` (the verifiable bundle).

The workbook, the PDF report and the bundle are reached through ``review.…`` (loaded on first use):
listing the review on screen loads none of their writers."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from .. import review
from ..db import reading
from ..review.collect import Review, build_review, review_dict
from ..review.tables import Table, cell_text, pick, sections, summary_rows
from .common import JsonOpt, WorkspaceOpt, add_group, console, esc, open_workspace, print_json
from .table import Table as ScreenTable
from .values import day_option

FromOpt = typer.Option(None, "--from", help="检查开始日期不早于（如 2025-06-01）")
ToOpt = typer.Option(None, "--to", help="检查开始日期不晚于（如 2025-06-30）")
CountyOpt = typer.Option(None, "--county", help="只看一个县区（名称或行政区划代码）")
TodayOpt = typer.Option(None, "--today", help="统计日（判断逾期用），默认今天")

# Columns the terminal shows per section (the workbook has them all).
SCREEN_COLUMNS: dict[str, tuple[str, ...]] = {
    "violations": ("检查编号", "企业名称", "县区", "开始日期", "组长", "成员", "回答“是”的题号", "问题内容",
                   "此前版本答“是”、现已改答的题号"),
    "cards": ("检查编号", "企业名称", "县区", "结束日期", "应交回日期", "状态", "逾期天数", "组长"),
    "over_cap": ("检查编号", "企业名称", "县区", "检查类别", "本年度本类第几次", "年度上限", "是否经批准超次数", "超次数理由"),
    "suspects": ("收到日期", "卡上检查编号", "卡上企业", "登记企业", "可疑原因", "档号"),
    "qr_missing": ("收到日期", "卡上检查编号", "卡上企业", "卡上检查日期", "登记检查日期", "文件类型", "核对结果", "档号"),
    "mismatches": ("检查编号", "企业名称", "登记：本年度第N次", "卡上：第N次", "按日期应为第N次", "登记：本类第M次",
                   "卡上：第M次", "按日期应为第M次", "原因"),
    "register": ("检查编号", "企业名称", "县区", "检查类别", "开始日期", "组长", "情况", "说明"),
    "voided": ("检查编号", "企业名称", "县区", "开始日期", "组长", "作废时间", "作废人", "作废理由", "反馈卡"),
    "corrections": ("更正时间", "检查编号", "企业名称", "题号", "原答案", "更正为", "更正人", "理由"),
    "readers": ("检查编号", "企业名称", "收到日期", "识读方式", "等待天数", "录入人"),
    "by_county": ("县区", "检查次数", "已交回", "逾期未交回", "逾期交回", "提前交回", "待人工核对", "反馈“是”的检查", "超次数",
                  "可疑反馈卡", "需关注的检查"),
    "by_inspector": ("检查人员", "任组长", "任成员", "检查次数", "反馈“是”的检查", "逾期未交回", "超次数", "需关注的检查"),
}


def register(app: typer.Typer) -> None:
    add_group(app, "review", {
        "export": (export_cmd, "导出审查包（BagIt）：原件、index.xlsx、review-report.pdf，并记入审计日志。"),
    }, alone=review_list)


def review_list(
    date_from: str = FromOpt,
    date_to: str = ToOpt,
    county: str = CountyOpt,
    out: Path = typer.Option(None, "--out", help="另存为 Excel（每部分一个工作表，另有统计）"),
    pdf: Path = typer.Option(None, "--pdf", help="另存审查报告 PDF"),
    today: str = TodayOpt,
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    with reading():
        found = build_review(ws, day_option(date_from, "--from"), day_option(date_to, "--to"), county or None,
                             today=day_option(today, "--today"))
    if as_json:
        print_json(review_dict(found))
    else:
        print_review(found)
    if out:
        review.write_xlsx(found, out)
        if not as_json:
            console.print(f"已另存为：{esc(out)}")
    if pdf:
        review.write_pdf(found, pdf)
        if not as_json:
            console.print(f"审查报告：{esc(pdf)}")


def print_review(r: Review) -> None:
    console.print(f"[bold]{esc(r.bureau)} 入企检查纪律监督审查清单[/bold]")
    console.print(Text(f"检查开始日期：{r.period_zh}　县区：{r.county or '全部'}　统计日：{r.today:%Y-%m-%d}"))
    console.print(esc("　".join(f"{k} {n}" for k, n in summary_rows(r))))
    for t in sections(r):
        _print_table(pick(t, SCREEN_COLUMNS[t.key]))
    for note in r.notes:
        console.print(Text(f"说明：{note}"), style="yellow")


def _print_table(t: Table) -> None:
    if not t.rows:
        console.print(f"[bold]{esc(t.title)}[/bold]：无")
        return
    rt = ScreenTable(f"{t.title}（{len(t.rows)}）", title_justify="left")
    for h in t.headers:
        rt.add_column(h, overflow="fold")
    for row in t.rows:
        # Text, not markup: an enterprise name like "[red]…" must print as typed.
        rt.add_row(*(Text(cell_text(v)) for v in row))
    console.print(rt)


def export_cmd(
    out: Path = typer.Option(..., "--out", help="导出目录（不存在或为空）"),
    date_from: str = FromOpt,
    date_to: str = ToOpt,
    county: str = CountyOpt,
    only_flagged: bool = typer.Option(False, "--only-flagged", help="只导出需关注的检查"),
    today: str = TodayOpt,
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    res = review.export_bundle(ws, out, day_option(date_from, "--from"), day_option(date_to, "--to"), county or None, only_flagged,
                        today=day_option(today, "--today"), actor=actor)
    if as_json:
        print_json({"bag": str(res.bag_dir), "inspections": res.serials, "files": len(res.payload),
                    "manifest_sha256": res.manifest_sha256, "tagmanifest_sha256": res.tagmanifest_sha256,
                    "audit_seq": res.audit_seq, "report_archival_code": res.report_archival_code,
                    "errors": [f.to_dict() for f in res.findings]})
    else:
        for f in res.findings:
            console.print(Text(f"✗ {f}"), style="red")
        console.print(f"已导出 {len(res.serials)} 次检查、{len(res.payload)} 个文件到：{esc(res.bag_dir)}")
        console.print(f"manifest-sha256.txt 的 SHA-256：{res.manifest_sha256}")
        if res.audit_seq is not None:
            console.print(f"已记入审计日志第 {res.audit_seq} 条"
                          + (f"；审查报告已归档，档号 {res.report_archival_code}" if res.report_archival_code else "") + "。")
        console.print("核验方法：bagit.py --validate " + esc(res.bag_dir))
    raise typer.Exit(0 if res.ok else 1)
