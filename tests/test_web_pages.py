"""首页, 审查 and 档案 over a real server and a month of inspections (the review tests' June 2025)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from _archive_fixtures import card_meta, pdf_bytes
from _review_fixtures import JUNE, TODAY, Filed, Planted, register_month
from _web_fixtures import Client, LiveServer, live_server, make_users, month_site

from engine import archive, workspace
from engine.archive import file_item
from engine.archive.audit import AuditCode, IndexCode
from engine.archive.journal import JournalCode
from engine.archive.verify import VerifyCode, code_zh
from engine.inbox import Flag
from engine.overview import overview
from engine.review import build_review, select_entries
from engine.review.stored import pending
from engine.workspace import Workspace


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, Planted, Filed, LiveServer, dict[str, str]]]:
    with month_site(tmp_path_factory.mktemp("web")) as site:
        yield site


def _client(srv: LiveServer, name: str) -> Client:
    c = Client(srv.url)
    assert c.login(name).status == 303
    return c


def test_the_home_page_counts_what_the_review_counts(month) -> None:  # type: ignore[no-untyped-def]
    ws, p, filed, srv, names = month
    ov = overview(ws, TODAY)
    june = build_review(ws, *JUNE, today=TODAY, read_cards=False)
    assert ov.month.inspections == len(p.june) == len(june.entries)
    with_yes = set(p.yes) | set(filed.withdrawn)  # a 是 taken back on a later card stays on the list
    assert ov.month.with_yes == len(with_yes) and ov.month.yes_answers == sum(map(len, p.yes.values()))
    assert ov.month.cards_overdue == len(p.overdue) and ov.month.over_cap_approved == len(p.overrides)
    assert ov.year.inspections == len(p.june) + len(p.outside)
    page = _client(srv, names["clerk"]).get("/")
    assert page.status == 200 and "2025年6月30日" in page.text
    link = re.search(r'href="(/review\?from=2025-06-01&amp;to=2025-06-30&amp;flag=VIOLATION)"><div class="n">(\d+)<', page.text)
    assert link and int(link.group(2)) == len(with_yes)


def test_the_review_list_filters_by_kind_county_and_inspector(month) -> None:  # type: ignore[no-untyped-def]
    ws, p, filed, srv, names = month
    c = _client(srv, names["reviewer"])
    yes = c.get("/review?from=2025-06-01&to=2025-06-30&flag=VIOLATION")
    assert yes.status == 200
    shown = re.findall(r'<a href="/review/(140200-2025-\d{4})">', yes.text)
    assert sorted(shown) == sorted(set(p.yes) | set(filed.withdrawn)) and "是：第" in yes.text
    serial, questions = next(iter(p.yes.items()))
    county = p.county[serial]
    by_county = c.get(f"/review?from=2025-06-01&to=2025-06-30&county={county}")
    assert set(re.findall(r'<a href="/review/(140200-2025-\d{4})">', by_county.text)) == {
        s for s in p.june if p.county[s] == county}
    leader = p.team[serial][0]
    mine = re.findall(r'<a href="/review/(140200-2025-\d{4})">', c.get(f"/review?inspector={leader}").text)
    r = build_review(ws, today=TODAY, read_cards=False)
    assert mine == [e.serial for e in select_entries(r, inspector=leader)] and serial in mine
    overdue = re.findall(r'<a href="/review/(140200-2025-\d{4})">', c.get("/review?from=2025-06-01&to=2025-06-30&flag=CARD_OVERDUE").text)
    assert sorted(overdue) == sorted(p.overdue)


def test_one_inspection_shows_its_documents_answers_and_history(month) -> None:  # type: ignore[no-untyped-def]
    ws, p, filed, srv, names = month
    serial, questions = next(iter(p.yes.items()))
    c = _client(srv, names["clerk"])
    page = c.get(f"/review/{serial}")
    assert page.status == 200 and p.firm[serial].name in page.text
    ids = [int(x) for x in re.findall(r'<a href="/files/(\d+)" download>', page.text)]
    items = archive.items_for_serial(ws, serial)
    assert sorted(ids) == sorted(i.id for i in items) and len(items) >= 4
    for i in items:  # every original downloads byte-identical
        assert c.get(f"/files/{i.id}").body == i.path.read_bytes()
    returned = [i for i in items if i.form_type == "card_returned"][-1]
    assert f'src="/files/{returned.id}?inline=1"' in page.text  # the returned card is shown in the page
    for code in [i.archival_code for i in items]:
        assert code in page.text  # each filing is in the audit history too
    assert page.text.count("归档（file）") >= len(items)
    # the documents' flags as a clerk reads them (they were printed as VIOLATION, LATE …)
    flagged = [f for i in items for f in i.flags]
    assert Flag.VIOLATION in flagged and f"<td>{Flag.VIOLATION.zh}" in page.text
    assert not any(f"<td>{f}" in page.text for f in flagged)
    assert c.get("/review/140200-2025-9999").status == 404


def test_a_clerk_cannot_export_the_package_a_reviewer_can(month) -> None:  # type: ignore[no-untyped-def]
    ws, p, _filed, srv, names = month
    clerk = _client(srv, names["clerk"])
    refused = clerk.post("/review/export", {"csrf_token": clerk.csrf(), "from": "2025-06-01", "to": "2025-06-30"})
    assert refused.status == 403 and "导出纪委审查包" in refused.text
    assert "下载审查包" not in clerk.get("/review").text
    before = len(archive.audit_log(ws, action="export"))
    reviewer = _client(srv, names["reviewer"])
    got = reviewer.post("/review/export", {"csrf_token": reviewer.csrf(), "from": "2025-06-01", "to": "2025-06-30",
                                           "only_flagged": "1"})
    assert got.status == 200 and got.headers["content-disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(got.body)) as z:
        names_in = z.namelist()
        top = names_in[0].split("/")[0]
        assert f"{top}/bagit.txt" in names_in and f"{top}/data/review-report.pdf" in names_in
        for serial in p.yes:
            assert any(serial in n for n in names_in)
    exports = archive.audit_log(ws, action="export")
    assert len(exports) == before + 1 and exports[-1].actor == names["reviewer"]


def test_the_export_without_a_csrf_token_is_refused(month) -> None:  # type: ignore[no-untyped-def]
    ws, _p, _filed, srv, names = month
    before = len(archive.audit_log(ws, action="export"))
    reviewer = _client(srv, names["reviewer"])
    assert reviewer.post("/review/export", {"from": "2025-06-01"}).status == 403
    assert len(archive.audit_log(ws, action="export")) == before


def test_the_archive_page_searches_and_runs_verify_as_the_user(month) -> None:  # type: ignore[no-untyped-def]
    ws, p, filed, srv, names = month
    c = _client(srv, names["clerk"])
    firm = p.firm[p.june[0]]
    page = c.get(f"/archive?enterprise={firm.name[2:6]}")
    expected = archive.search(ws, enterprise=firm.name[2:6])
    assert f"检索到 {len(expected)} 件" in page.text and expected
    assert all(r.archival_code in page.text for r in expected)
    suspects = c.get("/archive?flag=SUSPECT")
    assert filed.suspect_orphan in suspects.text
    assert "尚未做过四性检测" in page.text
    ran = c.post("/archive/verify", {"csrf_token": c.csrf()})
    assert ran.status == 200 and "四性检测全部通过" in ran.text
    last = archive.audit_log(ws, action="verify")[-1]
    assert last.actor == names["clerk"] and last.details["checks"] == {"真实性": True, "完整性": True, "可用性": True,
                                                                         "安全性": True}
    again = c.get("/archive")
    assert "最近一次检测" in again.text and names["clerk"] in again.text
    reviewer = _client(srv, names["reviewer"])
    assert reviewer.post("/archive/verify", {"csrf_token": reviewer.csrf()}).status == 403


def test_outside_text_is_escaped_on_every_page(month) -> None:  # type: ignore[no-untyped-def]
    ws, _p, filed, srv, names = month
    c = _client(srv, names["reviewer"])
    page = c.get("/archive?flag=SUSPECT")
    assert "<script" not in page.text.split("</head>", 1)[1].replace('<script src="/static/htmx.min.js"', "")
    assert Path(ws.root).is_dir()


def test_the_stored_review_is_decided_again_exactly_when_the_register_changed(ws: Workspace) -> None:
    from engine.void import void_visit

    p = register_month(ws)
    names = make_users(ws)
    srv = LiveServer(ws, today=TODAY).start()
    try:
        c = _client(srv, names["reviewer"])
        url = "/review?from=2025-06-01&to=2025-06-30&flag=VIOLATION"
        serial = next(iter(p.yes))
        first = c.get(url)
        assert f'<a href="/review/{serial}">' in first.text
        assert c.get(url).text == first.text and pending(ws) == 0  # nothing changed: nothing to decide again
        void_visit(ws, serial, "误登记：测试", actor="管理员")
        assert pending(ws) > 0
        after = c.get(url)
        assert pending(ws) == 0  # the page brought the stored rows up to date before answering
        row = after.text.split(f'<a href="/review/{serial}">', 1)[1].split("</tr>", 1)[0]
        assert "已作废" in row  # a voided visit's 是 stays on the list, marked
        everyone = c.get("/review?from=2025-06-01&to=2025-06-30")
        assert f'<a href="/review/{serial}">' not in everyone.text  # and counts as no inspection
    finally:
        srv.stop()


def test_the_archive_page_names_each_problem_of_a_check_in_chinese(tmp_path: Path) -> None:
    """The last 四性检测's line listed its codes bare (“提示代码：ARCHIVE_HASH_MISMATCH…”), and the check run on
    the page headed each group with its code: each now says what it means, the code beside it."""
    ws = workspace.init(tmp_path / "ws")
    row = file_item(ws, pdf_bytes(), card_meta())
    with (ws.archive / row.rel_path).open("ab") as f:
        f.write(b"%% appended")  # the archived file changed after filing: size and content differ
    names = make_users(ws)
    with live_server(ws) as srv:
        c = _client(srv, names["clerk"])
        ran = c.post("/archive/verify", {"csrf_token": c.csrf()})
        assert ran.status == 200 and "四性检测未通过" in ran.text
        for code in (VerifyCode.SIZE_MISMATCH, VerifyCode.HASH_MISMATCH):
            assert f"问题：{code.zh}（{code}）1 处" in ran.text, ran.text
        again = c.get("/archive")
    assert (f"检测发现：{VerifyCode.HASH_MISMATCH.zh}（ARCHIVE_HASH_MISMATCH）、"
            f"{VerifyCode.SIZE_MISMATCH.zh}（ARCHIVE_SIZE_MISMATCH）") in again.text, again.text
    assert "提示代码" not in again.text


def test_every_code_a_check_reports_has_a_chinese_name() -> None:
    for enum in (VerifyCode, AuditCode, JournalCode, IndexCode):
        for member in enum:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in member.zh) and code_zh(member) == member.zh, member
    assert code_zh("ARCHIVE_SOMETHING_A_LATER_RELEASE_CHECKS") == ""
