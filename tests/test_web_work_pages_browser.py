"""The work pages in a real browser (Debian Chromium through chromedriver, 1366×768); skipped, never
passed, without them.  Screenshots of every page are saved as artefacts (``tests/artifacts/`` or
``$RUQI_ARTIFACTS``, not committed).

One workspace for the module, one flow a clerk follows: sign in, download the plan template,
upload a plan with bad rows and read the reasons, generate, download the zip; drop a ticked PDF and
a scan of a pen-ticked card at once and watch each get its outcome; confirm the waiting card from
the keyboard; look at the statistics page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from _plan_fixtures import GOOD, _plan
from _web_fixtures import PASSWORD, browser, live_server, make_users, screenshot

from engine import workspace
from engine.identifiers import make_uscc
from engine.simulate import tick_pdf

BAD_USCC = dict(GOOD, 企业名称="大同市云冈区错误代码有限公司", 统一社会信用代码="91140200MA0K123455")
OTHER = dict(GOOD, 企业名称="大同市平城区第二机械厂", 统一社会信用代码=make_uscc("91140200MA0K2345X"))


@pytest.fixture(scope="module")
def flow(tmp_path_factory) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    driver = browser()  # skips first when Chromium is absent
    base = tmp_path_factory.mktemp("pages-browser")
    ws = workspace.init(base / "ws")
    names = make_users(ws)
    with live_server(ws, today=date(2025, 3, 28)) as srv:
        try:
            yield {"ws": ws, "url": srv.url, "names": names, "driver": driver, "tmp": base}
        finally:
            driver.quit()


def sign_in(d: Any, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    d.delete_all_cookies()
    d.get(url + "/login")
    d.find_element(By.NAME, "username").send_keys(name)
    d.find_element(By.NAME, "password").send_keys(PASSWORD)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: "/login" not in d.current_url and loaded(d, ""))


def wait_for(cond, timeout: float = 90.0) -> Any:  # type: ignore[no-untyped-def]
    """Poll ``cond`` until it is true.  A driver error while a page loads or htmx swaps an element
    (stale element, "node does not belong to the document") means: not there yet."""
    from selenium.common.exceptions import WebDriverException

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            got = cond()
        except WebDriverException:
            got = None
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("the page did not get there in time")


def loaded(d: Any, url_part: str) -> bool:
    return url_part in d.current_url and d.execute_script("return document.readyState") == "complete"


def fetch_size(d: Any, path: str) -> int:
    """Bytes the browser receives for ``path`` with its own session (what a click downloads)."""
    return int(d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => done(b.byteLength)).catch(() => done(-1));", path))


def test_1_plan_with_bad_rows_then_generate_and_download_the_zip(flow) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    d, url = flow["driver"], flow["url"]
    sign_in(d, url, flow["names"]["clerk"])
    d.get(url + "/generate")
    screenshot(d, "pages-生成")
    assert fetch_size(d, "/generate/template") > 4000
    plan = _plan(flow["tmp"] / "三月检查计划.xlsx", [GOOD, BAD_USCC, OTHER])
    d.find_element(By.NAME, "plan").send_keys(str(plan))
    d.find_element(By.CSS_SELECTOR, "form[action^='/generate/plans'] button[type=submit]").click()
    wait_for(lambda: loaded(d, "/generate/plans/"))
    bad = d.find_element(By.ID, "row-3").text
    assert "统一社会信用代码（B列）" in bad and "校验位" in bad
    screenshot(d, "pages-生成-检查结果")
    d.find_element(By.CSS_SELECTOR, "form[action$='/run'] button[type=submit]").click()
    wait_for(lambda: loaded(d, "/generate/batches/"))
    assert "已生成 2 行" in d.find_element(By.TAG_NAME, "main").text
    screenshot(d, "pages-生成-批次")
    link = d.find_element(By.PARTIAL_LINK_TEXT, "zip").get_attribute("href")
    size = fetch_size(d, link)
    batch = next(p for p in flow["ws"].outbox.iterdir() if (p / "manifest.json").exists())
    assert size > sum(p.stat().st_size for p in batch.rglob("*") if p.is_file())  # every file, stored
    d.get(link.replace("/zip", "/print"))
    screenshot(d, "pages-生成-打印视图")
    flow["batch"] = batch


def scan_of(card: Path, serial: str, out: Path) -> Path:
    """The card printed, ticked with a pen (question 5 both 是 and 否), scanned at 200 dpi."""
    import numpy as np

    from engine.simulate_scan import Ambiguity, Capture, Printed, make_file, plan_card

    plan = plan_card(serial, np.random.default_rng(5), ambiguous={5: Ambiguity.BOTH}, yes_rate=0.0)
    make_file([(Printed.of(card), plan)], Capture(dpi=200), out, seed=5)
    return out


def test_2_drop_a_ticked_pdf_and_a_scan_each_gets_its_outcome(flow) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    d, url, ws = flow["driver"], flow["url"], flow["ws"]
    cards = sorted(p for p in flow["batch"].rglob("*.pdf") if "反馈卡" in p.name)
    assert len(cards) == 2
    ticked = tick_pdf(cards[0], flow["tmp"] / "恒泰反馈卡.pdf", {i: "否" for i in range(1, 11)})
    from engine.db import session
    from engine.register import Visit

    with session(ws) as s:
        serials = sorted(v.serial for v in s.query(Visit).all())
    scan = scan_of(cards[1], serials[1], flow["tmp"] / "扫描件.png")
    d.get(url + "/inbox")
    pick = d.find_element(By.ID, "pick")
    d.execute_script("arguments[0].hidden = false;", pick)  # a person drops them; the driver types the paths
    pick.send_keys(f"{ticked}\n{scan}")
    rows = wait_for(lambda: {r.find_elements(By.TAG_NAME, "td")[0].text: r.get_attribute("data-status")
                             for r in d.find_elements(By.CSS_SELECTOR, "#result-rows tr.done")} if len(
        d.find_elements(By.CSS_SELECTOR, "#result-rows tr.done")) == 2 else None)
    assert rows[ticked.name] == "filed"
    assert rows[scan.name] == "needs_review"
    assert "已处理 2 / 2" in d.find_element(By.ID, "overall-text").text
    screenshot(d, "pages-收件")
    flow["scan_serial"] = serials[1]


def test_3_confirm_the_waiting_card_from_the_keyboard(flow) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    d, url, ws = flow["driver"], flow["url"], flow["ws"]
    d.get(url + "/pending")
    screenshot(d, "pages-待核对-列表")
    d.find_element(By.PARTIAL_LINK_TEXT, flow["scan_serial"]).click()
    wait_for(lambda: loaded(d, "/pending/"))
    screenshot(d, "pages-待核对-核对")
    # Question 5 has both boxes ticked: it is open whatever else the scan reader could read.
    open_q = [int(r.get_attribute("data-q")) for r in d.find_elements(By.CSS_SELECTOR, ".qrow[data-open='1']")]
    assert 5 in open_q
    started = time.monotonic()
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.ENTER)  # not all answered: nothing is sent, the first open question is selected
    assert "/pending/" in d.current_url and "done=" not in d.current_url
    body.send_keys("".join("y" if q == 5 else "n" for q in open_q))  # each answer moves to the next open question
    screenshot(d, "pages-待核对-已选")
    body.send_keys(Keys.ENTER)
    wait_for(lambda: loaded(d, "done="))
    took = time.monotonic() - started
    print(f"\n  one card confirmed from the keyboard in {took:.2f} s (page to page)")
    from engine.confirm import waiting_cards
    from engine.db import session
    from engine.register import by_serial

    assert not waiting_cards(ws)
    with session(ws) as s:
        v = by_serial(s, flow["scan_serial"])
        assert v is not None and v.card_answers
        assert v.card_answers.get("5") == "是" and all(v.card_answers.get(str(q)) == "否" for q in open_q if q != 5)
    log = [e for e in __import__("engine.archive", fromlist=["audit_log"]).audit_log(ws) if e.action == "confirm"]
    assert log and log[-1].actor == flow["names"]["clerk"]
    screenshot(d, "pages-待核对-已录入")


def test_4_statistics_page(flow) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    d, url = flow["driver"], flow["url"]
    d.get(url + "/stats")
    d.find_element(By.CSS_SELECTOR, "form[action='/stats/blanks'] input[name=period]").send_keys("2025Q1")
    d.find_element(By.CSS_SELECTOR, "form[action='/stats/blanks'] button[type=submit]").click()
    wait_for(lambda: loaded(d, "sent="))
    assert "未报送" in d.find_element(By.TAG_NAME, "main").text
    screenshot(d, "pages-统计")
    assert fetch_size(d, "/stats/aggregate.xlsx?table=2&period=2025Q1") > 3000


def test_5_a_reviewer_is_refused_the_work_pages(flow) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    d, url = flow["driver"], flow["url"]
    sign_in(d, url, flow["names"]["reviewer"])
    menu = d.find_element(By.CSS_SELECTOR, "nav.menu").text
    assert "生成" not in menu and "收件" not in menu
    for path in ("/generate", "/inbox"):
        d.get(url + path)
        assert "没有权限" in d.find_element(By.TAG_NAME, "main").text
    d.get(url + "/pending")
    assert not d.find_elements(By.CSS_SELECTOR, "button#confirm")
    screenshot(d, "pages-审查人员-无权限")
