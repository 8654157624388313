"""Sign-in and sign-out (public: the only routes without a permission)."""

from __future__ import annotations

import secrets
from functools import partial

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ...accounts import authenticate, end_session, start_session
from ...archive import Action, log_action
from ...text import printable
from ..render import render
from ..security import LOGIN_COOKIE, SESSION_COOKIE, CsrfRefused, RateLimiter, Signer, who

router = APIRouter()
ANONYMOUS = "（未登录）"  # the actor of a refused sign-in


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _safe_next(target: str) -> str:
    """Only a path on this site (``//evil.example`` and ``https://…`` are not)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _login_page(request: Request, message: str = "", next_: str = "/", name: str = "", status: int = 200) -> Response:
    signer: Signer = request.app.state.signer
    token = secrets.token_urlsafe(32)
    resp = render(request, "login.html", {"csrf": token, "message": message, "next": _safe_next(next_),
                                          "username": name}, status_code=status)
    resp.set_cookie(LOGIN_COOKIE, signer.sign(token, LOGIN_COOKIE), httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/login")
    return resp


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if who(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next_=next)


@router.post("/login")
async def login(request: Request, username: str = Form(""), password: str = Form(""),
                next: str = Form("/")) -> Response:
    if request.scope.get("state", {}).get("csrf_refused"):
        return _login_page(request, "页面已过期，请重新登录。", next, username, status=403)
    limiter: RateLimiter = request.app.state.limiter
    client = _client(request)
    wait = limiter.wait(username, client)
    if wait:
        minutes = (wait + 59) // 60
        return _login_page(request, f"登录失败次数过多，请 {minutes} 分钟后再试。", next, username, status=429)
    ws = request.app.state.ws
    user = await anyio.to_thread.run_sync(authenticate, ws, username, password)
    if user is None:
        limiter.failed(username, client)
        # Who tried which name from where (never the password); the rate limit bounds how many such entries.
        await anyio.to_thread.run_sync(partial(log_action, ws, Action.SIGN_IN_REFUSED, printable(username)[:100],
                                               actor=ANONYMOUS, details={"client": client}))
        return _login_page(request, "用户名或密码不对。", next, username, status=401)
    limiter.succeeded(username)
    await anyio.to_thread.run_sync(partial(log_action, ws, Action.SIGN_IN, user.name, actor=user.name,
                                           details={"client": client}))
    token, _ = await anyio.to_thread.run_sync(start_session, ws, user, client)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, request.app.state.signer.sign(token, SESSION_COOKIE), httponly=True,
                    samesite="lax", secure=request.url.scheme == "https", path="/")
    resp.delete_cookie(LOGIN_COOKIE, path="/login")
    return resp


@router.post("/logout")
async def logout(request: Request) -> Response:
    state = request.scope.get("state", {})
    if state.get("csrf_refused") and who(request) is not None:
        raise CsrfRefused(state["csrf_refused"])
    token = state.get("session_token")
    if token:
        await anyio.to_thread.run_sync(end_session, request.app.state.ws, token)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
