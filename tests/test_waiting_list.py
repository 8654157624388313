"""The 待核对 list reads only the cards that may wait (``CardNow``, migration 11), and lists exactly what
folding every filed card's readings lists: real scans, a photo without a readable serial, a ticked PDF,
a second version of a card, a person's partial reading and a tie, all filed by the inbox."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from _confirm_fixtures import drop, scan_png
from _inbox_fixtures import ANSWERS_CLEAN, ANSWERS_VIOLATION, kit, new_workspace, tick_pdf
from sqlalchemy import select

from engine import readings
from engine.archive.models import ItemRecord
from engine.confirm import WaitingCard, _is_card, _serial_of, _waiting, confirm, waiting_cards
from engine.db import dispose_engine, get_engine, session
from engine.inbox.cards import RETURNED, UNMATCHED
from engine.register import Visit
from engine.workspace import Workspace

S1, S2, S3 = "140200-2025-0001", "140200-2025-0002", "140200-2025-0003"
TODAY = date(2025, 3, 20)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture(scope="module")
def pictures(cards: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pictures")
    return {"scan0": scan_png(cards / "0.pdf", d / "扫描件0.png"),
            "scan1": scan_png(cards / "1.pdf", d / "扫描件1.png"),
            "no_qr": scan_png(cards / "1.pdf", d / "手机照片.png", cover_qr=True),
            "ticked0": tick_pdf(cards / "0.pdf", d / "ticked0.pdf", ANSWERS_CLEAN),
            "ticked1": tick_pdf(cards / "1.pdf", d / "ticked1.pdf", ANSWERS_VIOLATION)}


def naive_waiting(ws: Workspace, today: date) -> list[WaitingCard]:
    """The list as the first release made it: every filed card, its readings folded, the latest per inspection."""
    with session(ws) as s:
        items = [r for r in s.scalars(select(ItemRecord).where(ItemRecord.form_type.in_((RETURNED, UNMATCHED)))
                                      .order_by(ItemRecord.id)).all() if _is_card(r)]
        tied = readings.ties(s)
        latest: dict[str, ItemRecord] = {}
        orphans = []
        for r in items:
            serial = _serial_of(r, tied)
            if serial:
                latest[serial] = r
            elif not (r.extra or {}).get("serial_read"):
                orphans.append(r)
        out = []
        for r in [*latest.values(), *orphans]:
            rows = readings.history(s, [r.id])[r.id]
            now = readings.fold(r.id, rows) if rows else readings.from_filed(r.id, r.extra or {})
            serial = _serial_of(r, tied)
            if serial and not now.unresolved:
                continue
            v = s.scalar(select(Visit).where(Visit.serial == serial)) if serial else None
            out.append(_waiting(r, serial, now, v, today))
    return sorted(out, key=lambda w: (-w.days_waiting, w.archival_code))


def _kept(ws: Workspace) -> dict[int, tuple[str, str]]:
    with session(ws) as s:
        return {n.item_id: (n.unresolved, n.read_by) for n in s.scalars(select(readings.CardNow)).all()}


def _folded(ws: Workspace) -> dict[int, tuple[str, str]]:
    with session(ws) as s:
        return {i: (readings.unresolved_text(a.unresolved), str(a.read_by))
                for i, a in readings.current_many(s, s.scalars(select(readings.QuestionReading.item_id)
                                                                .distinct()).all()).items()}


@pytest.fixture
def busy(tmp_path: Path, pictures: dict[str, Path]) -> Workspace:
    """Three inspections and every kind of card: S1 scanned (waiting) then ticked (read: the scan no
    longer waits), S2 scanned and half read by a person, S3 ticked with a 是, and a photo whose
    serial could not be read, filed unmatched."""
    ws = new_workspace(tmp_path / "ws", inspections=3)
    drop(ws, pictures["scan0"], "扫描件0.png", datetime(2025, 3, 5, 9, 0))
    drop(ws, pictures["ticked0"], "ticked0.pdf", datetime(2025, 3, 9, 9, 0))
    drop(ws, pictures["scan1"], "扫描件1.png", datetime(2025, 3, 6, 9, 0))
    drop(ws, pictures["no_qr"], "手机照片.png", datetime(2025, 3, 7, 9, 0))
    assert confirm(ws, S2, questions=["1=否", "2=是"], by="刘核对", now=datetime(2025, 3, 10, 9, 0)).ok
    return ws


def test_the_waiting_list_is_what_folding_every_card_gives(busy: Workspace) -> None:
    ws = busy
    fast = waiting_cards(ws, TODAY)
    assert fast == naive_waiting(ws, TODAY)
    # S2 waits with eight questions open; the photo waits for its serial; S1's scan was followed by a ticked PDF.
    assert [(w.serial, w.unresolved) for w in fast if w.serial] == [(S2, tuple(range(3, 11)))]
    assert [w.needs_serial for w in fast].count(True) == 1 and len(fast) == 2
    assert _kept(ws) == _folded(ws) and len(_kept(ws)) == 4  # every filed card has its row, kept by ``record``

    photo = next(w for w in fast if w.needs_serial)
    assert confirm(ws, photo.archival_code, serial=S3, answers="否" * 10, by="刘核对").ok  # tied and read
    assert confirm(ws, S2, answers="否是否否否否否否否否", by="刘核对").ok
    assert waiting_cards(ws, TODAY) == naive_waiting(ws, TODAY) == []
    assert _kept(ws) == _folded(ws)


def test_migration_11_fills_what_each_card_says_now_for_cards_filed_before(busy: Workspace) -> None:
    ws = busy
    before = waiting_cards(ws, TODAY)
    want = _folded(ws)
    dispose_engine(ws)
    db = sqlite3.connect(ws.archive / "ruqi.sqlite")
    db.executescript("DROP TABLE card_now; DELETE FROM schema_version WHERE version >= 11;")
    db.close()
    get_engine(ws)  # opening the workspace runs migration 11
    assert _kept(ws) == want and {v[1] for v in want.values()} == {"waiting", "machine"}
    assert want[max(want)][0] == "1,2,3,4,5,6,7,8,9,10"  # the photo: nothing read yet
    assert waiting_cards(ws, TODAY) == before == naive_waiting(ws, TODAY)
