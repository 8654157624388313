"""生成: the plan template, a filled plan checked row by row, generation, over-cap approval, the batch.

The same calls as ``ruqi plan-template`` and ``ruqi generate [--check] [--allow-over-cap ROWS
--reason …]`` (``engine.plan.write_template``, ``engine.generate.generate``): the page shows each
row's outcome with the engine's own Chinese findings (row and column), nothing re-checked here.

- ``GET /generate``: template download, the upload form, the recent batches;
- ``POST /generate/plans``: stream the plan into ``outbox/plans/<id>/`` (``engine.outbox``), then
  show it checked (``/generate/plans/<id>``: ``generate(check=True)``, registers nothing);
- ``POST /generate/plans/<id>/run``: generate.  Over-cap rows are approved by ticking them and
  giving a reason: that needs ``Perm.APPROVE_OVER_CAP`` (admin), checked here on the server for
  the request that carries the approval, whatever the form showed;
- ``GET /generate/batches/<name>`` (``/zip``, ``/print``): a batch by the name ``engine.outbox``
  lists, its rows, one zip of every file, a print view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ...accounts import Perm, SignedIn
from ...findings import Finding, error, located
from ...generate import STATUS_ZH, BatchResult, GenCode, RowOutcome, RowStatus, generate, parse_rows
from ...outbox import BatchInfo, batch_rows, batches, find_batch, find_plan, new_plan_path, plans, zip_batch
from ...plan import write_template
from ..files import FileNotServed, WebCode, receive_files
from ..made import scratch, send_made
from ..render import NavItem, render
from ..security import Forbidden, need
from .common import today_of

router = APIRouter()
NAV = NavItem("生成", "/generate", Perm.GENERATE, order=10)

TEMPLATE_NAME = "入企检查计划.xlsx"
PLAN_SUFFIXES = (".xlsx", ".xlsm")
STATUS_CLASS = {"generated": "ok", "ready": "ok", "refused": "warn", "invalid": "bad"}


@router.get("/generate")
def page(request: Request, user: SignedIn = Depends(need(Perm.GENERATE))) -> Response:
    ws = request.app.state.ws
    return render(request, "generate.html", {"title": "生成文书", "batches": batches(ws)[:20],
                                             "plans": plans(ws)[:10]})


@router.get("/generate/template")
def template(request: Request, user: SignedIn = Depends(need(Perm.GENERATE))) -> Response:
    """The blank plan of ``ruqi plan-template``, written fresh for each download."""
    ws = request.app.state.ws
    return send_made(ws, write_template(scratch(ws) / TEMPLATE_NAME))


@router.post("/generate/plans")
async def upload(request: Request, user: SignedIn = Depends(need(Perm.GENERATE))) -> Response:
    ws = request.app.state.ws
    got = await receive_files(request, ws, max_files=1)
    refused = list(got.refused)
    staged = got.files[0] if got.files else None
    if staged is not None and not staged.name.lower().endswith(PLAN_SUFFIXES):
        refused.append(error(WebCode.UPLOAD_BAD, f"“{staged.name}”不是 Excel 计划表（.xlsx）。请用“下载空白计划表”"
                                                 "填写后上传；WPS 请另存为 .xlsx 格式。", staged.name))
        staged = None
    if staged is None:
        got.discard()
        if not refused:
            refused.append(error(WebCode.UPLOAD_EMPTY, "没有选择计划表文件。"))
        return render(request, "generate.html", {"title": "生成文书", "batches": batches(ws)[:20],
                                                 "plans": plans(ws)[:10], "refused": refused}, status_code=400)
    target = new_plan_path(ws, staged.name)
    staged.path.replace(target)
    return RedirectResponse(f"/generate/plans/{target.parent.name}", status_code=303)


def _plan_or_404(request: Request, plan_id: str):  # type: ignore[no-untyped-def]
    plan = find_plan(request.app.state.ws, plan_id)
    if plan is None:
        raise FileNotServed(plan_id)
    return plan


@router.get("/generate/plans/{plan_id}")
async def checked(request: Request, plan_id: str, user: SignedIn = Depends(need(Perm.GENERATE))) -> Response:
    """The plan as ``ruqi generate --check`` sees it: nothing registered, rendered or filed."""
    plan = _plan_or_404(request, plan_id)
    ws = request.app.state.ws
    result = await run_in_threadpool(generate, ws, plan.path, check=True, today=today_of(request), actor=user.name)
    return render(request, "generate_plan.html", {
        "title": f"检查计划：{plan.name}", "plan": plan, "result": result, "rows": _rows(result),
        "counts": _counts(result), "may_approve": user.may(Perm.APPROVE_OVER_CAP)})


@router.post("/generate/plans/{plan_id}/run")
async def run(request: Request, plan_id: str, user: SignedIn = Depends(need(Perm.GENERATE))) -> Response:
    plan = _plan_or_404(request, plan_id)
    ws = request.app.state.ws
    form = await request.form()
    approve = [str(v) for v in form.getlist("approve") if str(v).strip()]
    reason = str(form.get("reason") or "").strip()
    approval: Any = False
    if approve:
        if not user.may(Perm.APPROVE_OVER_CAP):  # the server decides, not the form the page showed
            raise Forbidden(Perm.APPROVE_OVER_CAP, user)
        approval = parse_rows(",".join(approve))
        if approval is None:
            return _refused(request, error(GenCode.APPROVAL_ROWS_INVALID, "批准的行号无法识别。"))
        if not reason:  # asked before generate() so that no batch folder is started for nothing
            return _refused(request, error(GenCode.REASON_REQUIRED, "批准超次数检查必须写明理由（例如“群众举报，经局长批准”）。"
                                                                   "请返回上一页填写理由后重新生成。"))
    result: BatchResult = await run_in_threadpool(
        generate, ws, plan.path, allow_over_cap=approval or False, reason=reason, today=today_of(request),
        actor=user.name)
    if not result.batch or not result.outcomes:  # refused as a whole (reason missing, templates broken …)
        return render(request, "generate_plan.html", {
            "title": f"检查计划：{plan.name}", "plan": plan, "result": result, "rows": _rows(result),
            "counts": _counts(result), "may_approve": user.may(Perm.APPROVE_OVER_CAP)}, status_code=400)
    return RedirectResponse(f"/generate/batches/{result.batch}", status_code=303)


def _refused(request: Request, finding: Finding) -> Response:
    return render(request, "error.html", {"title": "无法生成", "findings": [finding]}, status_code=400)


def _counts(result: BatchResult) -> dict[str, int]:
    return {str(s): result.count(s) for s in RowStatus}


def _rows(result: BatchResult) -> list[dict[str, Any]]:
    return [_row(o.to_json(), o) for o in result.outcomes]


def _row(j: dict[str, Any], o: RowOutcome | None = None) -> dict[str, Any]:
    """One table row of the page, from a RowOutcome's JSON (a live check, or a batch's manifest)."""
    status = j.get("status", "")
    try:
        zh = STATUS_ZH[RowStatus(status)]
    except ValueError:
        zh = status
    insp = o.inspection if o is not None else None
    if j.get("over_cap"):
        zh += "（超次数，已批准）"
    return {
        "row": j.get("row"), "status": status, "status_zh": zh, "css": STATUS_CLASS.get(status, ""),
        "serial": j.get("serial") or "", "enterprise": j.get("enterprise") or "",
        "county": insp.county if insp else "", "kind": insp.kind if insp else "",
        "start": insp.start if insp else None, "issue_date": j.get("issue_date"),
        "visit_total": j.get("visit_total"), "visit_kind": j.get("visit_kind"),
        "errors": [_said(e) for e in j.get("errors", []) if e.get("severity") == "error"],
        "notes": [_said(e) for e in j.get("errors", []) if e.get("severity") != "error"],
        "refused": status == RowStatus.REFUSED, "files": [Path(p).name for p in j.get("files", [])],
    }


def _said(e: dict[str, Any]) -> dict[str, str]:
    """A finding as the clerk reads it: its place (row, column) once, then the message."""
    return {"text": located(e.get("message", ""), e.get("where", ""), "{}："), "code": str(e.get("code", ""))}


def _batch_or_404(request: Request, name: str) -> BatchInfo:
    info = find_batch(request.app.state.ws, name)
    if info is None:
        raise FileNotServed(name)
    return info


def _batch_context(info: BatchInfo) -> dict[str, Any]:
    rows = [_row(j) for j in batch_rows(info)]
    counts = {s: sum(r["status"] == s for r in rows) for s in ("generated", "refused", "invalid")}
    return {"title": f"生成批次：{info.name}", "batch": info, "rows": rows, "counts": counts}


@router.get("/generate/batches/{name}")
def batch(request: Request, name: str, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    return render(request, "generate_batch.html", _batch_context(_batch_or_404(request, name)))


@router.get("/generate/batches/{name}/print")
def batch_print(request: Request, name: str, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    return render(request, "generate_print.html", _batch_context(_batch_or_404(request, name)))


@router.get("/generate/batches/{name}/zip")
async def batch_zip(request: Request, name: str, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    """Every file of the batch in one zip (written to a file first: a zip ends with its directory)."""
    info = _batch_or_404(request, name)
    ws = request.app.state.ws
    out = scratch(ws) / f"{info.name}.zip"
    with out.open("wb") as f:
        await run_in_threadpool(zip_batch, info, f)
    return send_made(ws, out)
