"""Who is asking, and may they: signed session cookies, CSRF, login rate limits, the permission check.

- **Sessions**: the cookie ``ruqi_session`` holds a random token signed with a key derived from the
  workspace's ``ruqi.key`` (HMAC, so the site has no second secret to back up); the token's
  SHA-256 names a row of ``web_sessions`` (``engine.accounts``).  HttpOnly, SameSite=Lax, Secure
  when the request came over HTTPS (a reverse proxy says so with ``X-Forwarded-Proto``).
- **CSRF**: every POST/PUT/PATCH/DELETE carries the session's token, as the header
  ``X-CSRF-Token`` (htmx sends it: ``base.html`` sets ``hx-headers``), as the form field
  ``csrf_token`` of an urlencoded form, or — multipart forms only, whose body is streamed and
  never buffered here — as the query parameter ``csrf_token``.  The sign-in form, before any
  session, is checked against a signed ``ruqi_login`` cookie (double submit).  A request whose
  ``Origin`` names another host is refused as well.
- **Permissions**: a route depends on ``need(Perm.X)``; ``app.create_app`` refuses to start when
  a route lacks one (``PUBLIC_PATHS`` excepted), so no page can forget the check.
- **Actor**: the whole request runs inside ``engine.actor.acting_as(user)``, so every audit entry
  the library writes for it carries the signed-in user's name.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from threading import Lock
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..accounts import Perm, SignedIn, signed_in
from ..actor import acting_as
from ..workspace import Workspace

SESSION_COOKIE = "ruqi_session"
LOGIN_COOKIE = "ruqi_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PATHS = frozenset({"/login", "/logout", "/static"})  # reachable without a session
MAX_FORM_BYTES = 1 << 20  # an urlencoded form larger than this is refused (forms here are a few fields)


class NotSignedIn(Exception):
    """No (valid) session: pages redirect to the sign-in form."""


class Forbidden(Exception):
    def __init__(self, perm: Perm, who: SignedIn):
        super().__init__(perm)
        self.perm, self.who = perm, who


class CsrfRefused(Exception):
    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def derived_key(ws: Workspace, purpose: bytes) -> bytes:
    """A key for ``purpose`` derived from ``ruqi.key`` (never the key itself)."""
    return hmac.new(ws.key, b"ruqi-web:" + purpose, hashlib.sha256).digest()


@dataclass
class Signer:
    """Signs the session token and the pre-sign-in CSRF token (one salt each)."""

    key: bytes

    def _s(self, salt: str) -> URLSafeSerializer:
        return URLSafeSerializer(self.key, salt=salt)

    def sign(self, value: str, salt: str) -> str:
        return str(self._s(salt).dumps(value))

    def unsign(self, signed: str, salt: str) -> str | None:
        try:
            value = self._s(salt).loads(signed)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None


# ---- login rate limiting ---------------------------------------------------------------------------

@dataclass
class RateLimiter:
    """Failed sign-ins per account name and per client address within a sliding window.

    In memory: one server process serves a bureau (``ruqi serve`` runs one uvicorn worker); a
    restart forgets the counts, which an attacker cannot trigger from the browser."""

    per_name: int = 5
    per_client: int = 20
    window: float = 15 * 60
    clock: Callable[[], float] = time.monotonic
    _fails: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def _keys(self, name: str, client: str) -> list[tuple[tuple[str, str], int]]:
        return [(("name", name.strip().casefold()), self.per_name), (("client", client), self.per_client)]

    def wait(self, name: str, client: str) -> int:
        """Seconds until another attempt is allowed (0: now)."""
        now = self.clock()
        longest = 0.0
        with self._lock:
            for key, limit in self._keys(name, client):
                q = self._fails.get(key)
                if not q:
                    continue
                while q and now - q[0] > self.window:
                    q.popleft()
                if len(q) >= limit:
                    longest = max(longest, self.window - (now - q[0]))
        return int(longest) + 1 if longest else 0

    def failed(self, name: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            for key, _limit in self._keys(name, client):
                self._fails.setdefault(key, deque()).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._fails.pop(("name", name.strip().casefold()), None)


# ---- the middleware ----------------------------------------------------------------------------------

def _cookies(scope: Scope) -> dict[str, str]:
    raw = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie").decode("latin-1")
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is as good as none
        return {}
    return {k: m.value for k, m in jar.items()}


def _header(scope: Scope, name: bytes) -> str:
    for k, v in scope.get("headers", []):
        if k == name:
            return v.decode("latin-1")
    return ""


class AuthMiddleware:
    """Resolves the session, checks CSRF on state-changing requests, and runs the request as its user."""

    def __init__(self, app: ASGIApp, ws: Workspace, signer: Signer):
        self.app, self.ws, self.signer = app, ws, signer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        token = self.signer.unsign(cookies.get(SESSION_COOKIE, ""), SESSION_COOKIE)
        static = scope["path"].startswith("/static/") and scope["method"] in ("GET", "HEAD")
        who = await anyio.to_thread.run_sync(signed_in, self.ws, token) if token and not static else None
        state = scope.setdefault("state", {})
        state["signed_in"], state["session_token"] = who, token
        if scope["method"] in UNSAFE:
            expected = who.csrf if who else self.signer.unsign(cookies.get(LOGIN_COOKIE, ""), LOGIN_COOKIE)
            receive, why = await _check_csrf(scope, receive, expected)
            if why is not None:
                state["csrf_refused"] = why
        if who is None:
            await self.app(scope, receive, send)
            return
        with acting_as(who.name):
            await self.app(scope, receive, send)


async def _check_csrf(scope: Scope, receive: Receive, expected: str | None) -> tuple[Receive, str | None]:
    """(the receive channel to hand on, None when the token matches, else why not)."""
    origin = _header(scope, b"origin")
    if origin and origin != "null" and urlsplit(origin).netloc != _header(scope, b"host"):
        return receive, "请求来自其他网站"
    sent = _header(scope, CSRF_HEADER.encode())
    ctype = _header(scope, b"content-type").split(";")[0].strip().lower()
    if not sent and ctype == "application/x-www-form-urlencoded":
        body, receive = await _buffer(receive)
        if body is None:
            return receive, "表单过大"
        sent = (parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [""])[0]
    if not sent and ctype == "multipart/form-data":
        sent = (parse_qs(scope.get("query_string", b"").decode("latin-1")).get(CSRF_FIELD) or [""])[0]
    if not expected or not sent or not secrets.compare_digest(sent.encode(), expected.encode()):
        return receive, "缺少或不符的校验码"
    return receive, None


async def _buffer(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole (small) body, and a receive channel that hands it on unchanged."""
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        msg = await receive()
        if msg["type"] != "http.request":
            break
        chunks.append(msg.get("body", b""))
        size += len(chunks[-1])
        more = msg.get("more_body", False)
        if size > MAX_FORM_BYTES:
            return None, receive
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


# ---- dependencies --------------------------------------------------------------------------------------

def who(request: Request) -> SignedIn | None:
    """The signed-in user of this request (None on the sign-in page)."""
    return request.scope.get("state", {}).get("signed_in")


_NEEDS: dict[Perm, Callable[[Request], Awaitable[SignedIn]]] = {}


def need(perm: Perm) -> Callable[[Request], Awaitable[SignedIn]]:
    """The dependency that lets a request through only for a user whose role may ``perm``.

    ``Depends(need(Perm.GENERATE))`` on a route (or on its router) is the one way to guard it;
    state-changing requests are also refused here when their CSRF token was missing or wrong."""
    if perm not in _NEEDS:
        async def check(request: Request) -> SignedIn:
            user = who(request)
            if user is None:
                raise NotSignedIn()
            refused = request.scope.get("state", {}).get("csrf_refused")
            if refused:
                raise CsrfRefused(refused)
            if not user.may(perm):
                raise Forbidden(perm, user)
            return user

        check.__name__ = f"need_{perm.value}"
        check.ruqi_perm = perm  # type: ignore[attr-defined]  (create_app looks for it on every route)
        _NEEDS[perm] = check
    return _NEEDS[perm]


def guarded_by(dependant: Any) -> Perm | None:
    """The permission a route's dependency tree checks (None: unguarded)."""
    call = getattr(dependant, "call", None)
    perm = getattr(call, "ruqi_perm", None)
    if perm is not None:
        return perm
    for sub in getattr(dependant, "dependencies", []):
        found = guarded_by(sub)
        if found is not None:
            return found
    return None
