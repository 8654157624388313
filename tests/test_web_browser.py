"""The pages in a real browser (Debian Chromium through Selenium), with screenshots at 1366×768.

Skips, never passes, without chromium and chromium-driver.  Screenshots land in ``$RUQI_ARTIFACTS``
or ``tests/artifacts/`` (gitignored): one per page, for a reviewer to look at.
"""

from __future__ import annotations

import base64
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from _web_fixtures import ARTIFACTS, PASSWORD, browser, month_site, screenshot

from engine import archive

pytestmark = pytest.mark.slow
TOKEN_JS = "JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']"  # what htmx sends


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, ...]]:
    with month_site(tmp_path_factory.mktemp("browser")) as site:
        yield site


@pytest.fixture
def driver() -> Iterator[Any]:
    d = browser()
    try:
        yield d
    finally:
        d.quit()


def _by(css: str) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, css)


def _login(d: Any, base: str, name: str, password: str = PASSWORD) -> None:
    d.get(base + "/login")
    d.find_element(*_by("input[name=username]")).send_keys(name)
    d.find_element(*_by("input[name=password]")).send_keys(password)
    _submit(d, d.find_element(*_by("form.login button[type=submit]")))


def _submit(d: Any, button: Any) -> None:
    """Click and wait until the next page has loaded.

    The old window is marked and we wait for a window without the mark.  Waiting for the button to
    go stale races with chromedriver mid-navigation ("Node with given id does not belong to the
    document"), so any driver error while the page changes just means: not loaded yet.
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    d.execute_script("window.__ruqiOldPage = true;")
    button.click()
    WebDriverWait(d, 30, ignored_exceptions=(WebDriverException,)).until(
        lambda drv: drv.execute_script(
            "return !window.__ruqiOldPage && document.readyState === 'complete';"))


def _wait_for_text(d: Any, css: str, text: str, timeout: float = 120) -> None:
    """Wait until htmx has swapped ``text`` in; an element replaced mid-read is retried, not a failure."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, timeout, poll_frequency=0.2, ignored_exceptions=(WebDriverException,)).until(
        lambda drv: text in drv.find_element(*_by(css)).text)


def _status_of(d: Any, js_fetch: str) -> int:
    return int(d.execute_async_script(
        "const done = arguments[arguments.length - 1];" + js_fetch + ".then(r => done(r.status), e => done(0));"))


def test_sign_in_wrong_password_rate_limit_and_sign_out(site, driver) -> None:  # type: ignore[no-untyped-def]
    ws, _p, _f, srv, names = site
    _login(driver, srv.url, names["admin"], "not-the-password")
    assert "用户名或密码不对" in driver.find_element(*_by(".alert")).text
    screenshot(driver, "01-login-wrong-password")
    _login(driver, srv.url, names["admin"])
    assert driver.current_url == srv.url + "/" and "管理员（管理员）" in driver.find_element(*_by("form.who")).text
    _submit(driver, driver.find_element(*_by("form.who button")))
    assert driver.current_url.startswith(srv.url + "/login")
    driver.get(srv.url + "/review")
    assert "/login?next=/review" in driver.current_url  # signed out means signed out


def test_the_rate_limit_holds_in_the_browser(site, driver) -> None:  # type: ignore[no-untyped-def]
    _ws, _p, _f, srv, _names = site
    name = "不存在的用户"
    for _ in range(srv.app.state.limiter.per_name):
        _login(driver, srv.url, name, "wrong")
    _login(driver, srv.url, name, "wrong")
    assert "登录失败次数过多" in driver.find_element(*_by(".alert")).text


def test_a_reviewer_sees_the_yes_and_downloads_the_package(site, driver) -> None:  # type: ignore[no-untyped-def]
    ws, p, filed, srv, names = site
    downloads = ARTIFACTS / "downloads" / "review"
    downloads.mkdir(parents=True, exist_ok=True)
    for old in downloads.iterdir():
        old.unlink()
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    _login(driver, srv.url, names["reviewer"])
    screenshot(driver, "02-home")
    _submit(driver, driver.find_element(*_by('a.card[href*="flag=VIOLATION"]')))
    rows = driver.find_elements(*_by("tbody tr.flagged"))
    serial, questions = next(iter(p.yes.items()))
    row = next(r for r in rows if serial in r.text)
    assert f"是：第{'、'.join(map(str, questions))}题" in row.find_element(*_by(".yes")).text
    screenshot(driver, "03-review-list-yes")
    _submit(driver, row.find_element(*_by("a")))
    assert p.firm[serial].name in driver.find_element(*_by("dl.facts")).text
    assert driver.find_elements(*_by("iframe.pdf"))  # the returned card, inline
    screenshot(driver, "04-review-one-inspection")
    driver.get(srv.url + "/review?from=2025-06-01&to=2025-06-30")
    driver.find_element(*_by("#export")).click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not [f for f in downloads.glob("*.zip")]:
        time.sleep(0.2)
    got = list(downloads.glob("*.zip"))
    assert got, "the package was not downloaded"
    with zipfile.ZipFile(got[0]) as z:
        assert any(n.endswith("/bagit.txt") for n in z.namelist())
    assert archive.audit_log(ws, action="export")[-1].actor == names["reviewer"]
    # A reviewer is read-only elsewhere: 四性检测 is refused on the server, not only hidden.
    driver.get(srv.url + "/archive")
    assert not driver.find_elements(*_by("#verify"))
    assert _status_of(driver, f"fetch('/archive/verify', {{method: 'POST', headers: {{'X-CSRF-Token': {TOKEN_JS}}}}})") == 403


def test_a_clerk_works_the_archive_and_is_refused_the_export(site, driver) -> None:  # type: ignore[no-untyped-def]
    ws, p, filed, srv, names = site
    _login(driver, srv.url, names["clerk"])
    driver.get(srv.url + "/review")
    assert not driver.find_elements(*_by("#export"))
    assert _status_of(driver, f"fetch('/review/export', {{method: 'POST', headers: {{'X-CSRF-Token': {TOKEN_JS}}}}})") == 403
    # CSRF: the same request without the token is refused even for a role that may do it.
    assert _status_of(driver, "fetch('/archive/verify', {method: 'POST'})") == 403
    driver.get(srv.url + "/archive?flag=SUSPECT")
    assert filed.suspect_orphan in driver.find_element(*_by("main")).text
    driver.find_element(*_by("#verify")).click()
    _wait_for_text(driver, "main", "刚才的检测")
    assert "四性检测全部通过" in driver.find_element(*_by("main")).text
    assert archive.audit_log(ws, action="verify")[-1].actor == names["clerk"]
    screenshot(driver, "05-archive")


def test_a_path_traversal_on_a_download_shows_not_found(site, driver) -> None:  # type: ignore[no-untyped-def]
    ws, _p, _f, srv, names = site
    _login(driver, srv.url, names["reviewer"])
    key = (ws.root / "ruqi.key").read_bytes().hex()
    for path in ("/files/..%2f..%2fruqi.key", "/files/%2e%2e/%2e%2e/ruqi.toml", "/static/..%2f..%2f..%2fruqi.key"):
        driver.get(srv.url + path)
        body = driver.find_element(*_by("body")).text
        assert ("找不到" in body or "无法识别" in body) and key not in body and "[bureau]" not in body, path
    screenshot(driver, "06-not-found")


def test_every_page_of_the_menu_fits_an_office_screen_and_prints(site, driver) -> None:  # type: ignore[no-untyped-def]
    _ws, _p, _f, srv, names = site
    _login(driver, srv.url, names["admin"])  # the admin sees every page of the menu
    menu = [(n.label, n.path) for n in srv.app.state.nav]
    assert [label for label, _ in menu][:1] == ["首页"] and {"审查", "档案"} <= {label for label, _ in menu}
    for i, (label, path) in enumerate(menu):
        driver.get(srv.url + path)
        assert driver.find_element(*_by("nav.menu a.here")).text == label, path
        assert "程序内部错误" not in driver.find_element(*_by("main")).text, path
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 1366, f"{path} scrolls sideways ({width}px)"
        screenshot(driver, f"page-{i:02d}-{label}")
    driver.get(srv.url + "/review?from=2025-06-01&to=2025-06-30&flag=VIOLATION")
    pdf = base64.b64decode(driver.print_page())  # Chromium's own print; the print stylesheet hides menu and forms
    out = ARTIFACTS / "print-review.pdf"
    out.write_bytes(pdf)
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
