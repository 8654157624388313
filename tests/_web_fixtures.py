"""The real site for tests: uvicorn serving ``create_app`` on a free port, an HTTP client that keeps
cookies and never follows redirects, and a real Chromium driven by Selenium.

``LiveServer`` runs the server in a thread of the test process (the same uvicorn ``ruqi serve``
runs), over a workspace the library made.  ``browser()`` gives a headless Debian Chromium at
1366×768 through Debian's chromedriver, and skips (never passes) where either is missing.
Screenshots go to ``$RUQI_ARTIFACTS`` or ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from _review_fixtures import TODAY, Filed, Planted, file_month, register_month

from engine import workspace
from engine.accounts import add_user
from engine.web.app import create_app
from engine.web.security import RateLimiter
from engine.workspace import Workspace

PASSWORD = "correct-horse-7"
ARTIFACTS = Path(os.environ.get("RUQI_ARTIFACTS") or Path(__file__).parent / "artifacts")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """``create_app(ws)`` under uvicorn in a thread; ``url`` is its address."""

    def __init__(self, ws: Workspace, *, today: date | None = None, limiter: RateLimiter | None = None):
        import uvicorn

        self.app = create_app(ws, limiter=limiter)
        self.app.state.today = today
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                proxy_headers=True, forwarded_allow_ips="127.0.0.1")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextmanager
def live_server(ws: Workspace, **kw: Any) -> Iterator[LiveServer]:
    srv = LiveServer(ws, **kw).start()
    try:
        yield srv
    finally:
        srv.stop()


@contextmanager
def month_site(root: Path) -> Iterator[tuple[Workspace, Planted, Filed, LiveServer, dict[str, str]]]:
    """A workspace with the review tests' planted month, one account per role, and its server running."""
    ws = workspace.init(root / "ws")
    planted = register_month(ws)
    filed = file_month(ws, planted)
    names = make_users(ws)
    with live_server(ws, today=TODAY) as srv:
        yield ws, planted, filed, srv, names


def make_users(ws: Workspace) -> dict[str, str]:
    """One account per role: role → name."""
    names = {"clerk": "办事员小王", "reviewer": "纪委老李", "admin": "管理员"}
    for role, name in names.items():
        add_user(ws, name, role, PASSWORD, actor="测试")
    return names


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)  # the raw Set-Cookie headers

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def csrf(self) -> str:
        m = re.search(r'name="csrf_token" value="([^"]+)"', self.text) or re.search(r'"X-CSRF-Token": "([^"]+)"', self.text)
        assert m, "no CSRF token on the page"
        return m.group(1)


class Client:
    """A browser without JavaScript: cookies kept, redirects returned, not followed."""

    def __init__(self, base: str):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        path = urllib.parse.quote(path, safe="/?=&%:;,+-._~")  # a browser percent-encodes 阳高县 too
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as r:
                return Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read(),
                             r.headers.get_all("Set-Cookie") or [])
        except urllib.error.HTTPError as e:
            return Reply(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read(), e.headers.get_all("Set-Cookie") or [])

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, fields: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Reply:
        body = urllib.parse.urlencode(fields or {}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})

    def post_files(self, path: str, files: list[tuple[str, str, bytes]], fields: dict[str, str] | None = None,
                   headers: dict[str, str] | None = None) -> Reply:
        boundary = "----ruqi-test-boundary-7c1f"
        parts: list[bytes] = []
        for k, v in (fields or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode())
        for fld, name, data in files:
            head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{fld}"; filename="{name}"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n")
            parts.append(head.encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})})

    def login(self, name: str, password: str = PASSWORD, next_: str = "/") -> Reply:
        form = self.get("/login")
        return self.post("/login", {"username": name, "password": password, "csrf_token": form.csrf(), "next": next_})

    def csrf(self) -> str:
        return self.get("/").csrf()


def json_of(r: Reply) -> Any:
    return json.loads(r.body)


# ---- the browser ------------------------------------------------------------------------------------


def browser() -> Any:
    """Headless Debian Chromium at 1366×768 through chromedriver; skips where either is absent."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Debian chromium and chromium-driver are not installed (scripts/setup.sh --tests)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1366,768",
              "--lang=zh-CN", "--disable-gpu", "--force-device-scale-factor=1"):
        opts.add_argument(a)
    downloads = ARTIFACTS / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False,
                                           "plugins.always_open_pdf_externally": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    # The page itself 1366×768, as an office screen shows it (the window size would include the frame).
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1366, "height": 768, "deviceScaleFactor": 1, "mobile": False})
    return driver


def screenshot(driver: Any, name: str) -> Path:
    """The page as a 1366×768 office screen shows it, saved as an artefact (never committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path
