"""The work pages over real HTTP (no browser): 生成, 收件, 统计, and who may use them.

The site runs as ``ruqi serve`` runs it (uvicorn over ``create_app``); files are the ones people
make: a plan typed into a workbook, the card the site itself generated ticked in a PDF reader
(``engine.simulate.tick_pdf``), a county's blank filled in and sent back.
"""

from __future__ import annotations

import io
import re
import time
import urllib.parse
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from _web_fixtures import Client, live_server, make_users
from openpyxl import load_workbook

from engine.archive import search
from engine.simulate import fill_blank, tick_pdf
from engine.workspace import Workspace

BAD_USCC = dict(GOOD, 企业名称="大同市云冈区错误代码有限公司", 统一社会信用代码="91140200MA0K123455")
NO_LEADER = dict(GOOD, 企业名称="大同市新荣区缺组长有限公司", 统一社会信用代码="91140200MA0K1234X5", 组长="")


@pytest.fixture
def site(ws: Workspace) -> Iterator[tuple[Workspace, str, dict[str, str]]]:
    names = make_users(ws)
    with live_server(ws, today=date(2025, 3, 28)) as srv:
        yield ws, srv.url, names


def signed_in(url: str, name: str) -> Client:
    c = Client(url)
    assert c.login(name).status == 303
    return c


def upload_plan(c: Client, path: Path) -> str:
    """POST the plan as the page's form does; returns the checked plan's page path."""
    r = c.post_files(f"/generate/plans?csrf_token={c.csrf()}", [("plan", path.name, path.read_bytes())])
    assert r.status == 303, r.text[:500]
    return r.headers["location"]


def test_a_plan_with_bad_rows_shows_each_rows_reason_then_generates_the_good_ones_as_one_zip(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    tpl = c.get("/generate/template")
    assert tpl.status == 200 and "attachment" in tpl.headers["content-disposition"]
    assert load_workbook(io.BytesIO(tpl.body)).sheetnames[0] == "检查计划"
    plan = _plan(tmp_path / "三月计划.xlsx", [GOOD, BAD_USCC, NO_LEADER])
    page = upload_plan(c, plan)
    checked = c.get(page).text
    assert "可生成 1 行，有错误 2 行" in checked
    assert re.search(r"第3行.{0,20}统一社会信用代码（B列）", checked)  # the engine's own words: row and column
    assert re.search(r"第4行.{0,10}组长", checked)
    assert not search(ws, form_type="notice")  # checking registers and files nothing
    run = c.post(f"{page}/run", {"csrf_token": c.csrf()})
    assert run.status == 303 and run.headers["location"].startswith("/generate/batches/")
    batch = c.get(run.headers["location"]).text
    assert "已生成 1 行" in batch and "有错误未生成 2 行" in batch and "140200-2025-0001" in batch
    z = c.get(run.headers["location"] + "/zip")
    assert z.status == 200 and "attachment" in z.headers["content-disposition"]
    name = urllib.parse.unquote(run.headers["location"].rsplit("/", 1)[1])
    with zipfile.ZipFile(io.BytesIO(z.body)) as zf:
        names_in = zf.namelist()
        for p in (ws.outbox / name).rglob("*"):
            if p.is_file():
                assert zf.read(f"{name}/{p.relative_to(ws.outbox / name).as_posix()}") == p.read_bytes()
    assert sum(n.endswith(".pdf") for n in names_in) == 3 and sum(n.endswith(".docx") for n in names_in) == 3
    printed = c.get(run.headers["location"] + "/print")
    assert printed.status == 200 and "生成清单" in printed.text and "menu" not in printed.text
    # Made for the download, then removed by the server after the last byte was sent: a moment later.
    deadline = time.monotonic() + 30
    while _scratch_left(ws.root / ".web-downloads") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _scratch_left(ws.root / ".web-downloads")


def _scratch_left(folder: Path) -> list[Path]:
    """The download scratch files still there; a folder the server removes while we list it is gone."""
    try:
        return list(folder.glob("*/*"))
    except FileNotFoundError:
        return _scratch_left(folder)


def over_cap_plan(tmp_path: Path) -> Path:
    """Three 执法检查 of one 非高危行业 二级 enterprise in a year: the third is over its cap (2 a year)."""
    rows = [dict(GOOD, 开始日期=date(2025, m, 3), 结束日期=date(2025, m, 4)) for m in (4, 5, 6)]
    return _plan(tmp_path / "超次数.xlsx", rows)


def test_an_over_cap_row_is_approved_only_by_an_admin_with_a_reason(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    clerk = signed_in(url, names["clerk"])
    page = upload_plan(clerk, over_cap_plan(tmp_path))
    shown = clerk.get(page).text
    assert "超次数" in shown and 'name="approve"' not in shown  # a clerk is not offered the approval
    refused = clerk.post(f"{page}/run", {"csrf_token": clerk.csrf(), "approve": "4", "reason": "局长批准"})
    assert refused.status == 403  # the server refuses, whatever the form showed
    admin = signed_in(url, names["admin"])
    offered = admin.get(page).text
    assert 'name="approve" value="4"' in offered
    no_reason = admin.post(f"{page}/run", {"csrf_token": admin.csrf(), "approve": "4"})
    assert no_reason.status == 400 and "理由" in no_reason.text
    ok = admin.post(f"{page}/run", {"csrf_token": admin.csrf(), "approve": "4", "reason": "群众举报，经局长批准"})
    assert ok.status == 303
    batch = admin.get(ok.headers["location"]).text
    assert "超次数，已批准" in batch and "已生成 3 行" in batch
    from engine.db import session
    from engine.register import Visit

    with session(ws) as s:
        approved = [v for v in s.query(Visit).all() if v.over_cap]
    assert [(v.override_reason, v.actor) for v in approved] == [("群众举报，经局长批准", names["admin"])]


def test_a_clerk_generates_without_over_cap_rows(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    clerk = signed_in(url, names["clerk"])
    page = upload_plan(clerk, over_cap_plan(tmp_path))
    ok = clerk.post(f"{page}/run", {"csrf_token": clerk.csrf()})
    batch = clerk.get(ok.headers["location"]).text
    assert "已生成 2 行，超次数未生成 1 行" in batch


def test_a_plan_that_is_not_a_workbook_is_refused_with_a_reason(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    r = c.post_files(f"/generate/plans?csrf_token={c.csrf()}", [("plan", "计划.pdf", b"%PDF-1.4 not a plan")])
    assert r.status == 400 and "不是 Excel 计划表" in r.text
    r = c.post_files(f"/generate/plans?csrf_token={c.csrf()}", [("plan", "计划.xlsx", b"PK\x03\x04 broken")])
    assert r.status == 303
    assert "PLAN_UNREADABLE" in c.get(r.headers["location"]).text or "无法" in c.get(r.headers["location"]).text


def generate_one(c: Client, tmp_path: Path) -> tuple[str, Path]:
    page = upload_plan(c, _plan(tmp_path / "计划.xlsx", [GOOD]))
    run = c.post(f"{page}/run", {"csrf_token": c.csrf()})
    name = urllib.parse.unquote(run.headers["location"].rsplit("/", 1)[1])
    return name, run.headers["location"]


def card_pdf(ws: Workspace, batch: str) -> Path:
    return next(p for p in (ws.outbox / batch).rglob("*.pdf") if "反馈卡" in p.name)


def test_dropped_files_are_ingested_like_the_inbox_folder_each_with_its_outcome(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    batch, _ = generate_one(c, tmp_path)
    ticked = tick_pdf(card_pdf(ws, batch), tmp_path / "反馈卡（已填）.pdf", {i: "否" for i in range(1, 11)} | {3: "是"})
    r = c.post_files(f"/inbox/files?csrf_token={c.csrf()}",
                     [("files", ticked.name, ticked.read_bytes()), ("files", "../../说明.txt", b"hello")],
                     headers={"X-Ruqi-Part": "1"})
    assert r.status == 200 and "<html" not in r.text  # rows only, for the page's script
    rows = re.findall(r'<tr class="done[^"]*" data-status="(\w+)">\s*<td>([^<]*)</td>', r.text)
    assert ("filed", ticked.name) in rows
    assert "140200-2025-0001" in r.text and "反馈“是”" in r.text
    rejected = [name for status, name in rows if status == "rejected"]
    assert rejected == ["说明.txt"]  # the path in the name was dropped; the file went to rejected/ with its reason
    assert (ws.rejected / "说明.txt").read_bytes() == b"hello"
    assert not [p for p in ws.inbox.iterdir() if p.is_file()]
    item = next(i for i in search(ws, form_type="card_returned"))
    assert item.actor == names["clerk"] and item.path.read_bytes() == ticked.read_bytes()
    page = c.get("/inbox").text
    assert "说明.txt" in page  # the recent rejections, with their reason


def test_without_the_script_the_form_posts_all_files_and_gets_the_whole_page(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    r = c.post_files(f"/inbox/files?csrf_token={c.csrf()}", [("files", "a.pdf", b"%PDF-1.4\n%%EOF\n")])
    assert r.status == 200 and "<html" in r.text and "处理结果" in r.text and "a.pdf" in r.text


def test_an_upload_over_the_size_limit_never_reaches_the_inbox(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    big = b"%PDF-1.4\n" + b"0" * int(ws.config.limits.max_file_mb * (1 << 20) + 10)
    r = c.post_files(f"/inbox/files?csrf_token={c.csrf()}", [("files", "大文件.pdf", big)], headers={"X-Ruqi-Part": "1"})
    assert r.status == 200 and "没有收下" in r.text and "大小上限" in r.text
    assert not [p for p in ws.inbox.iterdir() if p.is_file()]


def test_statistics_page_sends_blanks_shows_every_units_state_and_aggregates(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    r = c.post("/stats/blanks", {"csrf_token": c.csrf(), "table": "2", "period": "2025Q1", "due": "2025-03-31"})
    assert r.status == 303
    page = c.get(r.headers["location"]).text
    assert "已生成空白表" in page and "未报送" in page and "2025年3月31日" in page
    z = c.get("/stats/blanks.zip?table=2&period=2025Q1")
    with zipfile.ZipFile(io.BytesIO(z.body)) as zf:
        blanks = zf.namelist()
    assert len(blanks) >= 2 and all(n.endswith("2025Q1.xlsx") for n in blanks)
    folder = ws.outbox / "stats" / "2025Q1"
    good, bad = sorted(folder.glob("*.xlsx"))[:2]
    filled = fill_blank(good, tmp_path / good.name, {"B6": 10, "C6": 9, "D6": 30, "E6": 28})
    wrong = fill_blank(bad, tmp_path / bad.name, {"B6": 10, "C6": 9, "D6": 30, "E6": "很多"})
    r = c.post_files(f"/inbox/files?csrf_token={c.csrf()}", [("files", filled.name, filled.read_bytes()),
                                                          ("files", wrong.name, wrong.read_bytes())],
                     headers={"X-Ruqi-Part": "1"})
    assert 'data-status="filed"' in r.text and 'data-status="rejected"' in r.text
    page = c.get("/stats?table=2&period=2025Q1").text
    assert "逾期报送" in page and "已退回" in page and "未报送" in page  # received today, after the due date
    assert re.search(r"已退回：[^<]*![A-Z]+\d+", page)  # the rejected unit's cell, as the CLI says it
    x = c.get("/stats/aggregate.xlsx?table=2&period=2025Q1")
    assert x.status == 200 and load_workbook(io.BytesIO(x.body)).sheetnames
    p = c.get("/stats/aggregate.pdf?table=2&period=2025Q1")
    assert p.status == 200 and p.body.startswith(b"%PDF")
    refused = c.post("/stats/archive", {"csrf_token": c.csrf(), "table": "2", "period": "2025Q1"})
    assert refused.status == 400 and "不完整" in refused.text
    filed = c.post("/stats/archive", {"csrf_token": c.csrf(), "table": "2", "period": "2025Q1", "partial": "1"})
    assert filed.status == 200 and "已归档" in filed.text
    assert {r.actor for r in search(ws, form_type="stats_report")} == {names["clerk"]}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/generate"), ("GET", "/generate/template"), ("POST", "/generate/plans"), ("GET", "/inbox"),
    ("POST", "/inbox/files"), ("POST", "/stats/blanks"), ("POST", "/stats/archive"),
])
def test_a_reviewer_cannot_generate_ingest_or_send_out(site, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["reviewer"])
    r = c.get(path) if method == "GET" else c.post(path, {"csrf_token": c.csrf(), "table": "2", "period": "2025Q1"})
    assert r.status == 403 and "没有权限" in r.text
    assert not [p for p in ws.inbox.iterdir() if p.is_file()] and not (ws.outbox / "stats").exists()


def test_a_reviewer_reads_the_statistics_and_batches(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    batch, where = generate_one(signed_in(url, names["clerk"]), tmp_path)
    r = signed_in(url, names["reviewer"])
    assert r.get("/stats?table=2&period=2025Q1").status == 200
    page = r.get("/stats").text
    assert "下发空白表" not in page  # read-only for the reviewer
    assert r.get(where).status == 200


@pytest.mark.parametrize("name", ["..", "../archive", "..%2Farchive", "%2e%2e", "plans", "stats"])
def test_a_batch_or_plan_is_found_by_its_listed_name_only(site, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    generate_one(c, tmp_path)
    for path in (f"/generate/batches/{name}/zip", f"/generate/batches/{name}", f"/generate/plans/{name}"):
        r = c.get(path)
        assert r.status == 404, path
        assert b"PK\x03\x04" not in r.body[:4]


def test_a_waiting_card_is_confirmed_by_a_clerk_under_their_name_and_refused_to_a_reviewer(site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    from engine.confirm import waiting_card, waiting_cards
    from engine.simulate_scan import Ambiguity, Capture, Printed, make_file, plan_card

    ws, url, names = site
    c = signed_in(url, names["clerk"])
    batch, _ = generate_one(c, tmp_path)
    plan = plan_card("140200-2025-0001", np.random.default_rng(5), ambiguous={5: Ambiguity.BOTH}, yes_rate=0.0)
    scan = tmp_path / "扫描件.png"
    make_file([(Printed.of(card_pdf(ws, batch)), plan)], Capture(dpi=200), scan, seed=5)
    r = c.post_files(f"/inbox/files?csrf_token={c.csrf()}", [("files", scan.name, scan.read_bytes())],
                     headers={"X-Ruqi-Part": "1"})
    assert 'data-status="needs_review"' in r.text
    [card] = waiting_cards(ws)
    assert 5 in card.unresolved
    assert waiting_card(ws, card.item_id) == card  # one card, as the list has it
    assert waiting_card(ws, card.item_id + 1000) is None
    queue = c.get("/pending").text
    assert f'/pending/{card.item_id}"' in queue and "140200-2025-0001" in queue
    page = c.get(f"/pending/{card.item_id}").text
    assert 'name="q5"' in page and "机器识读" in page
    reviewer = signed_in(url, names["reviewer"])
    assert reviewer.get(f"/pending/{card.item_id}").status == 200  # may look
    given = {f"q{q}": ("是" if q == 5 else "否") for q in card.unresolved}
    refused = reviewer.post(f"/pending/{card.item_id}", {"csrf_token": reviewer.csrf(), **given})
    assert refused.status == 403 and waiting_cards(ws)
    partial = c.post(f"/pending/{card.item_id}", {"csrf_token": c.csrf(), "q5": "是"})
    if len(card.unresolved) > 1:
        assert partial.status == 400 and "CONFIRM_UNANSWERED" in partial.text and waiting_cards(ws)
        done = c.post(f"/pending/{card.item_id}", {"csrf_token": c.csrf(), **given})
    else:
        done = partial
    assert done.status == 303 and done.headers["location"].startswith("/pending?done=140200-2025-0001")
    assert not waiting_cards(ws) and waiting_card(ws, card.item_id) is None
    from engine.archive import audit_log
    from engine.db import session
    from engine.register import by_serial

    with session(ws) as s:
        v = by_serial(s, "140200-2025-0001")
        assert v is not None and v.card_answers and v.card_answers["5"] == "是"
    entry = [e for e in audit_log(ws) if e.action == "confirm"][-1]
    assert entry.actor == names["clerk"]


def test_a_table_number_that_is_not_one_is_told_in_chinese(site) -> None:  # type: ignore[no-untyped-def]
    """``/stats?table=abc`` showed Python's “invalid literal for int() with base 10: 'abc'”."""
    ws, url, names = site
    c = signed_in(url, names["clerk"])
    for typed in ("abc", "9"):
        page = c.get(f"/stats?table={typed}&period=2025Q1")
        assert page.status == 200 and f"没有统计表“{typed}”，只有附件1、附件2、附件3、附件4。" in page.text, page.text[-2000:]
        assert "invalid literal" not in page.text and "int()" not in page.text
