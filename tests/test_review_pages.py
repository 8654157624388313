"""The review list a page at a time gives exactly the entries of the whole list, and the faster build
(plain rows, returned cards only, each inspection counted once) decides every flag and count as
before: checked on the planted month (是, late, overdue, over the cap, a suspect card, a stated visit
number off, a 是 withdrawn on a second card, a voided visit) against the whole list and a plain
recount."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from _web_fixtures import Client, month_site

from engine.db import session
from engine.review import ReviewFlag, build_review
from engine.review.collect import _RECEIVED, Review, entry_dict, page_serials, review_dict
from engine.review.stored import FLAG_BITS, ReviewRow, pending
from engine.void import void_visit
from engine.web.server import keep_current
from engine.workspace import Workspace
from tests._review_fixtures import JUNE, TODAY, Filed, Planted
from tests._web_fixtures import PASSWORD


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Planted, Filed, Any, dict[str, str]]]:
    with month_site(tmp_path_factory.mktemp("pages")) as got:
        ws, p, _, _, _ = got
        void_visit(ws, next(iter(p.yes)), "误登记：测试", actor="管理员")
        yield got


def _without_documents(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "documents"}


SELECTIONS = [(None, None, None), (*JUNE, None), (date(2025, 5, 1), date(2025, 7, 31), "平城区")]


@pytest.mark.parametrize("size", [1, 4, 7])
def test_every_page_has_exactly_the_entries_of_the_whole_list(site, size: int) -> None:  # type: ignore[no-untyped-def]
    ws = site[0]
    for date_from, date_to, county in SELECTIONS:
        whole = build_review(ws, date_from, date_to, county, today=TODAY)
        by_serial = {e.serial: e for e in whole.entries}
        seen: list[str] = []
        for offset in range(0, len(whole.entries) + size, size):
            total, serials = page_serials(ws, date_from, date_to, county, offset=offset, limit=size)
            assert total == len(whole.entries)
            part = build_review(ws, date_from, date_to, county, today=TODAY, serials=serials)
            assert [e.serial for e in part.entries] == serials
            assert [entry_dict(e) for e in part.entries] == [entry_dict(by_serial[s]) for s in serials]
            seen += serials
        assert seen == [e.serial for e in whole.entries]
    flagged = {f for e in build_review(ws, today=TODAY).entries for f in e.flags}
    assert {ReviewFlag.VIOLATION, ReviewFlag.CARD_LATE, ReviewFlag.CARD_OVERDUE, ReviewFlag.OVER_CAP,
            ReviewFlag.SUSPECT, ReviewFlag.VISIT_MISMATCH} <= flagged  # the fixture has every kind of finding


def test_without_the_other_originals_every_finding_and_count_is_the_same(site) -> None:  # type: ignore[no-untyped-def]
    ws = site[0]
    for date_from, date_to, county in SELECTIONS:
        full = review_dict(build_review(ws, date_from, date_to, county, today=TODAY, read_cards=False))
        lean = review_dict(build_review(ws, date_from, date_to, county, today=TODAY, read_cards=False,
                                        documents=False))
        for key in ("entries", "voided"):
            full[key], lean[key] = ([_without_documents(e) for e in d[key]] for d in (full, lean))
        assert lean == full


def _recount(r: Review, names: Any) -> dict[str, dict[str, int]]:
    """The tallies counted the plain way: every field, entry by entry."""
    sus = {c.entry.serial for c in r.suspects if c.entry}
    mis = {m.entry.serial for m in r.mismatches}
    out: dict[str, dict[str, int]] = {}
    for e in r.entries:
        for name in names(e):
            t = out.setdefault(name, dict.fromkeys(("inspections", "received", "late", "violations", "yes_answers",
                                                    "over_cap", "suspect", "mismatches", "flagged", "overdue"), 0))
            t["inspections"] += 1
            t["received"] += e.card in _RECEIVED
            t["overdue"] += e.card.name == "OVERDUE"
            t["late"] += ReviewFlag.CARD_LATE in e.flags
            t["violations"] += ReviewFlag.VIOLATION in e.flags
            t["yes_answers"] += len(e.yes_questions)
            t["over_cap"] += ReviewFlag.OVER_CAP in e.flags
            t["suspect"] += e.serial in sus
            t["mismatches"] += e.serial in mis
            t["flagged"] += bool(e.flags)
    return out


def test_the_tallies_are_the_plain_recount(site) -> None:  # type: ignore[no-untyped-def]
    r = build_review(site[0], *JUNE, today=TODAY)
    live = [e for e in r.entries]
    assert live and not any(ReviewFlag.VOIDED in e.flags for e in live)
    for tallies, names in ((r.by_county, lambda e: [e.county]),
                           (r.by_inspector, lambda e: list(dict.fromkeys(e.team.inspectors)))):
        want = _recount(r, names)
        voided_yes = {n for x in r.voided if ReviewFlag.VIOLATION in x.entry.flags for n in names(x.entry)}
        for t in tallies:
            if t.name in want and t.name not in voided_yes:
                assert {k: getattr(t, k) for k in want[t.name]} == want[t.name], t.name
        assert sum(t.inspections for t in tallies if t.name in want) == sum(len(names(e)) for e in live)


def test_the_web_list_shows_a_page_first_and_its_counts_after(site) -> None:  # type: ignore[no-untyped-def]
    ws, p, _, srv, names = site
    c = Client(srv.url)
    assert c.login(names["reviewer"], PASSWORD).status == 303
    url = "/review?from=2025-05-01&to=2025-07-31"
    first = c.get(url)
    whole = build_review(ws, date(2025, 5, 1), date(2025, 7, 31), today=TODAY, read_cards=False)
    shown = re.findall(r'<a href="/review/(140200-2025-\d{4})">', first.text)
    assert shown == [e.serial for e in whole.entries][:50]
    assert f"检查清单（{len(whole.entries)} 次）" in first.text
    assert 'hx-get="/review/summary?from=2025-05-01&amp;to=2025-07-31"' in first.text
    for e in whole.entries[:50]:  # every row's findings are the whole list's
        row = first.text.split(f'<a href="/review/{e.serial}">', 1)[1].split("</tr>", 1)[0]
        assert all(f.zh in row for f in e.flags)
    counts = c.get("/review/summary?from=2025-05-01&to=2025-07-31")
    n_yes = len(whole.violations)
    assert counts.status == 200 and re.search(rf"反馈“是”的检查</th><td class=\"num[^\"]*\">{n_yes}<", counts.text)
    again = c.get(url)
    assert re.findall(r'<a href="/review/(140200-2025-\d{4})">', again.text) == shown
    assert c.get(url + "&page=99").status == 200  # beyond the last page: the last page


def test_the_pager_keeps_the_filters(tmp_path: Path) -> None:
    from starlette.requests import Request

    from engine.web.paging import page_of

    req = Request({"type": "http", "query_string": b"from=2025-01-01&county=%E5%B9%B3%E5%9F%8E%E5%8C%BA&page=3",
                   "headers": []})
    pager = page_of(req, 120)
    assert (pager.number, pager.pages, pager.offset) == (3, 3, 100)
    assert pager.rows(list(range(120))) == list(range(100, 120))
    assert pager.link(2) == "?from=2025-01-01&county=%E5%B9%B3%E5%9F%8E%E5%8C%BA&page=2"
    assert page_of(req, 10).number == 1  # fewer rows than the page asked for


def _until(cond: Any, seconds: float = 120) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_the_server_keeps_the_stored_review_rows_current_after_a_change(site) -> None:  # type: ignore[no-untyped-def]
    ws, p = site[0], site[1]
    stop = threading.Event()
    warm = threading.Thread(target=keep_current, args=(ws, TODAY, stop), kwargs={"poll": 0.05, "quiet": 0.3},
                            daemon=True)
    warm.start()
    try:
        assert _until(lambda: pending(ws) == 0)
        serial = next(s for s in p.june if s not in p.yes)
        voided = void_visit(ws, serial, "误登记：测试", actor="管理员")
        assert voided.ok, voided

        def stored_as_voided() -> bool:  # read straight from the table: no page asked, no refresh called here
            with session(ws) as s:
                row = s.get(ReviewRow, serial)
                return row is not None and row.voided_at is not None and bool(row.flags & FLAG_BITS[ReviewFlag.VOIDED])
        assert _until(stored_as_voided) and _until(lambda: pending(ws) == 0)  # refreshed on its own
    finally:
        stop.set()
        warm.join(60)
