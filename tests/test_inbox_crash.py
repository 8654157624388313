"""Never lose anything: kill -9 in the middle of an ingest, then run again; two ingests at once.

After either, every dropped file is in exactly one place (the archive or rejected/), each
exactly once, and nothing is left in the inbox or in a claim directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _inbox_fixtures import ANSWERS_CLEAN, fill_docx, kit, new_workspace

from engine import archive
from engine.inbox import Status, ingest
from engine.workspace import Workspace

pytestmark = pytest.mark.slow

INGEST = (
    "import json, sys\n"
    "from engine.workspace import Workspace\n"
    "from engine.inbox import ingest\n"
    "for o in ingest(Workspace.open(sys.argv[1])).outcomes:\n"
    "    print(json.dumps(o.to_json(), ensure_ascii=False), flush=True)\n"
)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


def drop_batch(ws: Workspace, cards: Path, tmp: Path, n: int) -> dict[str, str]:
    """``n`` different returned cards (each a new version of card 0001) and a few broken files."""
    shas: dict[str, str] = {}
    for k in range(n):
        f = fill_docx(cards / "0.docx", tmp / f"c{k}.docx", ANSWERS_CLEAN, phone=f"139{k:08d}")
        (ws.inbox / f"卡{k:03d}.docx").write_bytes(f.read_bytes())
    for k in range(max(2, n // 10)):
        (ws.inbox / f"坏{k}.pdf").write_bytes(b"%PDF-1.7\n" + bytes([k]) * 100)
    for p in ws.inbox.iterdir():
        if p.is_file():
            shas[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return shas


def start_ingest(ws: Workspace) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen([sys.executable, "-c", INGEST, str(ws.root)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def archived_count(ws: Workspace) -> int:
    return sum(1 for p in ws.archive.rglob("*.docx") if not p.name.startswith("."))


def assert_each_file_once(ws: Workspace, shas: dict[str, str]) -> None:
    filed = [i.sha256 for i in archive.search(ws) if i.form_type == "card_returned"]
    rejected = [hashlib.sha256(p.read_bytes()).hexdigest() for p in ws.rejected.iterdir()
                if p.is_file() and not p.name.endswith((".reason.txt", ".reason.json"))]
    assert sorted(filed + rejected) == sorted(shas.values())  # each exactly once, none lost
    assert [p.name for p in ws.inbox.iterdir() if p.is_file()] == []
    assert not [p for p in (ws.inbox / ".processing").rglob("*") if p.is_file() and p.name != ".lock"]
    assert not [p for p in ws.archive.rglob(".ruqi-tmp-*")]


def reached(ws: Workspace, moment: str) -> bool:
    if moment == "claimed":  # files moved into the run's claim directory
        return (ws.inbox / ".processing").exists() and any((ws.inbox / ".processing").rglob("*.docx"))
    if moment == "filing":  # a filing transaction is open: its files are still temporary
        return any(ws.archive.rglob(".ruqi-tmp-*"))
    return archived_count(ws) >= 12  # "filed": a batch is committed and being moved into place


@pytest.mark.parametrize("moment", ["claimed", "filing", "filed"])
def test_kill_9_during_ingest_then_rerun(tmp_path: Path, cards: Path, moment: str) -> None:
    # The kill has to land inside a window of the run; on a busy machine the poll can miss a short
    # window, so a run that finished first is tried again (a few times) rather than failing on timing.
    for attempt in range(4):
        ws = new_workspace(tmp_path / f"ws{attempt}", inspections=1)
        (tmp_path / f"drop{attempt}").mkdir()
        shas = drop_batch(ws, cards, tmp_path / f"drop{attempt}", 40)
        proc = start_ingest(ws)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not reached(ws, moment):
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode == -signal.SIGKILL:
            break
    assert proc.returncode == -signal.SIGKILL, "every run finished before it could be killed"
    left = {p.name for p in ws.inbox.iterdir() if p.is_file()} | {
        p.name for p in (ws.inbox / ".processing").rglob("*") if p.is_file() and p.name != ".lock"}
    assert left, "nothing was left to recover"
    rerun = ingest(ws)
    assert {o.status for o in rerun.outcomes} <= {Status.FILED, Status.REJECTED}
    assert_each_file_once(ws, shas)
    assert archive.verify(ws).ok


def test_two_ingests_at_once_never_file_a_file_twice(tmp_path: Path, cards: Path) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    shas = drop_batch(ws, cards, tmp_path, 40)
    procs = [start_ingest(ws) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outputs]
    reported = [json.loads(line) for out, _ in outputs for line in out.splitlines()]
    assert sorted(r["file"] for r in reported) == sorted(shas)  # each file handled by exactly one run
    assert {r["status"] for r in reported} <= {"filed", "rejected"}
    assert_each_file_once(ws, shas)
