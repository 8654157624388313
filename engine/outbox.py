"""Generated batches in ``outbox/``: which there are, what each holds, and one zip of a batch.

A batch is the folder ``ruqi generate`` writes (``outbox/<YYYYmmdd-HHMMSS>_<plan>/``) with its
``manifest.json``; folders without one (``outbox/stats/``, a clerk's own) are not batches.
A batch is named by its folder name and looked up among the listed batches, never joined onto
a path taken from a request, so a name like ``../archive`` finds nothing.

Public API::

    batches(ws) -> [BatchInfo]                 # newest first
    find_batch(ws, name) -> BatchInfo | None   # only a listed batch
    batch_rows(info) -> [dict]                 # the manifest's rows (RowOutcome.to_json)
    zip_batch(info, out)                       # every file of the batch into one zip (streamed)
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .workspace import Workspace

MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class BatchInfo:
    name: str
    folder: Path
    made_at: datetime  # the manifest's time: when the run finished

    @property
    def plan(self) -> str:
        """The plan's file stem, as the batch name carries it after the time."""
        return self.name.partition("_")[2] or self.name


def batches(ws: Workspace) -> list[BatchInfo]:
    out: list[BatchInfo] = []
    try:
        entries = list(ws.outbox.iterdir())
    except OSError:
        return out
    for d in entries:
        m = d / MANIFEST
        if d.is_symlink() or not d.is_dir() or m.is_symlink() or not m.is_file():
            continue
        out.append(BatchInfo(d.name, d, datetime.fromtimestamp(m.stat().st_mtime)))
    return sorted(out, key=lambda b: (b.made_at, b.name), reverse=True)


def find_batch(ws: Workspace, name: str) -> BatchInfo | None:
    return next((b for b in batches(ws) if b.name == name), None)


def batch_rows(info: BatchInfo) -> list[dict[str, Any]]:
    try:
        data = json.loads((info.folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    rows = data.get("rows") if isinstance(data, dict) else None
    return rows if isinstance(rows, list) else []


def batch_files(info: BatchInfo) -> list[Path]:
    """Every regular file under the batch folder (links are not followed), sorted."""
    out: list[Path] = []
    for top, _dirs, names in os.walk(info.folder):  # does not descend into linked folders
        out.extend(p for n in names if (p := Path(top) / n).is_file() and not p.is_symlink())
    return sorted(out)


def zip_batch(info: BatchInfo, out: IO[bytes]) -> int:
    """Write the batch as one zip into ``out`` (names relative to the batch, UTF-8); returns the
    number of files.  The documents are already compressed (docx, PDF): they are stored."""
    files = batch_files(info)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for p in files:
            z.write(p, f"{info.name}/{p.relative_to(info.folder).as_posix()}")
    return len(files)
