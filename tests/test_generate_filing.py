"""`generate` files a run's documents in one transaction per chunk of rows (issue 10, whole-process
speed), and a row that cannot be filed still fails alone: its visit is withdrawn, the other rows
of its chunk are filed and verify passes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from _plan_fixtures import GOOD, _plan
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine.archive import items_for_serial, verify
from engine.archive.layout import folder
from engine.archive.models import ItemRecord
from engine.db import get_engine
from engine.generate import EARLY_MIN, FILE_CHUNK, GenCode, RowStatus, generate
from engine.identifiers import make_uscc
from engine.render.batch import make_chunks
from engine.workspace import Workspace

NAMES = ("示例机械", "示例化工", "示例煤业", "示例建材", "示例冶金")
USCCS = tuple(make_uscc(f"91140200MA0K{i}{i}00{i}") for i in range(1, 6))


def rows(n: int) -> list[dict[str, object]]:
    return [GOOD | {"企业名称": f"大同市云州区{NAMES[i]}有限公司", "统一社会信用代码": USCCS[i],
                    "开始日期": date(2025, 5, 6 + i), "结束日期": date(2025, 5, 6 + i)} for i in range(n)]


@contextmanager
def filing_transactions() -> Iterator[set[int]]:
    """The database transactions in which archive items were inserted, as they happen."""
    seen: set[int] = set()

    def after_flush(s: Session, _ctx: object) -> None:
        if any(isinstance(o, ItemRecord) for o in s.new):
            root = s.get_transaction()
            seen.add(id(root))

    event.listen(Session, "after_flush", after_flush)
    try:
        yield seen
    finally:
        event.remove(Session, "after_flush", after_flush)


def test_a_run_files_its_documents_in_one_transaction_per_chunk(ws: Workspace, tmp_path: Path) -> None:
    plan = _plan(tmp_path / "plan.xlsx", rows(5))
    assert FILE_CHUNK >= 5
    flushes: list[int] = []

    def count(s: Session, _ctx: object) -> None:
        if any(isinstance(o, ItemRecord) for o in s.new):
            flushes.append(1)

    event.listen(Session, "after_flush", count)
    try:
        with filing_transactions() as seen:
            result = generate(ws, plan, formats=("docx", "pdf"), workers=1)
    finally:
        event.remove(Session, "after_flush", count)
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED] * 5
    assert len(seen) == 1  # 30 documents, one transaction (the old filing: one per inspection)
    assert len(flushes) == 1  # and one flush of index rows for the chunk (before: one per inspection)
    for o in result.outcomes:
        filed = items_for_serial(ws, o.serial)
        assert sorted((i.form_type, i.format) for i in filed) == sorted(
            (t, f) for t in ("notice", "notice_board", "card_generated") for f in ("docx", "pdf"))
        assert {i.format_version for i in filed if i.format == "pdf"} == {"PDF/A-3B"}
        assert all(i.path.is_file() for i in filed)
    assert verify(ws).ok


def test_a_row_that_cannot_be_filed_fails_alone_in_its_chunk(ws: Workspace, tmp_path: Path) -> None:
    before = generate(ws, _plan(tmp_path / "first.xlsx", rows(1)), formats=("docx",), workers=1)
    assert before.ok
    # The next inspection's archive folder is taken by a file: its documents cannot be written.
    blocked = ws.archive / folder("notice", 2025, "140200-2025-0002", NAMES_FULL[1], str(GOOD["所属县区"]))
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"not a folder")
    result = generate(ws, _plan(tmp_path / "plan.xlsx", rows(3)), formats=("docx",), workers=1)
    ok, bad, ok2 = result.outcomes
    assert ok.status is RowStatus.GENERATED and ok.existing and ok2.status is RowStatus.GENERATED
    assert bad.status is RowStatus.INVALID and bad.serial == ""
    assert {GenCode.FILE_FAILED, GenCode.WITHDRAWN} <= {f.code for f in bad.findings}
    assert len(items_for_serial(ws, ok.serial)) == 3 and len(items_for_serial(ws, ok2.serial)) == 3
    assert items_for_serial(ws, "140200-2025-0002") == []
    assert not list(ws.archive.rglob(".ruqi-tmp-*"))  # its prepared files went with it
    blocked.unlink()
    assert verify(ws).ok


NAMES_FULL = tuple(f"大同市云州区{n}有限公司" for n in NAMES)


def test_filing_starts_while_later_chunks_still_render_and_follows_plan_order(ws: Workspace, tmp_path: Path) -> None:
    """Rows are filed (their own transactions) before the run's last chunk is rendered: ``progress``
    of the last chunk waits for it (the old filing began after rendering, so the wait would time
    out).  Each rendered chunk is filed in one transaction as it arrives (chunks hold EARLY_MIN to
    FILE_CHUNK rows), so only the last one is filed after rendering.  件号 still follow the plan's rows."""
    n = FILE_CHUNK + 5
    plan = _plan(tmp_path / "plan.xlsx", [
        GOOD | {"企业名称": f"大同市云州区示例{i:02d}机械有限公司", "统一社会信用代码": make_uscc(f"91140200MA0K{i:05d}"),
                "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6)} for i in range(n)])
    began = threading.Event()
    filed_before_last_chunk: list[bool] = []

    def progress(done: int, total: int) -> None:
        if done == total:  # the last chunk is collected; rendering has not returned yet
            filed_before_last_chunk.append(began.wait(timeout=60))

    with filing_transactions() as seen:
        def after_flush(s: Session, _ctx: object) -> None:
            if any(isinstance(o, ItemRecord) for o in s.new):
                began.set()

        event.listen(Session, "after_flush", after_flush)
        try:
            result = generate(ws, plan, formats=("docx",), workers=1, progress=progress)
        finally:
            event.remove(Session, "after_flush", after_flush)
    assert filed_before_last_chunk == [True]
    assert [o.status for o in result.outcomes] == [RowStatus.GENERATED] * n
    chunks = [len(c) for c in make_chunks([{} for _ in range(n)], 1)]  # 20, 9
    assert all(EARLY_MIN <= k <= FILE_CHUNK for k in chunks[:-1])
    assert len(seen) == len(chunks)  # one transaction per rendered chunk (before: per FILE_CHUNK rows)
    pieces = [sorted(i.piece for i in items_for_serial(ws, o.serial)) for o in result.outcomes]
    assert all(len(p) == 3 for p in pieces)
    assert [p[0] for p in pieces] == sorted(p[0] for p in pieces)  # plan order
    assert verify(ws).ok


def test_a_prepared_file_gone_before_its_chunk_commits_indexes_nothing(ws: Workspace, tmp_path: Path) -> None:
    """The chunk's files are fsynced together just before its transaction (not one by one as they
    are written): one that has vanished by then fails the chunk before anything is indexed, so no
    index row names a missing file; the visits are withdrawn and the other temporary files deleted."""
    plan = _plan(tmp_path / "plan.xlsx", rows(2))

    def prepared() -> list[Path]:  # (not the run's disk reserve beside the database)
        return [p for p in ws.archive.rglob(".ruqi-tmp-*") if "-reserve-" not in p.name]

    def progress(done: int, total: int) -> None:
        if done == total:  # rendered; their archive copies are being written in the prepare thread
            deadline = time.monotonic() + 60
            while len(prepared()) < 6 and time.monotonic() < deadline:
                time.sleep(0.01)
            prepared()[0].unlink()

    result = generate(ws, plan, formats=("docx",), workers=1, progress=progress)
    assert [o.status for o in result.outcomes] == [RowStatus.INVALID] * 2
    for o in result.outcomes:
        assert {GenCode.FILE_FAILED, GenCode.WITHDRAWN} <= {f.code for f in o.findings}
    assert not list(ws.archive.rglob(".ruqi-tmp-*"))
    with Session(get_engine(ws)) as s:
        assert s.scalars(select(ItemRecord)).all() == []
    assert verify(ws).ok
