"""审查: the 纪委 review list with filters, one inspection with its documents and audit history, the BagIt export.

Everyone signed in may read (a reviewer is read-only for the rest of the site); only a role with
``Perm.EXPORT_REVIEW`` downloads the package.  The list's counts and filters are the stored review
rows (``engine.review.stored``), its page's entries ``engine.review.build_review``; the export is
``engine.review.export.export_bundle`` zipped for the browser.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from ...accounts import Perm, SignedIn
from ...archive import FORM_LABELS, action_zh, history, items_for_serial
from ...archive.audit import Entry as AuditEntry
from ...forms import CARD_QUESTIONS
from ...forms.types import FormType
from ...review import (
    CARD_STATE_ZH,
    FLAG_ZH,
    CardState,
    Entry,
    Review,
    ReviewFlag,
    build_entry,
    build_review,
)
from ...review.collect import page_serials
from ...review.counts import ALERT_ROWS, count_rows
from ...review.export import export_bundle, zip_bag
from ...review.stored import entries_of, stored_counts, stored_serials
from ...text import printable
from ..files import FileNotServed, send_file
from ..paging import Page, page_of
from ..render import NavItem, render
from ..security import need
from .common import form_date, today_of

router = APIRouter()
NAV = NavItem("审查", "/review", Perm.READ, order=60)
EXPORTS = "审查包"  # under outbox/
RETURNED = "returned"  # ?cards=returned: every card that came back, whatever its state
RECEIVED = (CardState.RECEIVED, CardState.LATE, CardState.EARLY, CardState.NEEDS_REVIEW)


def _flag(value: str | None) -> ReviewFlag | None:
    try:
        return ReviewFlag(value) if value else None
    except ValueError:
        return None


@router.get("/review")
def review_list(request: Request, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    """The list a page at a time, counted and paged by the database; only the page's entries are built
    (``build_review(serials=…)``: the same entries as the whole list's).  Unfiltered, the register's
    visits are paged (``page_serials``); filtered by a kind of finding, an inspector or the cards back,
    the stored review rows (``engine.review.stored``: what ``select_entries`` would pick).  The counts
    come by ``/review/summary``."""
    q = request.query_params
    date_from, date_to = form_date(q.get("from")), form_date(q.get("to"))
    county, inspector = (q.get("county") or "").strip() or None, (q.get("inspector") or "").strip() or None
    flag, cards = _flag(q.get("flag")), q.get("cards") or ""
    today = today_of(request)
    if flag or inspector or cards == RETURNED:
        pager, r, shown = _filtered_page(request, date_from, date_to, county, today, flag=flag, inspector=inspector,
                                         card_states=RECEIVED if cards == RETURNED else None)
    else:
        pager, r = _one_page(request, date_from, date_to, county, today)
        shown = r.entries
    filters = {"from": q.get("from") or "", "to": q.get("to") or "", "county": county or "",
               "inspector": inspector or "", "flag": flag.value if flag else "", "cards": cards}
    return render(request, "review_list.html", {
        "title": "纪委审查", "r": r, "rows": shown, "total": pager.total, "pager": pager, "filters": filters,
        "flags": [(f.value, FLAG_ZH[f]) for f in ReviewFlag], "flag_zh": FLAG_ZH, "card_zh": CARD_STATE_ZH,
        "can_export": user.may(Perm.EXPORT_REVIEW), "summary": None,
    })


def _one_page(request: Request, date_from: date | None, date_to: date | None, county: str | None,
              today: date) -> tuple[Page, Review]:
    """The asked page of the unfiltered list: counted and paged by the database, its entries built alone."""
    ws = request.app.state.ws
    asked = page_of(request, 10**9)  # the page number asked for, before the total is known
    total, serials = page_serials(ws, date_from, date_to, county, offset=asked.offset, limit=asked.size)
    pager = page_of(request, total)
    if pager.offset != asked.offset:  # asked beyond the last page: show the last
        total, serials = page_serials(ws, date_from, date_to, county, offset=pager.offset, limit=pager.size)
    r = build_review(ws, date_from, date_to, county, today=today, read_cards=False, documents=False, serials=serials)
    return pager, r


def _filtered_page(request: Request, date_from: date | None, date_to: date | None, county: str | None,
                   today: date, **which: Any) -> tuple[Page, Review, list[Entry]]:
    """The asked page of a filtered list: picked and paged from the stored review rows, its entries built alone."""
    ws = request.app.state.ws
    asked = page_of(request, 10**9)
    total, serials = stored_serials(ws, date_from, date_to, county, today=today, offset=asked.offset,
                                    limit=asked.size, **which)
    pager = page_of(request, total)
    if pager.offset != asked.offset:
        total, serials = stored_serials(ws, date_from, date_to, county, today=today, offset=pager.offset,
                                        limit=pager.size, **which)
    r, shown = entries_of(ws, serials, date_from, date_to, county, today=today)
    return pager, r, shown


@router.get("/review/summary")
def review_summary(request: Request, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    """The review list's counts (and its notes, the county and inspector choices) for its selection,
    from the stored review rows."""
    q = request.query_params
    county = (q.get("county") or "").strip() or None
    c = stored_counts(request.app.state.ws, form_date(q.get("from")), form_date(q.get("to")), county,
                      today=today_of(request))
    return render(request, "_review_summary.html", {"summary": count_rows(c), "alerts": ALERT_ROWS, "notes": c.notes,
                                                     "counties": c.counties, "inspectors": c.inspectors})


def _details(e: AuditEntry) -> str:
    """An audit entry's details in one line (a filed item: its title; otherwise the plain values)."""
    d = e.details
    if isinstance(d.get("item"), dict):
        item = d["item"]
        return f"{item.get('title', '')}（{item.get('format', '')}）"
    parts = []
    for k, v in d.items():
        if isinstance(v, list | dict):
            v = "、".join(map(str, v)) if isinstance(v, list) and all(not isinstance(x, dict) for x in v) else "…"
        parts.append(f"{k}：{v}")
    return printable("；".join(parts))[:300]


@router.get("/review/{serial}")
def inspection(request: Request, serial: str, show: int | None = None,
               user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ws = request.app.state.ws
    entry = build_entry(ws, serial, today=today_of(request))
    if entry is None:
        return render(request, "error.html", {"title": "找不到这次检查", "message": f"台账中没有检查编号“{serial}”。"},
                      status_code=404)
    items = items_for_serial(ws, serial)
    pdfs = [i for i in items if i.format == "pdf"]
    returned = [i for i in pdfs if i.form_type == FormType.CARD_RETURNED]
    shown = next((i for i in pdfs if i.id == show), None) or (returned[-1] if returned else None)
    log = [(e, action_zh(e.action), _details(e)) for e in history(ws, serial)]
    return render(request, "review_one.html", {
        "title": f"检查 {serial}", "e": entry, "items": items, "shown": shown, "labels": FORM_LABELS, "log": log,
        "flag_zh": FLAG_ZH, "card_zh": CARD_STATE_ZH, "questions": list(enumerate(CARD_QUESTIONS, start=1)),
        "can_export": user.may(Perm.EXPORT_REVIEW),
    })


@router.post("/review/export")
def export(request: Request, date_from: str = Form("", alias="from"), date_to: str = Form("", alias="to"),
           county: str = Form(""), only_flagged: str = Form(""),
           user: SignedIn = Depends(need(Perm.EXPORT_REVIEW))) -> Response:
    ws = request.app.state.ws
    stamp = f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    res = export_bundle(ws, ws.outbox / EXPORTS / f"审查包-{stamp}", form_date(date_from), form_date(date_to),
                        county.strip() or None, bool(only_flagged), today=today_of(request))
    if not res.ok:
        return render(request, "error.html", {"title": "审查包未能完整导出", "findings": list(res.findings.items)},
                      status_code=500)
    archive_zip = zip_bag(res.bag_dir)
    if not archive_zip.is_relative_to(ws.outbox):
        raise FileNotServed(str(archive_zip))
    return send_file(ws, archive_zip, archive_zip.name)
