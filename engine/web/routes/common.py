"""What several pages share: the site's "today" (``ruqi serve --today``), dates typed in a form."""

from __future__ import annotations

from datetime import date

from fastapi import Request

from ...cells import parse_date


def today_of(request: Request) -> date:
    """The day the site counts from: ``ruqi serve --today`` (a demo over an old year), else today."""
    fixed: date | None = getattr(request.app.state, "today", None)
    return fixed or date.today()


def form_date(text: str | None) -> date | None:
    """A date as a clerk types it (2025-06-01, 2025/6/1, 2025年6月1日); None when empty or unreadable."""
    if not text or not text.strip():
        return None
    return parse_date(text.strip())
