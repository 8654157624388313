"""``ruqi serve``: uvicorn on one process (the login rate limit and the WAL database are per host)."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from pathlib import Path

from ..review.stored import pending, refresh
from ..workspace import Workspace
from . import DEFAULT_HOST, DEFAULT_PORT
from .app import create_app


def serve(workspace: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          today: date | None = None, log_level: str = "warning") -> None:
    import uvicorn  # deferred: only the server needs it

    app = create_app(workspace)
    app.state.today = today
    # The review rows the 首页 and 审查 read are brought up to date beside the server (at start: all of
    # them after an upgrade), so a clerk's page seldom decides an inspection itself.
    threading.Thread(target=keep_current, args=(app.state.ws, today, threading.Event()), daemon=True).start()
    # X-Forwarded-Proto/For are believed only from a proxy on this machine (the README's set-up).
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                log_level=log_level, server_header=False)


POLL_S = 2.0
QUIET_S = 5.0  # an inbox run changes the database every second: refresh once it has settled, not after each file


def keep_current(ws: Workspace, today: date | None, stop: threading.Event, *,
                 poll: float = POLL_S, quiet: float = QUIET_S) -> None:
    """Keep the stored review rows current (``engine.review.stored.refresh``): at once, then after every
    change (a card filed or confirmed, a visit voided …) once nothing has changed for ``quiet``
    seconds, and when the day turns.  A page asked for sooner refreshes what it needs itself."""
    done = today or date.today()
    _refresh(ws, done)
    last, since = (0, done), time.monotonic()
    while not stop.wait(poll):
        try:
            now = (pending(ws), today or date.today())
        except Exception:  # the database unreachable for a moment: the pages will say so, try again later
            logging.getLogger("ruqi.web").exception("reading the review rows' state failed")
            continue
        if now != last:
            last, since = now, time.monotonic()
        elif (now[0] or now[1] != done) and time.monotonic() - since >= quiet:
            _refresh(ws, now[1])
            done = now[1]


def _refresh(ws: Workspace, today: date) -> None:
    try:
        refresh(ws, today)
    except Exception:  # the page will refresh itself and say what is wrong
        logging.getLogger("ruqi.web").exception("refreshing the review rows failed")
