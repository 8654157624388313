"""`ruqi watch`: half-copied files are never read; claims of a dead run are finished, not repeated."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from _inbox_fixtures import ANSWERS_CLEAN, fill_docx, kit, new_workspace

from engine import archive
from engine.inbox import IngestReport, Status, ingest, watch
from engine.inbox.claim import LOCK, PROCESSING
from engine.inbox.watch import StabilityTracker


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


def test_a_file_is_ready_only_after_it_stopped_changing() -> None:
    t = StabilityTracker(stable_seconds=2.0)
    assert t.observe({"a.pdf": (100, 1)}, now=0.0) == []
    assert t.observe({"a.pdf": (200, 2)}, now=1.5) == []  # still growing
    assert t.observe({"a.pdf": (200, 2)}, now=3.0) == []  # unchanged for 1.5 s only
    assert t.observe({"a.pdf": (200, 2)}, now=3.5) == ["a.pdf"]
    assert t.observe({}, now=4.0) == [] and t.seen == {}  # gone: forgotten


def test_watch_ingests_a_copied_file_once_it_is_complete(tmp_path: Path, cards: Path) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    full = fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_CLEAN).read_bytes()
    target = ws.inbox / "a.docx"
    clock = iter(float(x) for x in range(100))
    reports: list[IngestReport] = []
    steps = iter([full[: len(full) // 3], full[: 2 * len(full) // 3], full])

    def sleep(_s: float) -> None:
        # Each poll interval, the "copy" writes a bit more, until it is complete.
        chunk = next(steps, None)
        if chunk is not None:
            target.write_bytes(chunk)
            os.utime(target, ns=(len(chunk), len(chunk)))

    sleep(0)
    handled = watch(ws, interval=1.0, on_report=reports.append, max_cycles=8, clock=lambda: next(clock), sleep=sleep)
    assert handled == 1
    (o,) = [o for r in reports for o in r.outcomes]
    assert o.status is Status.FILED  # read whole: a partial docx would have been rejected as corrupt
    (item,) = archive.search(ws, form_type="card_returned")
    assert item.path.read_bytes() == full


def test_claims_left_by_a_dead_run_are_finished_not_repeated(tmp_path: Path, cards: Path) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    a = fill_docx(cards / "0.docx", tmp_path / "a.docx", ANSWERS_CLEAN, phone="13900000001")
    b = fill_docx(cards / "0.docx", tmp_path / "b.docx", ANSWERS_CLEAN, phone="13900000002")
    shutil.copy(a, ws.inbox / "a.docx")
    (filed,) = ingest(ws).outcomes
    # A run that was killed after filing a.docx (before deleting its claim) and after claiming b.docx:
    dead = ws.inbox / PROCESSING / "host-99999-dead"
    for n, (src, name) in enumerate(((a, "a.docx"), (b, "b.docx")), 1):
        (dead / f"{n:05d}").mkdir(parents=True)
        shutil.copy(src, dead / f"{n:05d}" / name)
    (dead / LOCK).write_bytes(b"")  # nobody holds it
    out = ingest(ws).by_file()
    assert out["a.docx"].status is Status.FILED and out["a.docx"].recovered
    assert out["a.docx"].archival_code == filed.archival_code  # the same item, not a second one
    assert out["b.docx"].status is Status.FILED and not out["b.docx"].recovered
    assert [i.original_name for i in archive.search(ws, form_type="card_returned")] == ["a.docx", "b.docx"]
    assert not dead.exists()
