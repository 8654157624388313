"""Two filers at once, and a filer killed with SIGKILL mid-way: nothing shared, lost or duplicated."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from _archive_fixtures import file_many, pdf_bytes

from engine.archive import audit_log, repair, search, verify
from engine.archive.files import temp_files
from engine.workspace import Workspace

HERE = Path(__file__).resolve().parent


def test_two_processes_filing_at_once_never_share_a_number(ws: Workspace) -> None:
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited DB connections
    with ctx.Pool(2) as pool:
        results = pool.starmap(file_many, [(str(ws.root), "甲", 25), (str(ws.root), "乙", 25)])
    codes = results[0] + results[1]
    rows = search(ws)
    assert len(set(codes)) == 50 and sorted(codes) == sorted(r.archival_code for r in rows)
    assert sorted(r.piece for r in rows) == list(range(1, 51))
    assert Counter(r.extra["worker"] for r in rows) == {"甲": 25, "乙": 25}
    assert [e.seq for e in audit_log(ws)] == list(range(1, 51))
    assert verify(ws).ok


@pytest.mark.slow
def test_kill_9_while_filing_loses_and_duplicates_nothing(ws: Workspace, tmp_path: Path) -> None:
    base = tmp_path / "card.pdf"
    base.write_bytes(pdf_bytes())
    acknowledged: list[str] = []
    start = 0
    for round_ in range(8):
        child = subprocess.Popen(
            [sys.executable, "-c",
             f"from _archive_fixtures import filing_loop; filing_loop({str(ws.root)!r}, {start}, {str(base)!r})"],
            cwd=HERE, env=os.environ | {"PYTHONPATH": f"{HERE}{os.pathsep}{HERE.parent}"},
            stdout=subprocess.PIPE, text=True,
        )
        assert child.stdout is not None
        acknowledged.append(child.stdout.readline())  # it is filing now
        time.sleep(0.02 + 0.05 * round_)  # kill at a different point of the filing each round
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        acknowledged += out.splitlines()
        start += 10_000

    rep = repair(ws)
    report = verify(ws)
    rows = search(ws)
    pieces = sorted(r.piece for r in rows)
    assert report.ok, [str(f) for f in report.findings]
    assert pieces == list(range(1, len(rows) + 1))  # continuous, nothing duplicated
    assert len({r.sha256 for r in rows}) == len(rows)
    filed = {(r.archival_code, r.sha256) for r in rows}
    assert {tuple(a.split()) for a in acknowledged if a.strip()} <= filed  # every acknowledged item is there
    assert len([e for e in audit_log(ws) if e.action == "file"]) == len(rows)
    assert rep.in_flight == [] and list(temp_files(ws.archive)) == []
