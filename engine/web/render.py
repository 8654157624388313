"""Server-rendered pages: the Jinja2 environment, Chinese date filters, and ``render``.

Templates live in ``engine/web/templates/`` (shipped with the package) and extend ``base.html``.
Autoescaping is on for every template, so an enterprise name such as ``<script>`` prints as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from ..accounts import PERM_ZH, Perm
from ..forms import NO, QUESTION_COUNT, YES
from ..labels import flag_zh
from ..text import printable
from .security import CSRF_FIELD, who

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the menu: a page module's ``NAV``."""

    label: str  # 首页, 生成, …
    path: str  # /, /generate, …
    perm: Perm = Perm.READ  # shown only to users who may do this
    order: int = 50


def zh_date(value: date | datetime | str | None) -> str:
    """2025年6月10日 (the way every date on the site is written)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return f"{value.year}年{value.month}月{value.day}日"


def zh_datetime(value: datetime | str | None) -> str:
    """2025年6月10日 14:05."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return zh_date(value)
    return f"{zh_date(value)} {value:%H:%M}"


def zh_size(n: int | None) -> str:
    if n is None:
        return ""
    if n < 1024:
        return f"{n} 字节"
    return f"{n / 1024:.0f} KB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MB"


def _finalize(v: Any) -> Any:
    """Every printed value without control characters (an escape sequence in a name must not reach
    the page); markup the templates made themselves (macros) passes as it is."""
    if v is None:
        return ""
    return printable(v) if isinstance(v, str) and not isinstance(v, Markup) else v


@cache
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES))
    env = t.env
    env.autoescape = True
    env.finalize = _finalize
    env.filters.update(zh_date=zh_date, zh_datetime=zh_datetime, zh_size=zh_size, flag_zh=flag_zh)
    # The card's answer words and question count, so no page types them.
    env.globals.update(CSRF_FIELD=CSRF_FIELD, PERM_ZH=PERM_ZH, Perm=Perm, YES=YES, NO=NO, QUESTION_COUNT=QUESTION_COUNT)
    return t


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    """``name`` rendered with the signed-in user, their CSRF token, the menu and today's date."""
    user = who(request)
    nav = [n for n in getattr(request.app.state, "nav", []) if user is not None and user.may(n.perm)]
    ctx = {"request": request, "user": user, "csrf": user.csrf if user else context and context.get("csrf"),
           "nav": nav, "today": date.today(), "bureau": request.app.state.ws.config.name,
           "here": request.url.path} | (context or {})
    return templates().TemplateResponse(request, name, ctx, status_code=status_code)
