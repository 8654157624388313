"""Migration 4 on PostgreSQL: a register of the previous release (void columns missing, the old natural-key
constraint) is upgraded with ALTER TABLE.  Skipped where no PostgreSQL server or psycopg is installed."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from sqlalchemy import create_engine, inspect, text
from test_archive_pg import pg_server, pg_ws  # noqa: F401  (fixtures)
from test_schema import _migrated, _orm

from engine import db, register
from engine.db.migrations import MIGRATIONS, current_version
from engine.generate import generate
from engine.void import void_visit
from engine.workspace import Workspace

psycopg = pytest.importorskip("psycopg")

VOID_COLUMNS = ("voided_at", "voided_by", "voided_reason")


def _previous_release(url: str) -> None:
    """The tables as the release before migration 4 created them (schema version 3): steps 1–3 are
    that release's fixed DDL."""
    eng = create_engine(url)
    with eng.begin() as c:
        current_version(c)
        for version, step in enumerate(MIGRATIONS[:3], start=1):
            step(c)
            c.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
    eng.dispose()


def test_upgrade_a_postgresql_register(pg_ws: Workspace, tmp_path: Path) -> None:  # noqa: F811
    _previous_release(pg_ws.database_url)
    plan = _plan(tmp_path / "plan.xlsx", [GOOD])
    first = generate(pg_ws, plan, formats=("docx",), today=date(2025, 3, 1))  # opens the database: v4 runs
    with db.get_engine(pg_ws).connect() as c:
        insp = inspect(c)
        assert set(VOID_COLUMNS) <= {x["name"] for x in insp.get_columns("visits")}
        assert [u["name"] for u in insp.get_unique_constraints("visits")] == []
        assert register.LIVE_NATURAL_INDEX in {x["name"] for x in insp.get_indexes("visits")}
        assert c.execute(text("SELECT max(version) FROM schema_version")).scalar() == len(MIGRATIONS)
    assert void_visit(pg_ws, first.outcomes[0].serial, "误登记").ok
    again = generate(pg_ws, plan, formats=("docx",), today=date(2025, 3, 1))
    assert (again.outcomes[0].serial, again.outcomes[0].existing) == ("140200-2025-0002", False)




def _database(pg_server: tuple[str, int], suffix: str) -> str:  # noqa: F811
    host, port = pg_server
    name = f"ruqi_schema_{os.getpid()}_{suffix}"
    with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}"')
        con.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://ruqi@/{name}?host={host}&port={port}"


def test_on_postgresql_fresh_upgraded_and_mapped_schemas_are_one(pg_server: tuple[str, int]) -> None:  # noqa: F811
    fresh, old, orm = (_database(pg_server, s) for s in ("fresh", "old", "orm"))
    _previous_release(old)
    assert _migrated(old) == _migrated(fresh) == _orm(orm)


def test_the_stored_review_is_kept_current_on_postgresql(pg_ws: Workspace) -> None:  # noqa: F811
    """Migration 12's triggers on PostgreSQL: a month of visits and cards, then a void and a correction,
    and the stored review rows agree with the Python build each time."""
    from _review_fixtures import JUNE, TODAY, file_month, register_month

    from engine.confirm import confirm
    from engine.review import ReviewFlag, build_review, select_entries
    from engine.review.counts import counts_of
    from engine.review.stored import pending, stored_counts, stored_serials

    p = register_month(pg_ws)
    file_month(pg_ws, p)

    def agree() -> None:
        for sel in ((None, None, None), (*JUNE, None)):
            r = build_review(pg_ws, *sel, today=TODAY, read_cards=False)
            assert stored_counts(pg_ws, *sel, today=TODAY) == counts_of(r)
            for flag in (ReviewFlag.VIOLATION, ReviewFlag.VOIDED, ReviewFlag.ANSWER_CORRECTED):
                want = [e.serial for e in select_entries(r, flag=flag)]
                assert stored_serials(pg_ws, *sel, today=TODAY, flag=flag) == (len(want), want)

    agree()
    assert void_visit(pg_ws, next(iter(p.yes)), "误登记", actor="甲").ok
    assert pending(pg_ws) > 0
    agree()
    read = next(s for s in p.june if s not in p.yes and s not in p.overdue + p.missing + p.not_due)
    assert confirm(pg_ws, read, questions=["2=是"], by="乙", correct=True, reason="复核原件").ok
    agree()


PARTIAL = ("uq_visit_natural_live", "ix_visits_start_serial", "ix_card_readings_corrected")


def _partial_indexes(url: str) -> dict[str, str]:
    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
                         {"names": list(PARTIAL)}).all()
    eng.dispose()
    return {name: definition for name, definition in rows}


def test_on_postgresql_the_mapped_partial_indexes_are_partial(pg_server: tuple[str, int]) -> None:  # noqa: F811
    """The mapping gives PostgreSQL its predicate when the index is created there (engine.db.partial_index)."""
    fresh, orm = (_database(pg_server, s) for s in ("partial_fresh", "partial_orm"))
    _migrated(fresh)
    _orm(orm)
    migrated, mapped = _partial_indexes(fresh), _partial_indexes(orm)
    assert set(mapped) == set(PARTIAL) and all(" WHERE " in d for d in mapped.values())
    assert mapped == migrated
