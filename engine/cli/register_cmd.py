"""`ruqi register`: the annual register of visits per enterprise, with caps and what is left.

A module of its own so that the command loads the register and the database only, not the
generator and its renderers (see ``COMMANDS`` in engine/cli/__init__.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from ..db import session
from ..register import summary, write_summary_xlsx
from .common import JsonOpt, WorkspaceOpt, cells, console, esc, open_workspace, print_json


def register(app: typer.Typer) -> None:
    app.command("register", help="入企检查台账：每家企业本年度各类检查次数、上限和剩余次数。")(register_cmd)


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
    t = Table(title=f"{year}年度入企检查台账（{esc(ws.config.name)}）")
    for h in ("县区", "企业", "行业/等级", *[f"{k}（已/上限）" for k in kinds], "超次数批准"):
        t.add_column(h)
    for r in rows:
        marks = []
        for k in kinds:
            c = r.kinds[k]
            txt = f"{c.done}/{'不限' if c.cap is None else c.cap}"
            marks.append(f"[red]{txt}[/red]" if c.over else txt)
        t.add_row(*cells(r.county, r.enterprise, f"{r.industry}/{r.grade}"), *marks, str(r.overrides or ""))
    console.print(t)
    if out:
        write_summary_xlsx(rows, out, year)
        console.print(f"已另存为：{esc(out)}")
