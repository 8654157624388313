"""`generate` registers a visit only together with its documents.

A broken template, a full disk under outbox/ and a read-only archive each make the rows fail
with a Chinese message naming the problem and the folder; the register, the caps and `status`
then hold nothing of them, and running the plan again once the fault is gone issues them.
Full-disk and read-only cases mount a real tmpfs (root only; skipped where mounting is refused).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from _plan_fixtures import GOOD, _plan
from sqlalchemy import func, select

from engine.db import session
from engine.generate import GenCode, RowStatus, generate
from engine.inbox.status import pending_cards
from engine.register import Visit
from engine.render.templates import DEFAULT_TEMPLATES_DIR
from engine.workspace import Workspace

ROW2 = GOOD | {"企业名称": "大同市云州区示例化工有限公司", "统一社会信用代码": "91140200MA0K7L9P1X",
               "开始日期": date(2025, 5, 6), "结束日期": date(2025, 5, 6)}


def visits(ws: Workspace) -> int:
    with session(ws) as s:
        return s.scalar(select(func.count()).select_from(Visit)) or 0


def codes(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {f.code for o in result.outcomes for f in o.findings} | {f.code for f in result.plan_findings}


def messages(result) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(f.message for o in result.outcomes for f in o.findings) + "\n".join(
        f.message for f in result.plan_findings)


def test_broken_template_registers_nothing_and_a_rerun_issues_the_same_numbers(ws: Workspace, tmp_path: Path) -> None:
    from engine.identifiers import check_uscc

    assert check_uscc(ROW2["统一社会信用代码"]) is None
    broken = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, broken)
    card = broken / "card.html"
    card.write_text(card.read_text(encoding="utf-8") + "{% if %}", encoding="utf-8")
    plan = _plan(tmp_path / "plan.xlsx", [GOOD, ROW2])

    bad = generate(ws, plan, formats=("pdf",), workers=1, templates_dir=broken)
    # Refused before registering (templates check) or failed while rendering: either way no row
    # is generated, nothing is registered and no document with a serial is left behind.
    assert all(o.status is not RowStatus.GENERATED and o.serial == "" for o in bad.outcomes)
    assert codes(bad) & {GenCode.TEMPLATES_BROKEN, GenCode.RENDER_FAILED}
    assert "ruqi templates check" in messages(bad)
    assert visits(ws) == 0 and pending_cards(ws, today=date(2025, 12, 31)) == []
    assert not [p for p in bad.out_dir.iterdir() if p.suffix in (".pdf", ".docx")]

    good = generate(ws, plan, formats=("docx",), workers=1)
    assert [o.serial for o in good.outcomes] == ["140200-2025-0001", "140200-2025-0002"]
    assert all(o.status is RowStatus.GENERATED and not o.existing for o in good.outcomes)
    assert visits(ws) == 2 and len(pending_cards(ws, today=date(2025, 12, 31))) == 2


def test_docx_template_that_is_not_a_document(ws: Workspace, tmp_path: Path) -> None:
    """A .docx template overwritten with garbage: every row fails with the reason (no "ask the
    administrator for the log" without a log) and the register stays empty."""
    broken = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES_DIR, broken)
    (broken / "notice.docx").write_bytes(b"not a zip")
    plan = _plan(tmp_path / "plan.xlsx", [GOOD, ROW2])
    bad = generate(ws, plan, formats=("docx",), workers=1, templates_dir=broken)
    assert all(o.status is not RowStatus.GENERATED for o in bad.outcomes) and visits(ws) == 0
    assert not bad.ok and messages(bad)
    assert "请联系管理员查看日志" not in messages(bad)


@contextmanager
def tmpfs(where: Path, options: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_full_disk_under_outbox_is_named_and_nothing_is_registered(ws: Workspace, tmp_path: Path) -> None:
    plan = _plan(tmp_path / "plan.xlsx", [GOOD, ROW2])
    with tmpfs(ws.outbox, "size=8k"):
        result = generate(ws, plan, formats=("docx",), workers=1)
        assert all(o.status is RowStatus.INVALID for o in result.outcomes)
        text = messages(result)
        assert "磁盘已满" in text and str(ws.outbox) in text and "Traceback" not in text
        assert GenCode.WITHDRAWN in codes(result)
        assert visits(ws) == 0 and pending_cards(ws, today=date(2025, 12, 31)) == []
    again = generate(ws, plan, formats=("docx",), workers=1)
    assert [o.serial for o in again.outcomes] == ["140200-2025-0001", "140200-2025-0002"]


def test_read_only_archive_is_named_and_nothing_is_registered(tmp_path: Path) -> None:
    from engine import workspace

    root = tmp_path / "ws"
    workspace.init(root)
    cfg = root / "ruqi.toml"
    db = tmp_path / "register.sqlite"  # the database elsewhere: only the archive's folder is read-only
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('database_url = ""', f'database_url = "sqlite:///{db}"'),
                   encoding="utf-8")
    ws = Workspace.open(root)
    plan = _plan(tmp_path / "plan.xlsx", [GOOD])
    with tmpfs(ws.archive, "ro,size=1m"):
        result = generate(ws, plan, formats=("docx",), workers=1)
        [o] = result.outcomes
        assert o.status is RowStatus.INVALID and GenCode.FILE_FAILED in codes(result)
        assert "只读" in messages(result) and str(ws.archive) in messages(result)
        assert visits(ws) == 0
    again = generate(ws, plan, formats=("docx",), workers=1)
    assert again.outcomes[0].status is RowStatus.GENERATED and again.outcomes[0].serial == "140200-2025-0001"


def test_read_only_archive_holding_the_database_is_one_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The usual layout: archive/ (database included) on a share that turned read-only."""
    import sys

    from engine import workspace
    from engine.cli import app
    from engine.cli.common import run_app
    from engine.db import dispose_engine

    root = tmp_path / "ws"
    with tmpfs(root / "archive", "size=16m") as archive:
        ws = workspace.init(root)
        first = generate(ws, _plan(tmp_path / "p1.xlsx", [GOOD]), formats=("docx",), workers=1)
        assert first.outcomes[0].serial == "140200-2025-0001"
        dispose_engine(ws)
        subprocess.run(["mount", "-o", "remount,ro", str(archive)], check=True)
        monkeypatch.setenv("COLUMNS", "400")
        monkeypatch.setattr(sys, "argv", ["ruqi", "generate", "--plan", str(_plan(tmp_path / "p2.xlsx", [ROW2])),
                                          "--formats", "docx", "-w", str(root)])
        with pytest.raises(SystemExit) as ex:
            run_app(app)
        out = capsys.readouterr()
        text = out.out + out.err
        assert ex.value.code == 2 and "只读" in text and "Traceback" not in text
        subprocess.run(["mount", "-o", "remount,rw", str(archive)], check=True)
        dispose_engine(ws)
        again = generate(ws, _plan(tmp_path / "p3.xlsx", [ROW2]), formats=("docx",), workers=1)
        assert again.outcomes[0].serial == "140200-2025-0002" and visits(ws) == 2
        dispose_engine(ws)


def _firms(n: int) -> list[dict[str, object]]:
    from engine.identifiers import make_uscc

    return [GOOD | {"企业名称": f"大同市示例{i}号机械有限公司", "统一社会信用代码": make_uscc(f"91140200MA0K{i:05d}")}
            for i in range(2, 2 + n)]


def _fill(folder: Path, leave: int) -> Path:
    """A clerk's other files on the archive's disk: all of it but ``leave`` bytes taken."""
    import os

    st = os.statvfs(folder)
    filler = folder / "filler.bin"
    with open(filler, "wb") as f:
        f.write(bytes(max(0, st.f_bavail * st.f_frsize - leave)))
    return filler


def _status_serials(ws: Workspace) -> set[str]:
    return {p.serial for p in pending_cards(ws, today=date(2025, 12, 31))}


def test_full_disk_holding_the_database_still_withdraws_every_failed_visit(tmp_path: Path) -> None:
    """The acceptance case: archive/ (database included) on a 16 MB disk that the run fills.
    Without the reserve the withdrawal itself cannot be written (measured before the change:
    every failed row said GENERATE_WITHDRAW_FAILED and stayed in the register and in `status`)."""
    from engine import workspace
    from engine.archive import verify
    from engine.archive.files import RESERVE_BYTES, TMP_PREFIX
    from engine.db import dispose_engine

    root = tmp_path / "ws"
    with tmpfs(root / "archive", "size=16m") as archive:
        ws = workspace.init(root)
        first = generate(ws, _plan(tmp_path / "p1.xlsx", [GOOD]), formats=("docx",), workers=1)
        assert first.outcomes[0].serial == "140200-2025-0001"
        row_bytes = sum(p.stat().st_size for p in first.outcomes[0].files)
        # room for the reserve and half an inspection's documents: the plan overflows the disk
        filler = _fill(archive, RESERVE_BYTES + row_bytes // 2 + 20_000)
        plan = _plan(tmp_path / "p2.xlsx", _firms(10))

        full = generate(ws, plan, formats=("docx",), workers=1)
        failed = [o for o in full.outcomes if o.status is not RowStatus.GENERATED]
        assert failed, "the plan must overflow the disk"
        assert GenCode.WITHDRAW_FAILED not in codes(full)
        for o in failed:
            text = "\n".join(f.message for f in o.findings)
            assert "磁盘已满" in text and "archive" in text and "Traceback" not in text
            assert {f.code for f in o.findings} >= {GenCode.WITHDRAWN} and o.serial == ""
        issued = {o.serial for o in full.outcomes if o.status is RowStatus.GENERATED}
        assert visits(ws) == 1 + len(issued)  # the caps count only inspections with documents
        assert _status_serials(ws) == {"140200-2025-0001"} | issued
        assert not [p for p in archive.iterdir() if p.name.startswith(TMP_PREFIX)]  # the reserve is gone
        dispose_engine(ws)

        filler.unlink()  # the clerk frees space
        assert verify(ws).ok
        again = generate(ws, plan, formats=("docx",), workers=1)
        assert all(o.status is RowStatus.GENERATED for o in again.outcomes)
        expected = [f"140200-2025-{n:04d}" for n in range(2, 12)]
        assert [o.serial for o in again.outcomes] == expected  # the withdrawn numbers are issued again
        assert visits(ws) == 11 and verify(ws).ok
        dispose_engine(ws)


def test_a_database_disk_without_room_for_the_reserve_registers_nothing(tmp_path: Path) -> None:
    from engine import workspace
    from engine.archive import verify
    from engine.db import dispose_engine

    root = tmp_path / "ws"
    with tmpfs(root / "archive", "size=16m") as archive:
        ws = workspace.init(root)
        filler = _fill(archive, 64 * 1024)
        plan = _plan(tmp_path / "p.xlsx", _firms(2))
        result = generate(ws, plan, formats=("docx",), workers=1)
        assert result.outcomes == [] and codes(result) == {GenCode.DISK_FULL}
        text = messages(result)
        assert "磁盘已满" in text and str(archive) in text and "未登记任何检查" in text
        dispose_engine(ws)
        filler.unlink()  # (opening the database to count needs a little room itself)
        assert visits(ws) == 0 and _status_serials(ws) == set() and verify(ws).ok
        again = generate(ws, plan, formats=("docx",), workers=1)
        assert [o.serial for o in again.outcomes] == ["140200-2025-0001", "140200-2025-0002"]
        dispose_engine(ws)


def test_a_reserve_left_by_a_killed_run_is_the_engines_own(ws: Workspace) -> None:
    """kill -9 between the reserve and its removal: verify calls it an interrupted run's temporary
    file (a warning, not an unindexed file) and repair removes it."""
    import os

    from engine.archive import verify
    from engine.archive.files import reserve_space
    from engine.archive.repair import repair

    child = os.fork()
    if child == 0:  # a run of another process that dies holding its reserve
        reserve_space(ws.archive, 64 * 1024)
        os._exit(0)
    os.waitpid(child, 0)
    [left] = [p for p in ws.archive.iterdir() if "reserve" in p.name]
    report = verify(ws)
    assert report.ok and "FILE_UNINDEXED" not in {f.code for f in report.findings}
    repair(ws)
    assert not left.exists() and verify(ws).ok


def test_the_next_generate_frees_a_killed_runs_reserve(tmp_path: Path) -> None:
    """Its space is given back before the new run holds its own (a nearly full disk would
    otherwise refuse every run), also beside a database kept outside archive/, where
    `archive repair` does not look."""
    import os

    from engine import workspace
    from engine.archive.files import reserve_space

    root = tmp_path / "ws"
    workspace.init(root)
    cfg = root / "ruqi.toml"
    dbdir = tmp_path / "db"
    dbdir.mkdir()
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(
        'database_url = ""', f'database_url = "sqlite:///{dbdir / "register.sqlite"}"'), encoding="utf-8")
    ws = Workspace.open(root)
    child = os.fork()
    if child == 0:  # a run killed while it held its reserve
        reserve_space(dbdir, 64 * 1024)
        os._exit(0)
    os.waitpid(child, 0)
    [left] = [p for p in dbdir.iterdir() if "reserve" in p.name]
    result = generate(ws, _plan(tmp_path / "p.xlsx", [GOOD]), formats=("docx",), workers=1)
    assert result.outcomes[0].status is RowStatus.GENERATED
    assert not left.exists() and not [p for p in dbdir.iterdir() if "reserve" in p.name]
