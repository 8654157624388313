"""Generated batches as the 生成 page lists and zips them (``engine.outbox``)."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

from _plan_fixtures import GOOD, _plan

from engine.generate import generate
from engine.outbox import batch_rows, batches, find_batch, zip_batch


def test_a_generated_batch_is_listed_read_and_zipped_whole(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = dict(GOOD, 统一社会信用代码="91140200MA0K123455")
    res = generate(ws, _plan(tmp_path / "plan.xlsx", [GOOD, bad]), formats=("docx",), issue_date=date(2025, 3, 28))
    (ws.outbox / "stats").mkdir()  # blanks of `ruqi stats blank`: not a batch
    (ws.outbox / "stats" / "x.xlsx").write_bytes(b"x")
    listed = batches(ws)
    assert [b.name for b in listed] == [res.batch]
    assert listed[0].plan == "plan"
    rows = batch_rows(listed[0])
    assert [r["status"] for r in rows] == ["generated", "invalid"]
    assert "校验位" in rows[1]["errors"][0]["message"]
    buf = io.BytesIO()
    n = zip_batch(listed[0], buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        names = z.namelist()
        on_disk = sorted(p for p in res.out_dir.rglob("*") if p.is_file())
        assert n == len(names) == len(on_disk) >= 4  # three docx forms, manifest.json, 生成清单.xlsx
        for p in on_disk:
            assert z.read(f"{res.batch}/{p.relative_to(res.out_dir).as_posix()}") == p.read_bytes()


def test_a_batch_is_found_by_its_listed_name_only(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = generate(ws, _plan(tmp_path / "plan.xlsx", [GOOD]), formats=("docx",), issue_date=date(2025, 3, 28))
    assert find_batch(ws, res.batch) is not None
    for name in ("../archive", "..", "stats", "", f"{res.batch}/../..", "/etc"):
        assert find_batch(ws, name) is None


def test_a_linked_folder_or_file_in_a_batch_is_not_zipped(ws, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = generate(ws, _plan(tmp_path / "plan.xlsx", [GOOD]), formats=("docx",), issue_date=date(2025, 3, 28))
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("top secret")
    (res.out_dir / "linked").symlink_to(secret)
    (res.out_dir / "k.txt").symlink_to(secret / "key.txt")
    buf = io.BytesIO()
    zip_batch(find_batch(ws, res.batch), buf)  # type: ignore[arg-type]
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        assert not [n for n in z.namelist() if "linked" in n or n.endswith("k.txt")]
        assert all(b"top secret" not in z.read(n) for n in z.namelist())


def test_rounds_sent_out_are_listed_latest_period_first(ws) -> None:  # type: ignore[no-untyped-def]
    from engine.stats import Period, rounds, write_blanks

    write_blanks(ws, 2, Period(2025, 1), due=date(2025, 3, 18))
    write_blanks(ws, 1, Period(2025, 2), due=date(2025, 6, 18))
    write_blanks(ws, 2, Period(2025, 2))
    assert [(r.table_no, r.period, r.due) for r in rounds(ws)] == [
        (1, "2025Q2", date(2025, 6, 18)), (2, "2025Q2", None), (2, "2025Q1", date(2025, 3, 18))]
    assert find_batch(ws, "stats") is None  # the blanks' folder is not a batch
