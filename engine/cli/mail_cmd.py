"""`ruqi mail fetch`, `ruqi mail list`: thin printing over engine.mail."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from ..inbox import Status
from ..mail import MailReport, MessageOutcome, MessageStatus, PartStatus, attention, collect
from .common import JsonOpt, WorkspaceOpt, console, err_console, open_workspace, print_json
from .table import Table

mail_app = typer.Typer(no_args_is_help=True)

PART_ZH = {PartStatus.SAVED: "已放入收件箱", PartStatus.ALREADY: "此前已收到", PartStatus.SKIPPED: "不是回执文件",
           PartStatus.REFUSED: "未收取"}


def register(app: typer.Typer) -> None:
    app.add_typer(mail_app, name="mail")


@mail_app.command("fetch", help="收取 ruqi.toml 中 [[mail]] 邮箱的新邮件：附件放入收件箱并立即处理（归档或退回），需要时发回执。")
def fetch_cmd(
    workspace: Path = WorkspaceOpt,
    as_json: bool = JsonOpt,
    file: bool = typer.Option(True, "--file/--no-file", show_default=False, help="收取后立即处理收件箱（默认是）"),
    receipts: bool = typer.Option(True, "--receipts/--no-receipts", show_default=False, help="按配置给发件人发回执（默认是）"),
    actor: str = typer.Option(None, "--actor", help="操作人（默认当前系统用户）"),
) -> None:
    ws = open_workspace(workspace)
    if not ws.config.mail:
        err_console.print("ruqi.toml 中没有配置邮箱（\\[\\[mail]]）。配置方法见 README“通过邮件收取”。")
        raise typer.Exit(2)
    report = collect(ws, file=file, receipts=receipts, actor=actor)
    if as_json:
        for m in report.messages:
            print_json(m.to_json())
            for p in m.parts:
                print_json(p.to_json(m))
        for f in report.problems:
            print_json({"type": "problem", **f.to_dict()})
    else:
        print_report(report)
    if report.problems:
        raise typer.Exit(1)


@mail_app.command("list", help="列出需要人工处理的邮件（没有附件、只有网盘链接、附件无法收取、邮件过大）。")
def list_cmd(workspace: Path = WorkspaceOpt, as_json: bool = JsonOpt) -> None:
    ws = open_workspace(workspace)
    rows = attention(ws)
    if as_json:
        for r in rows:
            print_json({"message_id": r.message_id, "mailbox": r.mailbox, "from": r.sender, "subject": r.subject,
                        "received_at": r.received_at, "code": r.code, "note": r.note})
        return
    if not rows:
        console.print("没有需要人工处理的邮件。")
        return
    t = Table(title="需要人工处理的邮件")
    for h in ("收到时间", "发件人", "主题", "说明"):
        t.add_column(h, overflow="fold")
    for r in rows:
        t.add_row(f"{r.received_at:%Y-%m-%d %H:%M}" if r.received_at else "", escape(r.sender), escape(r.subject),
                  escape(r.note))
    console.print(t)


def print_report(report: MailReport) -> None:
    for f in report.problems:
        err_console.print(f"[red]邮箱问题：[/red]{escape(str(f))}")
    if not report.messages:
        console.print("没有新邮件。")
        return
    t = Table(title="邮件收取结果")
    for h in ("收到时间", "发件人", "主题", "结果", "附件", "回执"):
        t.add_column(h, overflow="fold")
    for m in report.messages:
        t.add_row(f"{m.received_at:%Y-%m-%d %H:%M}" if m.received_at else "", escape(m.sender), escape(m.subject),
                  m.status.zh + (f"：{escape(m.note)}" if m.note else ""), _parts(m), escape(m.receipt))
    console.print(t)
    counts = "，".join(f"{s.zh} {report.count(s)} 封" for s in MessageStatus if report.count(s))
    console.print(f"共 {len(report.messages)} 封邮件：{counts}。需人工处理的邮件可用 ruqi mail list 再次查看。")


def _parts(m: MessageOutcome) -> str:
    lines = []
    for p in m.parts:
        what = Status(p.inbox.status).zh if p.inbox is not None else PART_ZH[p.status]
        lines.append(f"{escape(p.original_name)}：{what}")
    return "\n".join(lines)
