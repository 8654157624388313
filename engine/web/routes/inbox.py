"""收件: returned files dropped on the page go through the same pipeline as ``ruqi ingest``.

Each upload is streamed into ``.web-uploads/`` (``files.receive_files``: size limit per file),
moved into ``inbox/`` under a safe, free name (``files.to_inbox``, the mail fetcher's rule), and
handed to ``engine.inbox.ingest(names=[…])``: exactly what ``ruqi ingest`` does with a file a
clerk copied into the folder, so the folder, ``ruqi watch`` and the page stay interchangeable.
When a ``ruqi watch`` beside the site takes the file first, the page finds its result by the
file's SHA-256 (archive index, ``inbox/rejected/``).

The page's script (``static/inbox.js``, no build step) sends the dropped files one request each,
two at a time, and puts each file's row in place as soon as its answer comes (``X-Ruqi-Part``:
the answer is the rows only).  Without the script the form posts all files at once and the
whole page comes back with every row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ...accounts import Perm, SignedIn
from ...archive.models import ItemRecord
from ...cli.inbox_cmd import outcome_notes
from ...db import session
from ...findings import Finding
from ...inbox import Flag, IngestReport, Outcome, Status, ingest
from ...inbox.shelve import NEEDS_REVIEW_DIR, REASON_JSON
from ...labels import flag_zh
from ...workspace import Workspace
from ..files import Staged, receive_files, to_inbox
from ..render import NavItem, render
from ..security import need

router = APIRouter()
NAV = NavItem("收件", "/inbox", Perm.INGEST, order=20)

PART_HEADER = "x-ruqi-part"
MAX_FILES = 50  # per request without the script; the script sends one file per request
STATUS_CLASS = {Status.FILED: "ok", Status.NEEDS_REVIEW: "warn", Status.REJECTED: "bad", Status.DUPLICATE: "muted",
                Status.SKIPPED: "warn"}


@dataclass(slots=True)
class Line:
    """One file's row on the page."""

    file: str
    status: str  # Status value, or "refused" (never reached the inbox)
    status_zh: str
    css: str
    serial: str = ""
    flags: list[str] = field(default_factory=list)
    notes: str = ""
    where: str = ""  # 档号, or where in the workspace it is now


def line_of(o: Outcome) -> Line:
    where = o.archival_code or o.duplicate_of or o.location
    return Line(o.label, str(o.status), o.status.zh, STATUS_CLASS[o.status], o.serial or "",
                [flag_zh(f) for f in o.flags], outcome_notes(o), where)


def refused_line(f: Finding) -> Line:
    return Line(f.where or "（上传）", "refused", "没有收下", "bad", notes=f.message)


@router.get("/inbox")
def page(request: Request, user: SignedIn = Depends(need(Perm.INGEST))) -> Response:
    return render(request, "inbox.html", _context(request.app.state.ws, []))


def _context(ws: Workspace, lines: list[Line]) -> dict[str, Any]:
    return {"title": "收件", "lines": lines, "waiting": waiting(ws), "rejected": recent_rejected(ws),
            "max_mb": ws.config.limits.max_file_mb}


@router.post("/inbox/files")
async def upload(request: Request, user: SignedIn = Depends(need(Perm.INGEST))) -> Response:
    ws = request.app.state.ws
    got = await receive_files(request, ws, max_files=MAX_FILES)
    lines = [refused_line(f) for f in got.refused]
    moved: list[tuple[Staged, Path]] = []
    try:
        for st in got.files:
            moved.append((st, to_inbox(ws, st)))
    finally:
        got.discard()  # whatever did not reach the inbox
    if moved:
        lines += await run_in_threadpool(ingest_uploaded, ws, moved, user.name)
    if request.headers.get(PART_HEADER):
        return render(request, "inbox_rows.html", {"lines": lines})
    return render(request, "inbox.html", _context(ws, lines))


def ingest_uploaded(ws: Workspace, moved: list[tuple[Staged, Path]], actor: str) -> list[Line]:
    """``ingest`` of exactly these files (already settled: they were written by us)."""
    report: IngestReport = ingest(ws, names=[p.name for _, p in moved], actor=actor, stable_seconds=0, workers=1)
    by_name: dict[str, list[Outcome]] = {}
    for o in report.outcomes:  # a scan holding several cards has one outcome per card
        by_name.setdefault(o.file, []).append(o)
    lines: list[Line] = []
    for st, p in moved:
        outs = by_name.get(p.name)
        lines.extend([line_of(o) for o in outs] if outs else [settled_elsewhere(ws, st, p)])
    if report.stopped is not None:
        lines.append(Line("（收件箱）", "stopped", "处理中止", "bad", notes=report.stopped.message))
    return lines


def settled_elsewhere(ws: Workspace, st: Staged, p: Path) -> Line:
    """The file was taken by another run (``ruqi watch`` beside the site): its result by checksum."""
    with session(ws) as s:
        item = s.scalar(select(ItemRecord).where(ItemRecord.sha256 == st.sha256).order_by(ItemRecord.id.desc()).limit(1))
    if item is not None:
        needs = Flag.NEEDS_REVIEW in (item.flags or [])
        status = Status.NEEDS_REVIEW if needs else Status.FILED
        return Line(st.name, str(status), status.zh, STATUS_CLASS[status], item.serial or "",
                    [flag_zh(f) for f in item.flags or []], "由收件箱监视程序（ruqi watch）处理。", item.archival_code)
    for rec in _rejections(ws):
        if rec.get("sha256") == st.sha256:
            return Line(st.name, str(Status.REJECTED), Status.REJECTED.zh, STATUS_CLASS[Status.REJECTED],
                        notes="；".join(e.get("message", "") for e in rec.get("errors", [])[:3]),
                        where=f"inbox/rejected/{rec.get('_name', '')}")
    return Line(st.name, "elsewhere", "正在处理", "warn", notes="文件已放入收件箱，另一个处理程序（ruqi watch）正在处理；"
                "稍后刷新本页，在“退回的文件”或档案中查看结果。", where=f"inbox/{p.name}")


def waiting(ws: Workspace) -> list[dict[str, Any]]:
    """Files sitting in ``inbox/`` itself (not yet handled, or left there with a reason)."""
    out: list[dict[str, Any]] = []
    try:
        entries = sorted(ws.inbox.iterdir(), key=lambda p: p.name)
    except OSError:
        return out
    for p in entries:
        if p.name.startswith(".") or p.name == ws.rejected.name or p.name == NEEDS_REVIEW_DIR:
            continue
        try:
            st = p.lstat()
        except OSError:
            continue
        out.append({"name": p.name, "size": st.st_size, "at": datetime.fromtimestamp(st.st_mtime),
                    "folder": p.is_dir()})
    return out[:200]


def _rejections(ws: Workspace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        files = [p for p in ws.rejected.glob("*" + REASON_JSON) if p.is_file() and not p.is_symlink()]
    except OSError:
        return out
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for js in files[:RECENT_REJECTED]:
        try:
            rec = json.loads(js.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(rec, dict):
            rec["_name"] = js.name[: -len(REASON_JSON)]
            rec["_at"] = datetime.fromtimestamp(js.stat().st_mtime)
            out.append(rec)
    return out


RECENT_REJECTED = 30


def recent_rejected(ws: Workspace) -> list[dict[str, Any]]:
    """The latest files sent back to ``inbox/rejected/``, with their reasons (from reason.json)."""
    return [{"name": r["_name"], "file": r.get("file", r["_name"]), "at": r["_at"],
             "reasons": [e.get("message", "") for e in r.get("errors", [])][:3]} for r in _rejections(ws)]
