"""`ruqi plan-template`, `ruqi generate`, `ruqi void` (`ruqi register` is ``register_cmd``)."""

from __future__ import annotations

import atexit
import gc
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.text import Text

from ..findings import Finding, error, located
from ..generate import STATUS_ZH, BatchResult, RowStatus, generate, parse_rows
from ..plan import PlanCode, write_template
from ..void import void_visit
from .common import (
    JsonOpt,
    WorkspaceOpt,
    cells,
    console,
    err_console,
    esc,
    open_workspace,
    print_findings,
    print_json,
    settle,
)
from .table import Table
from .values import day_option


def register(app: typer.Typer) -> None:
    app.command("plan-template")(plan_template)
    app.command("generate")(generate_cmd)
    app.command("void")(void_cmd)


def plan_template(
    out: Path = typer.Argument(Path("入企检查计划.xlsx"), metavar="输出文件", help="输出文件"),
    overwrite: bool = typer.Option(False, "--overwrite", help="输出文件已存在时用空白表替换它"),
) -> None:
    if out.exists() and not overwrite:
        # Run twice with the README's name, it would replace the plan the clerk has just filled in.
        err_console.print(Text(f"✗ “{out}”已存在（可能是已经填好的计划表），没有覆盖。请换一个文件名；"
                               f"确需用空白表替换它时加 --overwrite。（{PlanCode.TEMPLATE_EXISTS}）"), style="red")
        raise typer.Exit(1)
    write_template(out)
    console.print(f"已生成空白计划表：{esc(out)}")


def generate_cmd(
    plan: Path = typer.Option(..., "--plan", help="填好的检查计划（.xlsx）"),
    formats: str = typer.Option("docx,pdf", "--formats", help="输出格式，逗号分隔：docx,pdf"),
    allow_over_cap: str = typer.Option(
        None, "--allow-over-cap", metavar="行号",
        help="批准超过年度次数上限的行（计划表中的行号，如 6,9；不写行号为全部），须同时用 --reason 写明理由，列入纪委审查"),
    reason: str = typer.Option("", "--reason", help="超次数检查的理由"),
    issue_date: str = typer.Option(None, "--issue-date", help="通知书、公示的落款日期，如 2025-11-10（计划表“发文日期”列优先）"),
    check: bool = typer.Option(False, "--check", help="只检查计划：逐行报告结果，不登记、不生成、不归档"),
    offline: bool = typer.Option(False, "--offline", help="共享台账无法连接时仍生成：检查只登记在本局、标为未确认，恢复连接后用 ruqi register sync 补报"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    workers: int = typer.Option(None, "--workers", min=1, help="并行进程数（默认 CPU 核数）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    bad = [f for f in fmts if f not in ("docx", "pdf")]
    if bad or not fmts:
        err_console.print(f"错误：--formats 只能是 docx、pdf 或两者（现为 {esc(formats)}）")
        raise typer.Exit(2)
    problem = plan_file_problem(plan)
    if problem is not None:
        print_findings([problem])
        raise typer.Exit(2)
    approval = parse_rows(allow_over_cap) if allow_over_cap is not None else None
    if allow_over_cap is not None and approval is None:
        err_console.print(f"错误：--allow-over-cap 应写计划表中的行号，如 6,9 或 6-9（现为 {esc(allow_over_cap)}）")
        raise typer.Exit(2)
    issued = day_option(issue_date, "--issue-date")
    # The process ends right after: its final garbage collection would walk every object the
    # renderers and their fonts left (0.1-0.5 s of a run); frozen at exit, they are let go with the
    # process.  Freezing changes nothing else: the other exit handlers (logging, the database
    # pool) work as before.
    atexit.register(gc.freeze)
    with Progress(TextColumn("生成文书"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, transient=True, disable=as_json or check) as bar:
        task = bar.add_task("render", total=None)
        result = generate(ws, plan, formats=fmts, allow_over_cap=approval or False, reason=reason, actor=actor,
                          workers=workers, issue_date=issued, check=check, offline=offline,
                          progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        for f in result.plan_findings:
            print_json({"row": None, "status": "invalid", "serial": None, "files": [], "errors": [f.to_dict()]})
        for o in result.outcomes:
            print_json(o.to_json())
    else:
        print_result(result)
    raise typer.Exit(0 if result.ok else 1)


def plan_file_problem(plan: Path) -> Finding | None:
    """None when ``--plan`` names a file; else what it names instead, and what to write there."""
    if plan.is_file():
        return None
    wanted = "--plan 后面要写填好的计划表文件（Excel 工作簿 .xlsx，用 ruqi plan-template 生成的模板填写），例如 --plan 入企检查计划.xlsx。"
    if plan.is_dir():
        try:
            # Excel's "~$" lock files are no plans.
            workbooks = sorted(p.name for p in plan.glob("*.xlsx") if p.is_file() and not p.name.startswith("~$"))
        except OSError:
            workbooks = []
        inside = f"该文件夹中的 .xlsx 文件：{'、'.join(workbooks[:5])}{'等' if len(workbooks) > 5 else ''}。" if workbooks else ""
        return error(PlanCode.IS_FOLDER, f"“{plan}”是一个文件夹，不是计划文件。{wanted}{inside}")
    return error(PlanCode.NOT_FOUND, f"找不到计划文件“{plan}”：请检查文件名和所在文件夹。{wanted}")


def print_result(result: BatchResult) -> None:
    """A table of what was generated, then every problem on its own line (row, column, fix)."""
    for f in result.plan_findings:  # a skipped example row is a warning, a missing column an error
        mark, style = ("✗", "red") if f.is_error else ("!", "yellow")
        console.print(Text(f"{mark} {f}"), style=style)
    if not result.outcomes:
        return
    t = Table(title="检查计划（仅检查，未登记、未生成任何文件）" if result.check else f"批次 {esc(result.batch)}")
    for h in ("行", "状态", "检查编号", "企业", "发文日期", "本年第N次"):
        t.add_column(h, overflow="fold")
    numbered = (RowStatus.GENERATED, RowStatus.READY)
    for o in result.outcomes:
        i = o.inspection
        style = {RowStatus.GENERATED: "green", RowStatus.READY: "green", RowStatus.REFUSED: "yellow",
                 RowStatus.INVALID: "red"}[o.status]
        state = STATUS_ZH[o.status] + ("（已在台账中）" if o.existing else "") + ("（超次数，已批准）" if o.over_cap else "")
        shown = i is not None and o.status in numbered
        t.add_row(*cells(o.row, Text(state, style=style), o.serial or ("（生成时分配）" if shown else ""),
                         i.enterprise if i else "", f"{i.issue_date:%Y-%m-%d}" if shown and i and i.issue_date else "",
                         i.visit_total if shown and i else ""))
    console.print(t)
    problems = [(o, f) for o in result.outcomes for f in o.findings]
    if problems:
        console.print("需要处理的问题：")
    for o, f in problems:
        mark, style = ("✗", "red") if f.is_error else ("!", "yellow")
        console.print(Text(f"  {mark} {located(f.message, f.where or f'第{o.row}行', '{}：')}（{f.code}）",
                                style=style))
    done = (f"可生成 {result.count(RowStatus.READY)}" if result.check else f"已生成 {result.count(RowStatus.GENERATED)}")
    approved = sum(o.over_cap for o in result.outcomes)
    console.print(
        f"共 {len(result.outcomes)} 行：{done}"
        + (f"（其中超次数已批准 {approved}）" if approved else "")
        + f"，超次数 {result.count(RowStatus.REFUSED)}，有错误 {result.count(RowStatus.INVALID)}。"
    )
    if result.check:
        console.print("以上为检查结果：没有登记任何检查，也没有生成、归档任何文件。去掉 --check 即正式生成。")
    if result.manifest:
        console.print(f"文书和生成清单在：{esc(result.out_dir)}")


def void_cmd(
    serial: str = typer.Argument(..., metavar="检查编号", help="检查编号，如 140200-2025-0003"),
    reason: str = typer.Option("", "--reason", help="作废理由（必填），记入审计日志和纪委审查清单"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    res = void_visit(ws, serial, reason, actor=actor)
    settle(res, as_json)
    console.print(Text(f"已作废检查 {res.serial}（{res.enterprise}，{res.kind}，{res.start:%Y-%m-%d}）："
                       f"{res.voided_by} 于 {res.voided_at:%Y-%m-%d %H:%M}，理由：{res.reason}"))
    console.print("该检查不再计入年度次数和上限，不再催交反馈卡；记录和已归档的文书"
                  f"（{len(res.documents)} 件）原样保留，并列入纪委审查清单的“已作废的检查”。")
    for st in res.stale:
        console.print(Text(f"  ! {st.serial}：{st.explain()}"), style="yellow")
