"""档案: search as ``ruqi archive search`` does; the 四性检测 result and when it last ran (and running it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ... import archive
from ...accounts import Perm, SignedIn
from ...archive.verify import CHECK_OF, Check, code_zh
from ...labels import FLAG_ZH, flag_zh
from ..render import NavItem, render
from ..security import need
from .common import form_date

router = APIRouter()
NAV = NavItem("档案", "/archive", Perm.READ, order=70)
SHOWN = 500  # rows on the page; the count says how many matched
FIELDS = ("enterprise", "uscc", "serial", "county", "form_type", "from", "to", "flag", "year")


def _last_verify(ws: Any) -> dict[str, Any] | None:
    """The latest recorded 四性检测: when, by whom, and each of the four checks' result."""
    entries = archive.audit_log(ws, limit=1, action=archive.Action.VERIFY)
    if not entries:
        return None
    e = entries[-1]
    d = e.details
    checks = d.get("checks")
    if not isinstance(checks, dict):  # recorded before the checks were: decided from its codes
        failed = {str(CHECK_OF.get(c, Check.INTEGRITY)) for c in d.get("codes", [])} if not d.get("ok") else set()
        checks = {str(c): str(c) not in failed for c in Check}
    return {"entry": e, "ok": bool(d.get("ok")), "items": d.get("items"), "deep": d.get("deep"),
            "head": d.get("head", ""), "checks": checks, "codes": [(str(c), code_zh(str(c))) for c in d.get("codes", [])]}


EXAMPLES = 5  # findings shown per code; `ruqi archive verify --json` has them all


def _grouped(rep: archive.VerifyReport | None) -> list[tuple[str, str, bool, int, list[Any]]]:
    """(code, its Chinese name, is an error, how many, the first few) per finding code, errors first."""
    if rep is None:
        return []
    by: dict[str, list[Any]] = {}
    for f in rep.findings:
        by.setdefault(f.code, []).append(f)
    rows = [(code, code_zh(code), any(f.is_error for f in fs), len(fs), fs[:EXAMPLES]) for code, fs in by.items()]
    return sorted(rows, key=lambda r: (not r[2], r[0]))


def _page(request: Request, user: SignedIn, report: archive.VerifyReport | None = None,
          behind: Any = None) -> Response:
    ws = request.app.state.ws
    q = request.query_params
    asked = {k: (q.get(k) or "").strip() for k in FIELDS}
    rows: list[archive.ItemRow] = []
    searched = any(asked.values())
    if searched:
        year = int(asked["year"]) if asked["year"].isdigit() else None
        rows = archive.search(ws, enterprise=asked["enterprise"] or None, uscc=asked["uscc"] or None,
                              serial=asked["serial"] or None, county=asked["county"] or None,
                              form_type=asked["form_type"] or None, date_from=form_date(asked["from"]),
                              date_to=form_date(asked["to"]), flag=asked["flag"] or None, year=year,
                              latest_only=q.get("latest") == "1")
    return render(request, "archive.html", {
        "title": "档案", "asked": asked, "latest": q.get("latest") == "1", "searched": searched,
        "rows": rows[:SHOWN], "total": len(rows), "labels": archive.FORM_LABELS, "flag_labels": FLAG_ZH, "flag_zh": flag_zh,
        "last": _last_verify(ws), "report": report, "grouped": _grouped(report), "behind": behind, "checks": [str(c) for c in Check],
        "can_verify": user.may(Perm.VERIFY),
    })


@router.get("/archive")
def archive_page(request: Request, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    return _page(request, user)


@router.post("/archive/verify")
def run_verify(request: Request, user: SignedIn = Depends(need(Perm.VERIFY))) -> Response:
    rep, behind = archive.verify_and_record(request.app.state.ws)
    return _page(request, user, rep, behind)
