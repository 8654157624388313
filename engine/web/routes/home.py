"""首页: this year and this month at a glance; every figure links to its list."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ...accounts import Perm, SignedIn
from ...overview import FIGURE_FLAGS, overview
from ..render import NavItem, render
from ..security import need
from .common import today_of

router = APIRouter()
NAV = NavItem("首页", "/", Perm.READ, order=0)


@router.get("/")
def home(request: Request, user: SignedIn = Depends(need(Perm.READ))) -> Response:
    ov = overview(request.app.state.ws, today_of(request))
    return render(request, "home.html", {"title": "首页", "ov": ov, "flags": FIGURE_FLAGS})
