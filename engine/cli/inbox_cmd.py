"""`ruqi ingest`, `ruqi watch`: thin printing over engine.inbox (`ruqi status`: status_cmd)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ..inbox import CardCode, IngestReport, Outcome, Status, ingest, watch
from ..mail import MailPoller, MailReport
from ..text import sentences
from .common import (
    JsonOpt,
    WorkspaceOpt,
    cells,
    console,
    err_console,
    esc,
    flag_zh,
    open_workspace,
    print_json,
)
from .table import Table
from .values import positive_seconds

STATUS_COLOR = {Status.FILED: "green", Status.NEEDS_REVIEW: "yellow", Status.REJECTED: "red", Status.DUPLICATE: "cyan",
                Status.SKIPPED: "magenta"}


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest_cmd)
    app.command("watch")(watch_cmd)


def ingest_cmd(
    workspace: Path = WorkspaceOpt,
    as_json: bool = JsonOpt,
    workers: int = typer.Option(None, "--workers", min=1, help="并行读取的进程数（默认 CPU 核数，最多 4）"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
) -> None:
    ws = open_workspace(workspace)
    if as_json:
        # One line per file as soon as its result is committed: a crash loses no reported line.
        report = ingest(ws, workers=workers, actor=actor, on_outcome=lambda o: print_json(o.to_json()))
        if report.stopped is not None:
            print_json({"stopped": report.stopped.to_dict()})
    else:
        with Progress(TextColumn("处理收件箱"), BarColumn(), MofNCompleteColumn(), console=err_console,
                      transient=True) as bar:
            task = bar.add_task("ingest", total=None)
            report = ingest(ws, workers=workers, actor=actor,
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
        print_report(report)
    if report.stopped is not None:
        raise typer.Exit(1)


def watch_cmd(
    workspace: Path = WorkspaceOpt,
    as_json: bool = JsonOpt,
    interval: float = typer.Option(2.0, "--interval", help="轮询间隔（秒）"),
    workers: int = typer.Option(None, "--workers", min=1, help="并行读取的进程数"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
    mail: bool = typer.Option(False, "--mail", help="同时收取 ruqi.toml 中 [[mail]] 邮箱的邮件"),
    mail_interval: float = typer.Option(60.0, "--mail-interval", help="收取邮件的间隔（秒）"),
) -> None:
    interval = positive_seconds(interval, "--interval")
    mail_interval = positive_seconds(mail_interval, "--mail-interval")
    ws = open_workspace(workspace)
    poller = MailPoller(ws, mail_interval, lambda r: show_mail(r, as_json), actor=actor) if mail else None
    if mail and not as_json:
        err_console.print(f"同时每 {mail_interval:g} 秒收取一次邮件（{len(ws.config.mail)} 个邮箱）。")
    if not as_json:
        err_console.print(f"正在监视 {esc(ws.inbox)}（每 {interval:g} 秒检查一次，文件 {ws.config.limits.stable_seconds:g} 秒不变后处理）。按 Ctrl+C 停止。")

    def show(report: IngestReport) -> None:
        if not as_json:
            print_report(report)

    def line(o: Outcome) -> None:
        if as_json:
            print_json(o.to_json())

    try:
        watch(ws, interval=interval, on_report=show, on_outcome=line, workers=workers, actor=actor, each_cycle=poller)
    except KeyboardInterrupt:
        if not as_json:
            err_console.print("已停止监视。")


def show_mail(report: MailReport, as_json: bool) -> None:
    """One line per fetched message (the files it brought are reported by the inbox as usual)."""
    for f in report.problems:
        if as_json:
            print_json({"type": "problem", **f.to_dict()})
        else:
            err_console.print(f"[red]邮箱问题：[/red]{esc(str(f))}")
    for m in report.messages:
        if as_json:
            print_json(m.to_json())
        else:
            console.print(f"邮件 {esc(m.sender)}“{esc(m.subject)}”：{m.status.zh}{('，' + esc(m.note)) if m.note else ''}")
    if report.ingest is not None:
        if as_json:
            for o in report.ingest.outcomes:
                print_json(o.to_json())
        else:
            print_report(report.ingest)


def print_report(report: IngestReport) -> None:
    if report.stopped is not None:
        err_console.print(f"[red]处理中止：{esc(report.stopped.message)}（{report.stopped.code}）[/red]")
    if not report.outcomes:
        if report.stopped is None:
            console.print("收件箱里没有待处理的文件。")
        return
    t = Table(title="收件箱处理结果")
    for h in ("文件", "结果", "检查编号", "标记", "说明"):
        t.add_column(h, overflow="fold")
    for o in report.outcomes:
        t.add_row(*cells(o.label), _status(o), *cells(o.serial or "", "、".join(flag_zh(f) for f in o.flags), outcome_notes(o)))
    console.print(t)
    counts = "，".join(f"{s.zh} {report.count(s)} 件" for s in Status if report.count(s))
    where = ["退回的文件及原因见 inbox/rejected/"]
    if report.count(Status.NEEDS_REVIEW):
        where.append("待人工核对的卡已归档，用 ruqi confirm 列出、核对并录入")
    if report.count(Status.SKIPPED):
        where.append("未处理的仍在 inbox/，原因见上表")
    files = report.files()
    cards = f"（含多卡扫描件，共 {len(report.outcomes)} 项）" if files != len(report.outcomes) else ""
    console.print(f"共 {files} 个文件{cards}：{counts}。" + "；".join(where) + "。")


def _status(o: Outcome) -> str:
    c = STATUS_COLOR[o.status]
    return f"[{c}]{Status(o.status).zh}[/{c}]"


def outcome_notes(o: Outcome) -> str:
    """What the 说明 column says of one file (also the 收件 page's words)."""
    # A 是 answer is what the 纪委 looks for: it comes first and is never cut off by lesser notes.
    first = [f for f in o.findings if f.code == CardCode.VIOLATION]
    rest = [f for f in o.findings if f.code != CardCode.VIOLATION]
    shown = first + ([f for f in rest if f.is_error] or rest)
    if not shown:
        return ""
    return sentences((f.message for f in shown), limit=3)
