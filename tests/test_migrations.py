"""Migration 4 (voiding visits) upgrades a workspace made by the release before it, and is a no-op on a new one."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from engine import register, workspace
from engine.db import get_engine, session
from engine.db.migrations import MIGRATIONS
from engine.generate import RowStatus, generate
from engine.void import void_visit

OLD_DB = Path(__file__).parent / "data" / "workspace_v3.sql"  # schema and two visits of commit b43c139


def _old_workspace(root: Path) -> workspace.Workspace:
    ws = workspace.init(root)
    db = sqlite3.connect(ws.archive / "ruqi.sqlite")
    db.executescript(OLD_DB.read_text(encoding="utf-8"))
    db.close()
    return ws


def _shape(ws: workspace.Workspace) -> tuple[set[str], set[str], list[str], int]:
    with get_engine(ws).connect() as c:
        insp = inspect(c)
        cols = {x["name"] for x in insp.get_columns("visits")}
        indexes = {x["name"] for x in insp.get_indexes("visits")}
        uniques = [u["name"] for u in insp.get_unique_constraints("visits")]
        version = c.execute(text("SELECT max(version) FROM schema_version")).scalar()
    return cols, indexes, uniques, int(version)


@pytest.mark.parametrize("which", ["old", "new"])
def test_the_register_gets_the_void_columns_and_a_live_only_natural_key(tmp_path: Path, which: str) -> None:
    ws = _old_workspace(tmp_path / "ws") if which == "old" else workspace.init(tmp_path / "ws")
    cols, indexes, uniques, version = _shape(ws)
    assert {"voided_at", "voided_by", "voided_reason"} <= cols
    assert register.LIVE_NATURAL_INDEX in indexes and {"ix_visits_serial", "ix_visits_uscc"} <= indexes
    assert "uq_visit_natural" not in uniques
    assert version == len(MIGRATIONS)

    # The plan the old release registered is the same two visits: found again, not registered twice.
    rows = [GOOD | {"开始日期": date(2025, 3, 10), "结束日期": date(2025, 3, 11)},
            GOOD | {"检查类别": "督导检查", "开始日期": date(2025, 11, 17), "结束日期": date(2025, 11, 18)}]
    plan = _plan(tmp_path / "plan.xlsx", rows)
    again = generate(ws, plan, formats=("docx",), issue_date=date(2025, 3, 1), today=date(2025, 3, 1))
    assert [(o.status, o.serial, o.existing) for o in again.outcomes] == [
        (RowStatus.GENERATED, "140200-2025-0001", which == "old"), (RowStatus.GENERATED, "140200-2025-0002", which == "old")]
    with session(ws) as s:
        v = register.by_serial(s, "140200-2025-0002")
        assert v is not None and (v.visit_total, v.visit_kind, v.voided_at) == (2, 1, None)
        assert v.issue_date == date(2025, 3, 1)

    # Void one and register the corrected row for the same dates; two live copies stay impossible.
    assert void_visit(ws, "140200-2025-0002", "误登记", actor="甲").ok
    redo = generate(ws, plan, formats=("docx",), today=date(2025, 3, 1))
    assert [(o.serial, o.existing) for o in redo.outcomes] == [("140200-2025-0001", True), ("140200-2025-0003", False)]
    cols = ("year, seq, enterprise, uscc, county, county_code, industry, grade, kind, basis, joint_units, start, "
            '"end", leader, members, experts, content, benchmark, key_supervision, visit_total, visit_kind, '
            "issue_date, batch, over_cap, override_reason, created_at, actor, card_status, card_version")
    with pytest.raises(IntegrityError), session(ws) as s:  # a copy of the live visit under another serial
        s.execute(text(f"INSERT INTO visits (serial, {cols}) SELECT 'twin', {cols} FROM visits "
                       "WHERE serial = '140200-2025-0003'"))


def test_a_filled_workspace_gets_the_web_accounts_and_keeps_its_visits(tmp_path: Path) -> None:
    from engine.accounts import add_user, authenticate, list_users

    ws = _old_workspace(tmp_path / "ws")
    with get_engine(ws).connect() as c:
        tables = set(inspect(c).get_table_names())
        visits = c.execute(text("SELECT count(*) FROM visits")).scalar()
    assert {"web_users", "web_sessions"} <= tables and visits == 2
    assert list_users(ws) == []
    add_user(ws, "张三", "admin", "a-long-password", actor="test")
    assert authenticate(ws, "张三", "a-long-password") is not None


def test_migration_12_gives_a_filled_workspace_the_stored_review(tmp_path: Path) -> None:
    """A workspace as migration 11 left it, with a month of visits and cards: it gains the review rows'
    tables and triggers (12) and the flagged cards' table (13); the first reader fills every row by the review's rules, and they agree with
    the Python build; a change after the upgrade is seen."""
    from _review_fixtures import JUNE, TODAY, file_month, register_month

    from engine.db import dispose_engine
    from engine.db.migrations import expected_review_triggers
    from engine.review import ReviewFlag, build_review, select_entries
    from engine.review.counts import counts_of
    from engine.review.stored import stored_counts, stored_serials

    ws = workspace.init(tmp_path / "ws")
    p = register_month(ws)
    file_month(ws, p)
    dispose_engine(ws)
    db = sqlite3.connect(ws.archive / "ruqi.sqlite")
    db.executescript("".join(f"DROP TRIGGER {t};" for t in expected_review_triggers("sqlite"))
                     + "DROP TABLE review_rows; DROP TABLE review_people; DROP TABLE review_dirty; "
                       "DROP TABLE review_meta; DROP TABLE review_cards; DELETE FROM schema_version WHERE version >= 12;")
    db.close()
    _, _, _, version = _shape(ws)  # opening the workspace runs steps 12 and 13
    assert version == len(MIGRATIONS) >= 13
    with get_engine(ws).connect() as c:
        tables = set(inspect(c).get_table_names())
        triggers = {r[0] for r in c.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
    assert {"review_rows", "review_people", "review_dirty", "review_meta", "review_cards"} <= tables
    assert expected_review_triggers("sqlite") <= triggers
    for sel in ((None, None, None), (*JUNE, None)):
        r = build_review(ws, *sel, today=TODAY, read_cards=False)
        assert stored_counts(ws, *sel, today=TODAY) == counts_of(r)
        want = [e.serial for e in select_entries(r, flag=ReviewFlag.VIOLATION)]
        assert stored_serials(ws, *sel, today=TODAY, flag=ReviewFlag.VIOLATION) == (len(want), want)
    serial = next(iter(p.yes))
    assert void_visit(ws, serial, "误登记", actor="甲").ok
    assert stored_serials(ws, *JUNE, today=TODAY, flag=ReviewFlag.VOIDED) == (1, [serial])
    assert stored_counts(ws, *JUNE, today=TODAY) == counts_of(build_review(ws, *JUNE, today=TODAY, read_cards=False))
