"""待核对: the cards waiting for a person, one card at a time, decided with a click or the keyboard.

The same library as ``ruqi confirm`` (``engine.confirm``): ``waiting_cards`` is the queue (the
machine's reading and confidence per question, days waiting), ``confirm_sheet.sheet_context``
gives the card's picture and its ten answer rows cropped from the scan, and ``confirm`` records
the person's reading under the signed-in user's name (audit log: who, when, what the machine read,
what the person recorded).  Only the questions still open are sent: a question the machine has
read is shown, not overwritten (a correction stays with ``ruqi confirm --correct --reason``).

- ``GET /pending``: the queue, longest waiting first, 50 cards a page (``engine.web.paging``);
- ``GET /pending/<item id>``: one card; keyboard (``static/pending.js``): ``Y``/``N`` (or ``1``/
  ``2``, 是/否) answer the selected question and move to the next open one, digits ``1``–``0``
  with ``Alt`` or the arrow keys select a question, ``Enter`` confirms; a card whose serial
  could not be read asks for the serial printed on it first;
- ``POST /pending/<item id>``: record, then the next waiting card.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import String, cast, select
from starlette.concurrency import run_in_threadpool

from ...accounts import Perm, SignedIn
from ...archive.models import ItemRecord
from ...confirm import ConfirmCode, ConfirmResult, WaitingCard, confirm, waiting_card, waiting_cards
from ...confirm_sheet import sheet_context
from ...db import session
from ...findings import RuqiError, error
from ...inbox.cards import RETURNED, UNMATCHED
from ...inbox.codes import Flag
from ...readback.common import NO, YES
from ...readings import QUESTIONS
from ...workspace import Workspace
from ..files import FileNotServed
from ..paging import page_of
from ..render import NavItem, render
from ..security import need
from .common import today_of

router = APIRouter()
NAV = NavItem("待核对", "/pending", Perm.CONFIRM, order=30)


@router.get("/pending")
def queue(request: Request, done: str = "", user: SignedIn = Depends(need(Perm.READ))) -> Response:
    cards = waiting_cards(request.app.state.ws, today_of(request))
    pager = page_of(request, len(cards))
    return render(request, "pending.html", {"title": "待核对的反馈卡", "cards": pager.rows(cards), "total": len(cards),
                                            "first": cards[0] if cards else None, "pager": pager, "done": done,
                                            "may_confirm": user.may(Perm.CONFIRM)})


def next_waiting(ws: Workspace, after: int, today: date) -> WaitingCard | None:
    """The next card to decide after ``after``: the first waiting one among the cards filed as needing a
    person (one card looked at at a time, so a clerk's next card never waits for the whole queue)."""
    with session(ws) as s:
        ids = list(s.scalars(select(ItemRecord.id).where(
            ItemRecord.form_type.in_((RETURNED, UNMATCHED)), cast(ItemRecord.flags, String).like(f"%{Flag.NEEDS_REVIEW}%"),
            ItemRecord.id != after).order_by(ItemRecord.id)))
    for i in sorted(ids, key=lambda i: (i < after, i)):  # the cards after this one first, then from the start
        c = waiting_card(ws, i, today)
        if c is not None:
            return c
    return None


@router.get("/pending/{item_id}")
def card(request: Request, item_id: int, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    c = waiting_card(request.app.state.ws, item_id, today_of(request))
    if c is None:
        return RedirectResponse("/pending", status_code=303)  # read meanwhile (by someone else): back to the queue
    return _card_page(request, c, user)


def _card_page(request: Request, c: WaitingCard, user: SignedIn, result: ConfirmResult | None = None,
               status_code: int = 200) -> Response:
    sheet = sheet_context(request.app.state.ws, c)
    return render(request, "pending_card.html", {
        "title": f"核对反馈卡：{c.serial or c.archival_code}", "c": c, "sheet": sheet, "rows": _rows(c, sheet),
        "result": result, "may_confirm": user.may(Perm.CONFIRM), "YES": YES, "NO": NO}, status_code=status_code)


def _rows(c: WaitingCard, sheet: dict[str, Any]) -> list[dict[str, Any]]:
    """Per question: the crop, the machine's reading and confidence, whether it is still open."""
    out = []
    for q in sheet["questions"]:
        n = q["n"]
        machine = c.machine.get(n)
        now = c.now.get(n)
        out.append({**q, "open": n in c.unresolved,
                    "machine_answer": machine.answer if machine else None,
                    "confidence": f"{machine.confidence:.0%}" if machine and machine.answer else "",
                    "how": machine.how.zh if machine else "",
                    "answer": now.answer if now is not None and now.resolved else None})
    return out


@router.post("/pending/{item_id}")
async def record(request: Request, item_id: int, user: SignedIn = Depends(need(Perm.CONFIRM))) -> Response:
    ws = request.app.state.ws
    form = await request.form()
    c = await run_in_threadpool(waiting_card, ws, item_id, today_of(request))
    if c is None:
        raise FileNotServed(str(item_id))
    given = {n: str(form.get(f"q{n}") or "") for n in QUESTIONS}
    bad = [n for n, a in given.items() if a and a not in (YES, NO)]
    if bad:
        raise RuqiError(error(ConfirmCode.ANSWER_INVALID, f"第{'、'.join(map(str, bad))}题的答案只能是“是”或“否”。"))
    questions = [f"{n}={given[n]}" for n in c.unresolved if given[n]]
    # A card without a serial, or filed under one read off the print, is named by its 档号 with the
    # serial the person reads on the original (the second a confirmation of the machine's).
    by_code = c.needs_serial or c.serial_unconfirmed
    serial = str(form.get("serial") or "").strip() if by_code else ""
    missing = [n for n in c.unresolved if not given[n]]
    res: ConfirmResult | None = None
    if missing and not (by_code and serial and not c.unresolved):
        res = ConfirmResult(c.serial or c.archival_code)
        res.findings.add(error(ConfirmCode.UNANSWERED, f"第{'、'.join(map(str, missing))}题还没有选择“是”或“否”，"
                                                       "请选好后再确认。"))
    else:
        res = await run_in_threadpool(lambda: confirm(ws, c.archival_code if by_code else c.serial,
                                                      questions=questions, by=user.name, serial=serial or None))
    if not res.ok:
        return _card_page(request, c, user, res, status_code=400)
    done = res.serial or c.archival_code
    nxt = await run_in_threadpool(next_waiting, ws, item_id, today_of(request))
    if nxt is not None:
        return RedirectResponse(f"/pending/{nxt.item_id}?done={done}", status_code=303)
    return RedirectResponse(f"/pending?done={done}", status_code=303)
