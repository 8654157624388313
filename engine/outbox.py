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
    new_plan_path(ws, original_name) -> Path   # where an uploaded plan is kept (``outbox/plans/<id>/``)
    plans(ws) -> [PlanFile]; find_plan(ws, plan_id) -> PlanFile | None

An uploaded plan keeps the clerk's file name (the batch is named after it, as ``ruqi generate``
names it after the plan given) in a folder of its own named by time and a random suffix: the id
the pages use.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .inbox.preflight import safe_name
from .workspace import Workspace

MANIFEST = "manifest.json"
PLANS = "plans"


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


# ---- uploaded plans ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanFile:
    id: str
    path: Path
    uploaded_at: datetime

    @property
    def name(self) -> str:
        return self.path.name


def new_plan_path(ws: Workspace, original_name: str) -> Path:
    """A fresh folder for one uploaded plan, and the (safe) file name in it."""
    name = safe_name(original_name or "检查计划.xlsx")
    if not name.lower().endswith((".xlsx", ".xlsm", ".xls")):
        name += ".xlsx"
    folder = ws.outbox / PLANS / f"{datetime.now():%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True)
    return folder / name


def plans(ws: Workspace) -> list[PlanFile]:
    """Uploaded plans, newest first (an empty folder, from an upload that failed, is left out)."""
    out: list[PlanFile] = []
    try:
        folders = list((ws.outbox / PLANS).iterdir())
    except OSError:
        return out
    for d in folders:
        if d.is_symlink() or not d.is_dir():
            continue
        files = [p for p in d.iterdir() if p.is_file() and not p.is_symlink()]
        if len(files) == 1:
            out.append(PlanFile(d.name, files[0], datetime.fromtimestamp(files[0].stat().st_mtime)))
    return sorted(out, key=lambda p: p.id, reverse=True)


def find_plan(ws: Workspace, plan_id: str) -> PlanFile | None:
    return next((p for p in plans(ws) if p.id == plan_id), None)
