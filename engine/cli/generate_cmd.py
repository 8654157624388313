"""`ruqi plan-template`, `ruqi generate`, `ruqi register`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..db import session
from ..generate import STATUS_ZH, BatchResult, RowStatus, generate
from ..plan import write_template
from ..register import summary, write_summary_xlsx
from .common import JsonOpt, WorkspaceOpt, console, err_console, open_workspace, plain, print_json


def register(app: typer.Typer) -> None:
    app.command("plan-template", help="生成空白的入企检查计划表（Excel），供填写后用 ruqi generate 批量生成文书。")(plan_template)
    app.command("generate", help="按检查计划批量生成通知书、公示、反馈卡（docx 和 PDF）。")(generate_cmd)
    app.command("register", help="入企检查台账：每家企业本年度各类检查次数、上限和剩余次数。")(register_cmd)


def plan_template(out: Path = typer.Argument(Path("入企检查计划.xlsx"), help="输出文件")) -> None:
    write_template(out)
    console.print(f"已生成空白计划表：{out}")


def generate_cmd(
    plan: Path = typer.Option(..., "--plan", help="填好的检查计划（.xlsx）"),
    formats: str = typer.Option("docx,pdf", "--formats", help="输出格式，逗号分隔：docx,pdf"),
    allow_over_cap: bool = typer.Option(False, "--allow-over-cap", help="超过年度次数上限也生成（须写明理由，列入纪委审查）"),
    reason: str = typer.Option("", "--reason", help="超次数检查的理由"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    workers: int = typer.Option(None, "--workers", help="并行进程数（默认 CPU 核数）"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    fmts = tuple(f.strip().lower() for f in formats.split(",") if f.strip())
    bad = [f for f in fmts if f not in ("docx", "pdf")]
    if bad or not fmts:
        err_console.print(f"错误：--formats 只能是 docx、pdf 或两者（现为 {formats}）")
        raise typer.Exit(2)
    if not plan.is_file():
        err_console.print(f"错误：找不到计划文件 {plan}")
        raise typer.Exit(2)
    with Progress(TextColumn("生成文书"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("render", total=None)
        result = generate(ws, plan, formats=fmts, allow_over_cap=allow_over_cap, reason=reason, actor=actor,
                          workers=workers, progress=lambda done, total: bar.update(task, completed=done, total=total))
    if as_json:
        for f in result.plan_findings:
            print_json({"row": None, "status": "invalid", "serial": None, "files": [], "errors": [f.to_dict()]})
        for o in result.outcomes:
            print_json(o.to_json())
    else:
        print_result(result)
    raise typer.Exit(0 if result.ok else 1)


def print_result(result: BatchResult) -> None:
    """A table of what was generated, then every problem on its own line (row, column, fix)."""
    for f in result.plan_findings:
        console.print(Text(f"✗ {f}"), style="red")
    if not result.outcomes:
        return
    t = Table(title=f"批次 {result.batch}")
    for h in ("行", "状态", "检查编号", "企业", "本年第N次"):
        t.add_column(h, overflow="fold")
    for o in result.outcomes:
        i = o.inspection
        style = {RowStatus.GENERATED: "green", RowStatus.REFUSED: "yellow", RowStatus.INVALID: "red"}[o.status]
        state = STATUS_ZH[o.status] + ("（已在台账中）" if o.existing else "") + ("（超次数，已批准）" if o.over_cap else "")
        t.add_row(str(o.row), Text(state, style=style), o.serial, plain(i.enterprise if i else ""),
                  str(i.visit_total) if i and o.serial else "")
    console.print(t)
    problems = [(o, f) for o in result.outcomes for f in o.findings]
    if problems:
        console.print("需要处理的问题：")
    for o, f in problems:
        mark, style = ("✗", "red") if f.is_error else ("!", "yellow")
        console.print(Text(f"  {mark} {f.where or f'第{o.row}行'}：{f.message}（{f.code}）", style=style))
    console.print(
        f"共 {len(result.outcomes)} 行：已生成 {result.count(RowStatus.GENERATED)}，"
        f"超次数 {result.count(RowStatus.REFUSED)}，有错误 {result.count(RowStatus.INVALID)}。"
    )
    if result.manifest:
        console.print(f"文书和生成清单在：{result.out_dir}")


def register_cmd(
    year: int = typer.Option(date.today().year, "--year", help="年度"),
    out: Path = typer.Option(None, "--out", help="另存为 Excel"),
    as_json: bool = JsonOpt,
    ws_path: Path = WorkspaceOpt,
) -> None:
    ws = open_workspace(ws_path)
    with session(ws) as s:
        rows = summary(s, year)
    kinds = ("执法检查", "督导检查", "调查核查")
    if as_json:
        for r in rows:
            print_json({"enterprise": r.enterprise, "uscc": r.uscc, "county": r.county, "industry": r.industry,
                        "grade": r.grade, "overrides": r.overrides,
                        "kinds": {k: {"done": c.done, "cap": c.cap, "left": c.left} for k, c in r.kinds.items()}})
        return
    t = Table(title=f"{year}年度入企检查台账（{ws.config.name}）")
    for h in ("县区", "企业", "行业/等级", *[f"{k}（已/上限）" for k in kinds], "超次数批准"):
        t.add_column(h)
    for r in rows:
        cells = []
        for k in kinds:
            c = r.kinds[k]
            txt = f"{c.done}/{'不限' if c.cap is None else c.cap}"
            cells.append(f"[red]{txt}[/red]" if c.over else txt)
        t.add_row(plain(r.county), plain(r.enterprise), plain(f"{r.industry}/{r.grade}"), *cells, str(r.overrides or ""))
    console.print(t)
    if out:
        write_summary_xlsx(rows, out, year)
        console.print(f"已另存为：{out}")
