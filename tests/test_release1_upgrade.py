"""A workspace the first release made and used (``tests/data/workspace_release1.tar.xz``, made by commit b43c139's
own code with ``tests/data/make_release1_workspace.py``) opens with today's code: every migration runs on its
real rows, the archive's four checks still pass, the answers, flags and states it stored read with today's
enums and show in today's review, and work goes on in it.

``workspace_v3.sql`` holds that release's schema with two visits and nothing else; this one has the cards,
archive items, audit chain and statistics that the data-moving steps (audit head, card readings, card state,
stored review) transform."""

from __future__ import annotations

import json
import sqlite3
import tarfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.archive import Action, verify
from engine.archive.search import latest_item
from engine.card_state import CardState
from engine.db import session
from engine.db.migrations import MIGRATIONS
from engine.forms import NO, QUESTION_NUMBERS, YES, FormType
from engine.inbox import Flag, Status, ingest
from engine.review import ReviewFlag, build_review
from engine.review.counts import counts_of
from engine.review.stored import stored_counts
from engine.simulate import fill_docx
from engine.workspace import Workspace

RELEASE1 = Path(__file__).parent / "data" / "workspace_release1.tar.xz"
TODAY = date(2025, 6, 30)


def _unpack(root: Path) -> Path:
    root.mkdir()
    with tarfile.open(RELEASE1) as tar:
        tar.extractall(root, filter="data")
    (root / "outbox").mkdir()
    return root


def _stored(db: Path) -> dict[str, set[str]]:
    con = sqlite3.connect(db)
    try:
        return {
            "states": {r[0] for r in con.execute("SELECT card_status FROM visits")},
            "types": {r[0] for r in con.execute("SELECT form_type FROM archive_items")},
            "actions": {r[0] for r in con.execute("SELECT action FROM archive_audit")},
            "flags": {f for (raw,) in con.execute("SELECT card_flags FROM visits WHERE card_flags IS NOT NULL")
                      for f in json.loads(raw)},
            "versions": {str(r[0]) for r in con.execute("SELECT version FROM schema_version")},
        }
    finally:
        con.close()


@pytest.fixture
def old_root(tmp_path: Path) -> Path:
    return _unpack(tmp_path / "ws")


def test_the_release_wrote_what_the_enums_read(old_root: Path) -> None:
    """Read before any migration touches it: the literals as the first release's code wrote them."""
    got = _stored(old_root / "archive" / "ruqi.sqlite")
    assert got["versions"] == {"1", "2", "3"}
    assert {CardState(s) for s in got["states"]} == {CardState.NONE, CardState.RECEIVED}
    assert {FormType(t) for t in got["types"]} == {FormType.NOTICE, FormType.NOTICE_BOARD, FormType.CARD_GENERATED,
                                                   FormType.CARD_RETURNED, FormType.STATS_TABLE}
    assert {Action(a) for a in got["actions"]} == {Action.FILE, Action.GENERATE, Action.REJECT}
    assert {Flag(f) for f in got["flags"]} == {Flag.VIOLATION, Flag.REVISED, Flag.LATE}


def test_it_upgrades_to_head_and_passes_the_four_checks(old_root: Path) -> None:
    ws = Workspace.open(old_root)
    report = verify(ws)  # opening the database runs every step from 4 on
    assert report.ok, [f.message for f in report.findings]
    with session(ws) as s:
        assert s.execute(text("SELECT max(version) FROM schema_version")).scalar() == len(MIGRATIONS)
        states = dict(s.execute(text("SELECT serial, card_status FROM visits")).all())
        # migration 9 moved each returned card's answers into card_readings, one row per question
        readings = s.execute(text(
            "SELECT i.serial, count(*), sum(r.answer = :yes) FROM card_readings r "
            "JOIN archive_items i ON i.id = r.item_id GROUP BY i.id ORDER BY i.id"), {"yes": YES}).all()
    assert states == {"140200-2025-0001": CardState.RECEIVED, "140200-2025-0002": CardState.RECEIVED,
                      "140200-2025-0003": CardState.RECEIVED, "140200-2025-0004": CardState.NONE}
    assert [tuple(r) for r in readings] == [("140200-2025-0001", 10, 1), ("140200-2025-0002", 10, 0),
                                            ("140200-2025-0003", 10, 0), ("140200-2025-0002", 10, 1)]


def test_its_review_and_the_stored_review_say_the_same(old_root: Path) -> None:
    ws = Workspace.open(old_root)
    review = build_review(ws, today=TODAY)
    flags = {e.serial: set(e.flags) for e in review.entries}
    assert ReviewFlag.VIOLATION in flags["140200-2025-0001"] and ReviewFlag.VIOLATION in flags["140200-2025-0002"]
    assert ReviewFlag.CARD_LATE in flags["140200-2025-0003"] and ReviewFlag.CARD_OVERDUE in flags["140200-2025-0004"]
    assert {e.serial: e.yes_questions for e in review.entries if e.yes_questions} == {
        "140200-2025-0001": (3,), "140200-2025-0002": (7,)}
    assert stored_counts(ws, today=TODAY) == counts_of(build_review(ws, today=TODAY, read_cards=False))


def test_work_goes_on_in_it(old_root: Path, tmp_path: Path) -> None:
    """The last card comes back after the upgrade: filed, and the audit chain the old release began still
    verifies with the new entries after it."""
    ws = Workspace.open(old_root)
    blank = latest_item(ws, "140200-2025-0004", FormType.CARD_GENERATED, "docx")
    assert blank is not None
    fill_docx(ws.archive / blank.rel_path, ws.inbox / "最后一张.docx", dict.fromkeys(QUESTION_NUMBERS, NO), head="赵", position="矿长",
              phone="13912345670")
    report = ingest(ws, actor="办公室")
    assert [(o.status, o.serial) for o in report.outcomes] == [(Status.FILED, "140200-2025-0004")], \
        [o.findings.to_list() for o in report.outcomes]
    rep = verify(ws)
    assert rep.ok, [f.message for f in rep.findings]
