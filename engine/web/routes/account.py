"""修改密码: a signed-in user changes their own password (the current one asked again); their other
browsers are signed out.  An administrator resets a forgotten one with ``ruqi user add --reset``."""

from __future__ import annotations

import anyio.to_thread
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from ...accounts import MIN_PASSWORD, AccountCode, Perm, SignedIn, change_password
from ...findings import Finding, RuqiError, error
from ..render import render
from ..security import need

router = APIRouter()


def _page(request: Request, message: str = "", findings: list[Finding] | None = None, status: int = 200) -> Response:
    return render(request, "account.html", {"title": "修改密码", "message": message, "findings": findings or [],
                                            "min_length": MIN_PASSWORD}, status_code=status)


@router.get("/account")
def account(request: Request, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    return _page(request)


@router.post("/account/password")
async def new_password(request: Request, current: str = Form(""), new: str = Form(""), again: str = Form(""),
                       user: SignedIn = Depends(need(Perm.READ))) -> Response:
    if new != again:
        return _page(request, findings=[error(AccountCode.PASSWORD_MISMATCH, "两次输入的新密码不一致，密码没有修改。")],
                     status=400)
    try:
        await anyio.to_thread.run_sync(lambda: change_password(request.app.state.ws, user.name, current, new,
                                                               keep_session=user.session_id))
    except RuqiError as e:
        return _page(request, findings=[e.finding], status=400)
    return _page(request, "密码已修改。其他电脑或浏览器上的登录已退出，请用新密码登录。")
