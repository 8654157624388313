"""统计: one table and period — every unit's state, blank workbooks sent out, the aggregate.

The same calls as ``ruqi stats status|blank|aggregate`` (``engine.stats``): the unit lines,
their states (已报送, 逾期报送, 已退回 with the cell and the rule, 未报送) and the 报送情况
sentence are the aggregate's own, nothing recomputed here.

- ``GET /stats?table=2&period=2025Q2``: the rounds sent out, and the chosen one's units;
- ``POST /stats/blanks``: ``write_blanks`` (records the round), then its zip at
  ``GET /stats/blanks.zip?table=…&period=…`` (the files are found from the round's units);
- ``GET /stats/aggregate.xlsx|.pdf?table=…&period=…``: made for the download;
- ``POST /stats/archive``: file the summary as ``ruqi stats aggregate --archive [--partial]``.
"""

from __future__ import annotations

import zipfile
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...accounts import Perm, SignedIn
from ...findings import Finding, RuqiError, error
from ...stats import TABLES, NoSuchTable, Period, rounds, table, write_blanks
from ...stats.aggregate import (
    Aggregate,
    aggregate,
    file_report,
    incomplete_finding,
    status_line,
    write_aggregate,
)
from ...stats.blank import file_name
from ...stats.codes import StatsCode
from ...stats.submissions import get_round, stats_session
from ...stats.units import units_for
from ...workspace import Workspace
from ..made import scratch, send_made
from ..render import NavItem, render
from ..security import need
from .common import form_date

router = APIRouter()
NAV = NavItem("统计", "/stats", Perm.READ, order=60)

STATE_CLASS = {"已报送": "ok", "逾期报送": "warn", "已退回": "bad", "未报送": "bad"}


def _choice(table_no: str | int | None, period: str | None) -> tuple[int, Period] | Finding | None:
    if not table_no and not period:
        return None
    try:
        t = table(str(table_no))
        return t.no, Period.parse(str(period or ""))
    except (NoSuchTable, ValueError) as e:
        return error(StatsCode.BAD_ARGUMENT, str(e) or "附件号或期次无法识别。")


@router.get("/stats")
def page(request: Request, table_no: str | None = Query(None, alias="table"), period: str | None = None, sent: int = 0,
         user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ws = request.app.state.ws
    chosen = _choice(table_no, period)
    ctx: dict[str, Any] = {"title": "统计表", "rounds": rounds(ws), "tables": TABLES, "sent": sent,
                           "may_stats": user.may(Perm.STATS), "chosen": None, "problem": None}
    if isinstance(chosen, Finding):
        ctx["problem"] = chosen
    elif chosen is not None:
        agg = aggregate(ws, *chosen)
        ctx.update(chosen=agg, lines=[_line(ln) for ln in agg.lines], status=status_line(agg),
                   gap=incomplete_finding(agg), blanks=len(_blank_files(ws, *chosen)),
                   title=f"{agg.table.label} {agg.table.title_for(agg.period)}（{agg.period.label_zh}）")
    return render(request, "stats.html", ctx)


def _line(ln: Any) -> dict[str, Any]:
    when = ln.received_at or (ln.rejection.received_at if ln.returned and ln.rejection else None)
    return {"unit": ln.unit.name, "state": ln.state, "css": STATE_CLASS.get(ln.state, ""), "at": when,
            "late_days": ln.late_days, "version": ln.version or "", "hints": ln.hints()}


def _target(table_no: str, period: str) -> tuple[int, Period]:
    chosen = _choice(table_no, period)
    if not isinstance(chosen, tuple):
        raise RuqiError(chosen or error(StatsCode.BAD_ARGUMENT, "请选择附件号并填写期次（例如 2025Q2）。"))
    return chosen


@router.post("/stats/blanks")
async def send_out(request: Request, user: SignedIn = Depends(need(Perm.STATS))) -> Response:
    form = await request.form()
    t, p = _target(str(form.get("table") or ""), str(form.get("period") or ""))
    due_text = str(form.get("due") or "").strip()
    due = form_date(due_text)
    if due_text and due is None:
        raise RuqiError(error(StatsCode.BAD_ARGUMENT, f"截止日期“{due_text}”无法识别，请写成 2025-06-18。"))
    batch = await run_in_threadpool(write_blanks, request.app.state.ws, t, p, due=due, actor=user.name)
    return RedirectResponse(f"/stats?table={t}&period={p}&sent={len(batch.files)}", status_code=303)


def _blank_files(ws: Workspace, t: int, p: Period) -> list[Any]:
    """The blanks of the round as ``write_blanks`` named them (``outbox/stats/<period>/``)."""
    with stats_session(ws) as s:
        rnd = get_round(s, t, p)
        codes = list(rnd.unit_codes) if rnd else []
    td = table(t)
    folder = ws.outbox / "stats" / str(p)
    found = []
    for u in units_for(ws.config):
        f = folder / file_name(td, p, u)
        if u.code in codes and f.is_file() and not f.is_symlink():
            found.append(f)
    return found


@router.get("/stats/blanks.zip")
def blanks_zip(request: Request, table_no: str = Query("", alias="table"), period: str = "",
               user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ws = request.app.state.ws
    t, p = _target(table_no, period)
    files = _blank_files(ws, t, p)
    if not files:
        raise RuqiError(error(StatsCode.NO_BLANKS, "这一期还没有下发空白表，请先点“下发空白表”。"))
    out = scratch(ws) / f"{table(t).label}-空白表-{p}.zip"
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in files:
            z.write(f, f.name)
    return send_made(ws, out)


def _made(ws: Workspace, t: int, p: Period, pdf: bool) -> tuple[Aggregate, Any, Any]:
    agg = aggregate(ws, t, p)
    xlsx, report = write_aggregate(agg, scratch(ws) / f"{agg.table.label}汇总-{p}.xlsx", pdf=pdf)
    return agg, xlsx, report


@router.get("/stats/aggregate.xlsx")
async def aggregate_xlsx(request: Request, table_no: str = Query("", alias="table"), period: str = "",
                         user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ws = request.app.state.ws
    t, p = _target(table_no, period)
    _agg, xlsx, _ = await run_in_threadpool(_made, ws, t, p, False)
    return send_made(ws, xlsx)


@router.get("/stats/aggregate.pdf")
async def aggregate_pdf(request: Request, table_no: str = Query("", alias="table"), period: str = "",
                        user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ws = request.app.state.ws
    t, p = _target(table_no, period)
    _agg, xlsx, pdf = await run_in_threadpool(_made, ws, t, p, True)
    xlsx.unlink(missing_ok=True)
    return send_made(ws, pdf, inline=True)


@router.post("/stats/archive")
async def archive(request: Request, user: SignedIn = Depends(need(Perm.STATS))) -> Response:
    ws = request.app.state.ws
    form = await request.form()
    t, p = _target(str(form.get("table") or ""), str(form.get("period") or ""))
    partial = form.get("partial") == "1"

    def run() -> tuple[Aggregate, list[Any]]:
        agg, xlsx, pdf = _made(ws, t, p, True)
        try:
            return agg, file_report(ws, agg, [xlsx, pdf], actor=user.name, partial=partial)
        finally:
            for f in (xlsx, pdf):
                f.unlink(missing_ok=True)
            xlsx.parent.rmdir()

    agg, filed = await run_in_threadpool(run)
    return render(request, "stats_filed.html", {"title": "汇总已归档", "agg": agg, "filed": filed,
                                                "partial": partial and incomplete_finding(agg) is not None,
                                                "today": date.today()})
