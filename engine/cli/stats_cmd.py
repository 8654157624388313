"""`ruqi stats blank|aggregate|status|check`: the statistics desk's commands (附件1–4)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..findings import RuqiError, error, located
from ..stats import NoSuchTable, Period, issued_periods, read_submission, write_blanks
from ..stats.aggregate import (
    Aggregate,
    aggregate,
    file_report,
    incomplete_finding,
    status_line,
    write_aggregate,
)
from ..stats.codes import StatsCode
from ..text import sentences
from ..workspace import Workspace
from .common import JsonOpt, WorkspaceOpt, console, esc, open_workspace, print_json
from .table import Table
from .values import day_option

stats_app = typer.Typer(no_args_is_help=True,
                        rich_markup_mode=None)

TableOpt = typer.Option(..., "--table", "-t", help="附件号：1 联络人报名表，2 调度统计表，3 报告机制落实情况统计表，4 APP问题反馈清单")
PeriodOpt = typer.Option(..., "--period", "-p", help="报送期次，例如 2025Q2")
DueOpt = typer.Option(None, "--due", help="截止日期，例如 2025-06-18")


def register(app: typer.Typer) -> None:
    app.add_typer(stats_app, name="stats")


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError as e:
        raise RuqiError(error(StatsCode.BAD_ARGUMENT, str(e))) from e


def _aggregate(ws: Workspace, table_no: int, period: str, due: str | None) -> Aggregate:
    try:
        return aggregate(ws, table_no, _period(period), due=day_option(due, "--due"))
    except NoSuchTable as e:  # only the mistyped table number: any other KeyError is a bug, reported as one
        raise RuqiError(error(StatsCode.BAD_ARGUMENT, str(e))) from e


@stats_app.command("blank", help="为每个报送单位生成一份空白统计表（.xlsx），放在 outbox/stats/<期次>/。")
def blank_cmd(
    table_no: int = TableOpt,
    period: str = PeriodOpt,
    due: str = DueOpt,
    units: str = typer.Option(None, "--units", help="只生成这些单位的表，逗号分隔，例如 平城区,云冈区"),
    out: Path = typer.Option(None, "--out", help="输出目录（默认 outbox/stats/<期次>/）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    batch = write_blanks(ws, table_no, _period(period), due=day_option(due, "--due"), units=units, out_dir=out)
    if as_json:
        for u, f in zip(batch.units, batch.files, strict=True):
            print_json({"unit": u.name, "code": u.code, "file": str(f)})
        return
    for f in batch.files:
        console.print(f"  {esc(f.name)}")
    console.print(f"已生成{batch.table.label}空白表 {len(batch.files)} 份（{batch.period.label_zh}），在：{esc(batch.files[0].parent)}")


@stats_app.command("aggregate", help="汇总已收到的统计表，生成 Excel 汇总表和同名一页 PDF 报告。")
def aggregate_cmd(
    table_no: int = TableOpt,
    period: str = PeriodOpt,
    out: Path = typer.Option(..., "--out", "-o", help="汇总表文件名（.xlsx），PDF 报告写在同一位置"),
    due: str = DueOpt,
    no_pdf: bool = typer.Option(False, "--no-pdf", help="只生成 Excel"),
    archive: bool = typer.Option(False, "--archive", help="同时将汇总表和报告归档（文种：统计报告）"),
    partial: bool = typer.Option(False, "--partial", help="有单位未报送或被退回时，仍归档这份不完整的汇总（标记为不完整）"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    agg = _aggregate(ws, table_no, period, due)
    xlsx, pdf = write_aggregate(agg, out, pdf=not no_pdf)
    gap = incomplete_finding(agg)
    refused = archive and gap is not None and not partial
    filed = file_report(ws, agg, [p for p in (xlsx, pdf) if p], actor=actor, partial=partial) \
        if archive and not refused else []
    if as_json:
        print_json(agg.to_json() | {"xlsx": str(xlsx), "pdf": str(pdf) if pdf else None,
                                    "archived": [r.archival_code for r in filed], "partial": gap is not None,
                                    "refused": gap.to_dict() if refused and gap else None})
    else:
        console.print(esc(status_line(agg)))
        console.print(f"汇总表：{esc(xlsx)}" + (f"\n报告：{esc(pdf)}" if pdf else ""))
        if refused and gap is not None:
            console.print(f"[red]未归档：{esc(gap.message)}[/red]")
        elif gap is not None and filed:
            console.print(f"[yellow]注意：这是不完整的汇总（已报{len(agg.submitted)}/{agg.expected_count}个单位），"
                          "已按 --partial 归档并标记为“不完整”。[/yellow]")
        elif gap is not None:
            console.print(f"[yellow]注意：这份汇总不完整（已报{len(agg.submitted)}/{agg.expected_count}个单位）。[/yellow]")
        for r in filed:
            console.print(f"已归档：{esc(r.archival_code)}  {esc(r.rel_path)}")
    if refused:
        raise typer.Exit(1)


_STATE_COLOR = {"已报送": "green", "逾期报送": "yellow", "已退回": "magenta", "未报送": "red"}


@stats_app.command("status", help="查看某张表某期的报送情况：谁已报、谁未报、谁逾期。")
def status_cmd(
    table_no: int = TableOpt,
    period: str = PeriodOpt,
    due: str = DueOpt,
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    agg = _aggregate(ws, table_no, period, due)
    if as_json:
        for ln in agg.lines:
            print_json({"unit": ln.unit.name, "code": ln.unit.code, "state": ln.state, "submitted": ln.submitted,
                        "returned": ln.returned, "received_at": ln.received_at, "late_days": ln.late_days,
                        "version": ln.version, "flags": [f.get("code") for f in ln.flags], "hints": ln.hints()})
        return
    t = Table(title=f"{agg.table.label} {agg.table.title_for(agg.period)}（{agg.period.label_zh}）")
    for h in ("单位", "状态", "收到时间", "逾期", "版本"):
        t.add_column(h, no_wrap=True)
    t.add_column("提示", overflow="fold")
    for ln in agg.lines:
        when = ln.received_at or (ln.rejection.received_at if ln.returned and ln.rejection else None)
        t.add_row(esc(ln.unit.name), f"[{_STATE_COLOR.get(ln.state, 'white')}]{ln.state}[/]",
                  when.strftime("%m-%d %H:%M") if when else "",
                  f"[yellow]{ln.late_days}天[/yellow]" if ln.late else "", str(ln.version or ""),
                  sentences(ln.hints(), end=""))
    console.print(t)
    console.print(esc(status_line(agg)))


@stats_app.command("check", help="检查一个或多个统计表文件（不入库），逐格列出问题。")
def check_cmd(
    files: list[Path] = typer.Argument(..., metavar="文件", help="统计表文件（.xlsx/.xls）"),
    period: str = typer.Option(None, "--period", "-p", help="指定报送期次（表中没有写明时）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    rounds = issued_periods(ws)
    bad = 0
    for f in files:
        sub = read_submission(f, ws, period=_period(period) if period else None, rounds=rounds)
        bad += not sub.ok
        if as_json:
            print_json(sub.summary())
            continue
        head = " ".join(x for x in (sub.table.label if sub.table else "", sub.period.label_zh if sub.period else "",
                                    "、".join(u.name for u in sub.units)) if x)
        mark = "[green]✓[/green]" if sub.ok else "[red]✗[/red]"
        console.print(f"{mark} {esc(f.name)}" + (f"：{esc(head)}" if head else ""))
        for finding in sub.findings:
            color = "red" if finding.is_error else "yellow" if finding.severity == "warning" else "green"
            where = "" if finding.where == f.name else finding.where  # the line above names the file
            console.print(f"    [{color}]{esc(located(finding.message, where))}（{finding.code}）[/{color}]")
    raise typer.Exit(1 if bad else 0)
