"""The archive on PostgreSQL (``[archive] database_url``): same filing, numbering, concurrency and
tamper detection as on SQLite.  Starts a throw-away server on a Unix socket; skipped when no
PostgreSQL server binaries or no psycopg are installed."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest
from _archive_fixtures import card_meta, file_many, pdf_bytes, unique_pdf
from _pg_server import pg_bindir, pg_cluster

from engine.archive import audit_log, file_item, log_action, search, verify
from engine.workspace import Workspace, init

psycopg = pytest.importorskip("psycopg")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[tuple[str, int]]:
    if pg_bindir() is None:
        pytest.skip("PostgreSQL server binaries not installed")
    with pg_cluster() as server:
        yield server


_dbs = count()


@pytest.fixture
def pg_ws(pg_server: tuple[str, int], tmp_path: Path) -> Workspace:
    host, port = pg_server
    name = f"ruqi_test_{os.getpid()}_{next(_dbs)}"
    with psycopg.connect(host=host, port=port, user="ruqi", dbname="postgres", autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    ws = init(tmp_path / "ws")
    toml = ws.root / "ruqi.toml"
    url = f"postgresql+psycopg://ruqi@/{name}?host={host}&port={port}"
    toml.write_text(toml.read_text(encoding="utf-8").replace('database_url = ""', f'database_url = "{url}"'),
                    encoding="utf-8")
    return Workspace.open(ws.root)


def test_filing_numbering_and_search_on_postgresql(pg_ws: Workspace) -> None:
    a = file_item(pg_ws, unique_pdf(1), card_meta(extra={"答案": ["否"] * 10}))
    b = file_item(pg_ws, unique_pdf(2), card_meta(flags=["late"]))
    log_action(pg_ws, "export", "纪委审查包")
    assert (a.archival_code, b.archival_code, b.supersedes) == ("J001-WS·2025-D30-AQJ-0001", "J001-WS·2025-D30-AQJ-0002", a.id)
    assert [r.id for r in search(pg_ws, flag="late", enterprise="示例")] == [b.id]
    assert search(pg_ws)[0].extra == {"答案": ["否"] * 10}
    assert not (pg_ws.archive / "ruqi.sqlite").exists()
    rep = verify(pg_ws, deep=True)
    assert rep.ok and rep.items == 2 and rep.entries == 3


def test_two_processes_on_postgresql_never_share_a_number(pg_ws: Workspace) -> None:
    pdf_bytes()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(file_many, [(str(pg_ws.root), "甲", 15), (str(pg_ws.root), "乙", 15)])
    assert len(set(results[0] + results[1])) == 30
    assert sorted(r.piece for r in search(pg_ws)) == list(range(1, 31))
    assert [e.seq for e in audit_log(pg_ws)] == list(range(1, 31))
    assert verify(pg_ws).ok


def test_tampering_is_caught_on_postgresql(pg_ws: Workspace) -> None:
    row = file_item(pg_ws, unique_pdf(1), card_meta())
    file_item(pg_ws, unique_pdf(2), card_meta())
    url = pg_ws.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("update archive_items set enterprise = '丙公司' where id = %s", (row.id,))
        con.execute("update archive_audit set actor = 'nobody' where seq = 2")
    assert sorted(verify(pg_ws).findings.flatten("code")) == [("ARCHIVE_ROW_ALTERED",), ("AUDIT_ENTRY_ALTERED",)]
