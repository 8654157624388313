"""`ruqi status`: the inspections whose feedback card has not come back (engine.inbox.status).

A module of its own so that the command loads the register and the database only, not the inbox
readers (see ``COMMANDS`` in engine/cli/__init__.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..db import reading
from ..inbox import pending_cards
from .common import JsonOpt, WorkspaceOpt, cells, console, open_workspace, print_json
from .table import Table
from .values import day_option


def register(app: typer.Typer) -> None:
    app.command("status")(status_cmd)


def status_cmd(
    workspace: Path = WorkspaceOpt,
    overdue: bool = typer.Option(False, "--overdue", help="只列出逾期未交回的"),
    today: str = typer.Option(None, "--today", help="按指定日期计算逾期（默认今天），如 2025-07-01"),
    as_json: bool = JsonOpt,
) -> None:
    ws = open_workspace(workspace)
    day = day_option(today, "--today")
    with reading():
        rows = pending_cards(ws, today=day, overdue_only=overdue)
    if as_json:
        for r in rows:
            print_json(r.to_json())
        return
    if not rows:
        console.print("没有逾期未交回的反馈卡。" if overdue else "所有检查的反馈卡都已交回。")
        return
    t = Table(title="逾期未交回的反馈卡" if overdue else "尚未交回的反馈卡")
    # The serial is what the clerk types next (ruqi void, archive search): never cut, the name folds instead.
    t.add_column("检查编号", no_wrap=True, min_width=16)
    for h in ("企业", "县区", "类别", "检查结束", "应交回日期", "状态"):
        t.add_column(h, overflow="fold")
    for r in rows:
        state = f"[red]逾期 {r.days_overdue} 天[/red]" if r.overdue else "未到期"
        t.add_row(*cells(r.serial, r.enterprise, r.county, r.kind, r.end.isoformat(), r.due.isoformat()), state)
    console.print(t)
    console.print(f"共 {len(rows)} 件，其中逾期 {sum(r.overdue for r in rows)} 件（检查结束后 {ws.config.late_days} 日内应交回）。")
