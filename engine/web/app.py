"""``create_app(workspace)``: the ASGI application of ``ruqi serve``."""

from __future__ import annotations

import logging
import traceback
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DatabaseError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..accounts import PERM_ZH
from ..archive import index_state, sync_journal
from ..db import database_finding
from ..findings import Finding, RuqiError, exception_reason
from ..workspace import Workspace
from . import routes
from .files import FileNotServed
from .render import STATIC, render
from .security import (
    PUBLIC_PATHS,
    AuthMiddleware,
    CsrfRefused,
    Forbidden,
    NotSignedIn,
    RateLimiter,
    Signer,
    derived_key,
    guarded_by,
)

log = logging.getLogger("ruqi.web")

# Pages may frame the site's own PDFs (审查: a document shown inline); nothing else is loaded from anywhere.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "frame-src 'self'; object-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'self'")


class UnguardedRoute(RuntimeError):
    """A route without ``need(Perm…)``: an engine bug caught when the app is built."""


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = msg.setdefault("headers", [])
                have = {k.lower() for k, _ in headers}
                for k, v in ((b"content-security-policy", CSP), (b"x-content-type-options", "nosniff"),
                             (b"x-frame-options", "SAMEORIGIN"), (b"referrer-policy", "same-origin")):
                    if k not in have:
                        headers.append((k, v.encode()))
            await send(msg)

        await self.app(scope, receive, send_with)


def check_guarded(app: FastAPI) -> None:
    """Every route checks a permission, except the sign-in pages and static files."""
    for r in app.routes:
        if isinstance(r, APIRoute) and r.path not in PUBLIC_PATHS and guarded_by(r.dependant) is None:
            raise UnguardedRoute(f"{sorted(r.methods)} {r.path} has no need(Perm…) dependency")


def _open(workspace: str | Path | Workspace) -> Workspace:
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
    problem = index_state(ws)  # the same refusal as every CLI command: repair first
    if problem is not None:
        raise RuqiError(problem)
    sync_journal(ws)
    return ws


def create_app(workspace: str | Path | Workspace, *, limiter: RateLimiter | None = None) -> FastAPI:
    """The site over one workspace (RuqiError when the workspace cannot be opened or needs repair)."""
    ws = _open(workspace)
    app = FastAPI(title="ruqi", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ws = ws
    app.state.signer = Signer(derived_key(ws, b"session"))
    app.state.limiter = limiter or RateLimiter()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    nav = []
    for mod in routes.load():
        app.include_router(mod.router)
        if getattr(mod, "NAV", None) is not None:
            nav.append(mod.NAV)
    app.state.nav = sorted(nav, key=lambda n: n.order)
    check_guarded(app)
    _handlers(app)
    app.add_middleware(AuthMiddleware, ws=ws, signer=app.state.signer)
    app.add_middleware(SecurityHeaders)
    return app


def _error(request: Request, status: int, title: str, findings: list[Finding] | None = None,
           message: str = "") -> Response:
    return render(request, "error.html", {"title": title, "message": message, "findings": findings or []},
                  status_code=status)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if request.method == "GET" and "hx-request" not in request.headers:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return _error(request, 401, "请先登录", message="登录已过期或尚未登录，请重新登录后再试。")

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, "没有权限",
                      message=f"“{PERM_ZH[exc.perm]}”不在您的角色（{exc.who.role.zh}）的权限内。如需办理，请联系管理员。")

    @app.exception_handler(CsrfRefused)
    async def csrf(request: Request, exc: CsrfRefused) -> Response:
        return _error(request, 403, "请求被拒绝",
                      message=f"为防止冒用，本次操作没有执行（{exc.why}）。请刷新页面后重新操作。")

    @app.exception_handler(FileNotServed)
    async def not_served(request: Request, exc: FileNotServed) -> Response:
        return _error(request, 404, "找不到文件", message="要下载的文件不存在，或不在工作目录中。")

    @app.exception_handler(RuqiError)
    async def ruqi_error(request: Request, exc: RuqiError) -> Response:
        return _error(request, 400, "无法完成", exc.findings)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = "、".join(str(e.get("loc", ["", ""])[-1]) for e in exc.errors())
        return _error(request, 422, "填写的内容无法识别", message=f"请检查以下各项后重试：{fields}。")

    @app.exception_handler(DatabaseError)
    async def db_error(request: Request, exc: DatabaseError) -> Response:
        return _error(request, 503, "数据库出错", [database_finding(exc)])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "找不到页面", 405: "不支持的操作", 413: "内容过大", 422: "填写的内容无法识别"}
        return _error(request, exc.status_code, titles.get(exc.status_code, "请求无法完成"),
                      message=str(exc.detail) if exc.status_code not in titles else "")

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        log.error("engine bug on %s %s\n%s", request.method, request.url.path, "".join(traceback.format_exception(exc)))
        return _error(request, 500, "程序内部错误",
                      message=f"程序内部错误（{exception_reason(exc)}），本次操作未完成。请记下时间"
                              f"（{datetime.now():%Y-%m-%d %H:%M:%S}）告诉管理员：出错记录在服务器的日志中。")
