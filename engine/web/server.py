"""``ruqi serve``: uvicorn on one process (the login rate limit and the WAL database are per host)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .app import create_app

DEFAULT_HOST = "127.0.0.1"  # only this machine; a bureau's intranet goes through a reverse proxy with TLS
DEFAULT_PORT = 8000


def serve(workspace: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *,
          today: date | None = None, log_level: str = "warning") -> None:
    import uvicorn  # deferred: only the server needs it

    app = create_app(workspace)
    app.state.today = today
    # X-Forwarded-Proto/For are believed only from a proxy on this machine (the README's set-up).
    uvicorn.run(app, host=host, port=port, proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                log_level=log_level, server_header=False)
