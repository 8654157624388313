"""The processes that examine inbox files never open the database: what a reader needs from it
(the statistics round issued) is looked up once by the parent and handed to the workers."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from _stats_fixtures import clerk_table2

from engine import db
from engine.inbox import Kind, ingest
from engine.inbox.examine import examine
from engine.inbox.pool import _worker_init
from engine.stats import Period, write_blanks
from engine.stats.submissions import current
from engine.workspace import Workspace

YUNGANG = {"unit": "云冈区", "staff_expected": 9, "staff_actual": 9, "ent_expected": 41, "ent_actual": 40}


def test_examining_a_county_workbook_opens_no_database(ws: Workspace, tmp_path: Path) -> None:
    p = clerk_table2(tmp_path / "云冈区调度表.xlsx", [YUNGANG], filled="")  # names neither quarter nor date
    db_file = ws.archive / "ruqi.sqlite"
    assert not db_file.exists()
    ex = examine(p, p.name, ws.root, ws.key, ws.config.limits, {2: Period(2025, 3)})
    assert not db_file.exists() and ws.database_url not in db._ENGINES
    assert (ex.kind, ex.stats.period, ex.rejected) == (Kind.STATS_TABLE_2, Period(2025, 3), False)


def _open_after_forbidding(root: str) -> str:
    db.forbid_database()
    try:
        db.get_engine(Workspace.open(Path(root)))
    except db.DatabaseForbidden:
        return "refused"
    return "opened"


def test_a_worker_process_cannot_open_the_database(ws: Workspace) -> None:
    with mp.get_context("fork").Pool(1) as pool:
        assert pool.apply(_open_after_forbidding, (str(ws.root),)) == "refused"
    assert db.get_engine(ws) is not None  # this process is not affected


def test_a_county_workbook_in_the_inbox_takes_the_period_of_the_round_sent_out(ws: Workspace) -> None:
    write_blanks(ws, 2, "2025Q3", units="云冈区")
    clerk_table2(ws.inbox / "云冈区调度表.xlsx", [YUNGANG], filled="", submitter="云冈区应急管理局")
    report = ingest(ws, workers=2)
    assert [o.kind for o in report.outcomes] == [Kind.STATS_TABLE_2], [o.findings.to_list() for o in report.outcomes]
    with db.session(ws) as s:
        assert [r.unit_name for r in current(s, 2, Period(2025, 3))] == ["云冈区"]


def test_the_inbox_pools_own_workers_cannot_open_the_database(ws: Workspace) -> None:
    """The initializer ``examine_all`` gives its pool is what forbids it: a worker it sets up is refused."""
    with mp.get_context("fork").Pool(1, initializer=_worker_init, initargs=(None,)) as pool:
        assert pool.apply(_open, (str(ws.root),)) == "refused"


def _open(root: str) -> str:
    try:
        db.get_engine(Workspace.open(Path(root)))
    except db.DatabaseForbidden:
        return "refused"
    return "opened"
