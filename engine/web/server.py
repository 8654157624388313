"""``ruqi serve``: uvicorn on one process (the login rate limit and the WAL database are per host)."""

from __future__ import annotations

import logging
import threading
import time
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
    # The first 首页 of the day should not wait for a year's review to be built: build it now, beside the
    # server, and again whenever the database has changed and then been quiet for a while.
    threading.Thread(target=keep_warm, args=(app.state.ws, app.state.reviews, today, threading.Event()),
                     daemon=True).start()
    # X-Forwarded-Proto/For are believed only from a proxy on this machine (the README's set-up).
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                log_level=log_level, server_header=False)


POLL_S = 2.0
QUIET_S = 5.0  # an inbox run changes the database every second: rebuild once it has settled, not after each file


def keep_warm(ws: Workspace, reviews: ReviewCache, today: date | None, stop: threading.Event, *,
              poll: float = POLL_S, quiet: float = QUIET_S) -> None:
    """Keep the reviews 首页 shows (this year, this month) built: at once, then after every change (a
    card filed or confirmed, a visit voided …) once the database has been unchanged for ``quiet``
    seconds, and when the day turns.  The first clerk after a change then usually finds them built;
    one who comes sooner builds them as before (the cache never serves a review older than the data)."""
    def state() -> tuple[tuple[int, ...], date]:
        return reviews.fingerprint(), today or date.today()

    warmed = state()
    _warm(ws, reviews, warmed[1])
    last, since = warmed, time.monotonic()
    while not stop.wait(poll):
        try:
            now = state()
        except Exception:  # the database unreachable for a moment: the pages will say so, try again later
            logging.getLogger("ruqi.web").exception("reading the review cache's fingerprint failed")
            continue
        if now != last:
            last, since = now, time.monotonic()
        elif now != warmed and time.monotonic() - since >= quiet:
            _warm(ws, reviews, now[1])
            warmed = now


def _warm(ws: Workspace, reviews: ReviewCache, today: date) -> None:
    try:
        overview(ws, today, build=reviews.builder())
    except Exception:  # the page will build it itself and say what is wrong
        logging.getLogger("ruqi.web").exception("warming the review cache failed")
