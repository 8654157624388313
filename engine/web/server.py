"""``ruqi serve``: uvicorn on one process (the login rate limit and the WAL database are per host)."""

from __future__ import annotations

import logging
import threading
from datetime import date
from pathlib import Path

from ..overview import overview
from ..workspace import Workspace
from . import DEFAULT_HOST, DEFAULT_PORT
from .app import create_app
from .cache import ReviewCache


def serve(workspace: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          today: date | None = None, log_level: str = "warning") -> None:
    import uvicorn  # deferred: only the server needs it

    app = create_app(workspace)
    app.state.today = today
    # The first 首页 of the day should not wait for a year's review to be built: build it now, beside the server.
    warm = threading.Thread(target=_warm, args=(app.state.ws, app.state.reviews, today or date.today()), daemon=True)
    warm.start()
    # X-Forwarded-Proto/For are believed only from a proxy on this machine (the README's set-up).
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                log_level=log_level, server_header=False)


def _warm(ws: Workspace, reviews: ReviewCache, today: date) -> None:
    try:
        overview(ws, today, build=reviews.builder())
    except Exception:  # the page will build it itself and say what is wrong
        logging.getLogger("ruqi.web").exception("warming the review cache failed")
