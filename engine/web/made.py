"""Files made for one download (a zip of a batch, a blank plan, an aggregate): written into a
private folder inside the workspace, served by ``files.send_file`` like any other file, and
removed once the response has been sent.

``.web-downloads/`` is outside ``inbox/``, ``outbox/`` and ``archive/``: nothing else reads it,
and a folder a crash left behind is cleared the next time the site makes one.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from fastapi.responses import Response
from starlette.background import BackgroundTask

from ..workspace import Workspace
from .files import send_file

DOWNLOADS = ".web-downloads"
STALE_SECONDS = 3600


def scratch(ws: Workspace) -> Path:
    """A new empty folder for one download's files."""
    root = ws.root / DOWNLOADS
    root.mkdir(exist_ok=True)
    _sweep(root)
    return Path(tempfile.mkdtemp(dir=root))


def _sweep(root: Path) -> None:
    now = time.time()
    for d in root.iterdir():
        try:
            if d.is_dir() and not d.is_symlink() and now - d.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            continue


def send_made(ws: Workspace, path: Path, name: str | None = None, *, inline: bool = False) -> Response:
    """Serve ``path`` (made inside a ``scratch`` folder) and remove its folder afterwards."""
    resp = send_file(ws, path, name or path.name, inline=inline)
    folder = path.parent
    resp.background = BackgroundTask(shutil.rmtree, folder, ignore_errors=True)
    return resp
