"""One schema, owned by the migrations: a fresh workspace and one upgraded from the first release end
with the same tables, and those are exactly the tables the ORM classes map; every recorded version
is a step that changed something."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text

import engine.accounts
import engine.archive.models
import engine.provenance
import engine.readings
import engine.register
import engine.review.stored
import engine.stats.submissions  # noqa: F401  (each maps its tables on Base)
from engine import workspace
from engine.db import Base, get_engine
from engine.db.migrations import MIGRATIONS, current_version, upgrade

OLD_DB = Path(__file__).parent / "data" / "workspace_v3.sql"  # a workspace of the first release (commit b43c139)


def _reflect(conn: Connection) -> dict[str, Any]:
    """Tables, columns (name, nullability, type affinity), indexes and unique constraints, as the
    database itself reports them."""
    insp = inspect(conn)
    shape: dict[str, Any] = {}
    for t in sorted(set(insp.get_table_names()) - {"schema_version"}):
        shape[t] = {
            "columns": {c["name"]: (c["nullable"], type(c["type"]).__name__) for c in insp.get_columns(t)},
            "indexes": {i["name"]: (tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(t)},
            "uniques": sorted(tuple(sorted(u["column_names"])) for u in insp.get_unique_constraints(t)),
            "pk": tuple(insp.get_pk_constraint(t)["constrained_columns"]),
        }
    return shape


def _migrated(url: str) -> dict[str, Any]:
    eng = create_engine(url)
    upgrade(eng)
    with eng.connect() as c:
        shape = _reflect(c)
    eng.dispose()
    return shape


def _orm(url: str) -> dict[str, Any]:
    eng = create_engine(url)
    Base.metadata.create_all(eng)
    with eng.connect() as c:
        shape = _reflect(c)
    eng.dispose()
    return shape


def _index_sql(url: str) -> dict[str, str]:
    eng = create_engine(url)
    with eng.connect() as c:
        rows = c.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'")).all()
    eng.dispose()
    return {name: " ".join(sql.split()) for name, sql in rows}


def test_the_mapped_partial_indexes_are_the_migrated_ones(tmp_path: Path) -> None:
    migrated, orm = f"sqlite:///{tmp_path / 'migrated.sqlite'}", f"sqlite:///{tmp_path / 'orm.sqlite'}"
    _migrated(migrated)
    _orm(orm)
    partial = _index_sql(orm)
    assert {"uq_visit_natural_live", "ix_visits_start_serial", "ix_card_readings_corrected"} <= set(partial)
    assert partial == _index_sql(migrated)


def _old_workspace(root: Path) -> workspace.Workspace:
    ws = workspace.init(root)
    con = sqlite3.connect(ws.archive / "ruqi.sqlite")
    con.executescript(OLD_DB.read_text(encoding="utf-8"))
    con.close()
    return ws


def test_the_migrations_make_exactly_the_tables_the_code_maps(tmp_path: Path) -> None:
    migrated = _migrated(f"sqlite:///{tmp_path / 'migrated.sqlite'}")
    assert migrated == _orm(f"sqlite:///{tmp_path / 'orm.sqlite'}")
    assert set(migrated) == set(Base.metadata.tables)


def test_a_first_release_workspace_upgrades_to_the_fresh_schema_and_keeps_its_rows(tmp_path: Path) -> None:
    old = _old_workspace(tmp_path / "old")
    eng = get_engine(old)  # opening the workspace runs the missing steps
    with eng.connect() as c:
        upgraded = _reflect(c)
        versions = [r[0] for r in c.execute(text("SELECT version FROM schema_version ORDER BY version"))]
        serials = [r[0] for r in c.execute(text("SELECT serial FROM visits ORDER BY id"))]
    assert upgraded == _migrated(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    assert serials == ["140200-2025-0001", "140200-2025-0002"]


def test_steps_one_to_three_are_the_first_release_schema(tmp_path: Path) -> None:
    eng = create_engine(f"sqlite:///{tmp_path / 'v3.sqlite'}")
    with eng.begin() as c:
        current_version(c)
        for step in MIGRATIONS[:3]:
            step(c)
        ours = _reflect(c)
    eng.dispose()
    con = sqlite3.connect(tmp_path / "release.sqlite")
    con.executescript(OLD_DB.read_text(encoding="utf-8"))
    con.close()
    release = create_engine(f"sqlite:///{tmp_path / 'release.sqlite'}")
    with release.connect() as c:
        assert _reflect(c) == ours
    release.dispose()


def test_a_fresh_workspace_records_one_version_per_step_and_each_step_changes_the_schema(tmp_path: Path) -> None:
    ws = workspace.init(tmp_path / "ws")
    with get_engine(ws).connect() as c:
        versions = [r[0] for r in c.execute(text("SELECT version FROM schema_version ORDER BY version"))]
    assert versions == list(range(1, len(MIGRATIONS) + 1))

    eng = create_engine(f"sqlite:///{tmp_path / 'steps.sqlite'}")
    with eng.begin() as c:
        current_version(c)
        shapes = [_reflect(c)]
        for step in MIGRATIONS:
            step(c)
            shapes.append(_reflect(c))
    eng.dispose()
    unchanged = [v for v in range(1, len(shapes)) if shapes[v] == shapes[v - 1]]
    assert unchanged == []


def test_rejections_made_by_the_old_first_use_table_survive_step_7(tmp_path: Path) -> None:
    """Before step 7 the statistics desk created ``stats_rejections`` itself on first use."""
    eng = create_engine(f"sqlite:///{tmp_path / 'v6.sqlite'}")
    rejections = engine.stats.submissions.StatsRejection.__table__
    with eng.begin() as c:
        current_version(c)
        for version, step in enumerate(MIGRATIONS[:6], start=1):
            step(c)
            c.execute(text("INSERT INTO schema_version (version) VALUES (:v)"), {"v": version})
        rejections.create(c)
        c.execute(rejections.insert().values(table_no=1, period="2025Q1", unit_code="140213", unit_name="平城区",
                                             source_name="x.xlsx", stored_as="", sha256="", reasons=[], actor="甲",
                                             received_at=datetime(2025, 4, 1)))
    upgrade(eng)
    with eng.connect() as c:
        assert c.execute(text("SELECT unit_name FROM stats_rejections")).scalars().all() == ["平城区"]
        assert current_version(c) == len(MIGRATIONS)
    eng.dispose()
