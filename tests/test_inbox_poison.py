"""The inbox never blocks: one poison entry dropped among twenty good cards is that entry's problem only.

Each poison is made for real: a name whose bytes are not UTF-8, a name too long for a reason
file, a file the engine's user may not read, a file still being written or deleted while ingest
runs, a folder, a symbolic link, a FIFO, a folder squatting on a reason file's name, a full disk
(a small tmpfs), a read-only archive (a read-only bind mount).  In every case the twenty good
cards are filed, the poison is rejected byte-identical or left where the clerk sees it with a
Chinese reason, and nothing stays hidden in ``inbox/.processing/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _inbox_fixtures import ANSWERS_CLEAN, fill_docx, kit, new_workspace

from engine import archive
from engine.inbox import IngestReport, Outcome, Status, ingest, watch
from engine.workspace import Workspace

GOOD = 20
ROOT = Path(__file__).resolve().parents[1]
RUQI = ROOT / ".venv" / "bin" / "ruqi"
A_DAY_AGO = time.time() - 86400


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit(tmp_path_factory)


@pytest.fixture(scope="module")
def good_cards(cards: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Twenty returned cards of inspection 0001, each with its own phone number (different bytes)."""
    out = tmp_path_factory.mktemp("good")
    return [fill_docx(cards / "0.docx", out / f"反馈卡{k:02d}.docx", ANSWERS_CLEAN, phone=f"1390000{k:04d}")
            for k in range(GOOD)]


def drop_good(inbox: Path, good_cards: list[Path]) -> None:
    for p in good_cards:
        shutil.copy(p, inbox / p.name)
        os.utime(inbox / p.name, (A_DAY_AGO, A_DAY_AGO))  # arrived yesterday: settled


def assert_good_filed(ws: Workspace, report: IngestReport, good_cards: list[Path]) -> None:
    by = report.by_file()
    assert {by[p.name].status for p in good_cards} == {Status.FILED}
    assert len(archive.search(ws, form_type="card_returned")) == GOOD
    assert not [p for p in (ws.inbox / ".processing").rglob("*") if p.is_file() and p.name != ".lock"]


def only(report: IngestReport, good_cards: list[Path]) -> Outcome:
    (poison,) = [o for o in report.outcomes if o.file not in {p.name for p in good_cards}]
    return poison


def reason_of(ws: Workspace, o: Outcome) -> dict:
    kept = ws.root / o.location
    return json.loads(kept.with_name(kept.name + ".reason.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(("raw", "shown", "stored"), [
    (b"x\xff.docx", "x\\xff.docx", "x_xff.docx"),  # not UTF-8, not GBK either
    ("六月反馈卡.docx".encode("gbk"), "六月反馈卡.docx", "六月反馈卡.docx"),  # copied from an old GBK share
])
def test_a_name_that_is_not_utf8_is_rejected_under_a_readable_name(
        tmp_path: Path, cards: Path, good_cards: list[Path], raw: bytes, shown: str, stored: str) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    data = fill_docx(cards / "0.docx", tmp_path / "p.docx", ANSWERS_CLEAN, phone="13911112222").read_bytes()
    Path(os.fsdecode(os.path.join(os.fsencode(ws.inbox), raw))).write_bytes(data)
    report = ingest(ws)
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.file, poison.status, poison.findings.codes()) == (shown, Status.REJECTED, ["NAME_ENCODING"])
    kept = ws.root / poison.location
    assert kept == ws.rejected / stored and kept.read_bytes() == data
    reason = reason_of(ws, poison)
    assert (reason["file"], bytes.fromhex(reason["file_bytes_hex"])) == (shown, raw)
    assert json.dumps(poison.to_json(), ensure_ascii=False)  # the --json line can be printed
    assert sorted(os.listdir(os.fsencode(ws.inbox))) == [b".processing", b"rejected"]  # nothing hidden, nothing left


def test_a_name_too_long_for_its_reason_file_is_rejected_under_a_short_name(
        tmp_path: Path, cards: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    name = ("山西省大同市某某化工有限公司二〇二五年六月入企检查监督反馈卡回复" * 3)[:80] + ".pdf"
    assert len(name.encode()) == 244  # a legal name, but ".<name>.reason.json.tmp-PID" is not
    data = (cards / "0.pdf").read_bytes()[:5000]  # cut short in transit
    (ws.inbox / name).write_bytes(data)
    report = ingest(ws)
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.file, poison.status, poison.findings.codes()) == (name, Status.REJECTED, ["PDF_TRUNCATED"])
    kept = ws.root / poison.location
    assert kept.parent == ws.rejected and kept.read_bytes() == data
    assert len(kept.name.encode()) <= 130 and kept.name.startswith("山西省大同市")  # 40 characters and .pdf
    assert reason_of(ws, poison)["file"] == name


# ---------------------------------------------------------------- entries that are not files


def test_a_dropped_folder_is_reported_with_what_it_holds_and_left_alone(
        tmp_path: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards[:GOOD - 3])
    folder = ws.inbox / "六月反馈卡"
    folder.mkdir()
    for p in good_cards[GOOD - 3:]:
        shutil.copy(p, folder / p.name)
    report = ingest(ws)
    (left,) = [o for o in report.outcomes if o.status is Status.SKIPPED]
    assert (left.file, left.findings.codes()) == ("六月反馈卡", ["FOLDER"])
    assert "内有 3 个文件" in left.findings.errors[0].message and "inbox/" in left.findings.errors[0].message
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in good_cards[GOOD - 3:]]
    # The clerk does what the message says; the next run files them.
    for p in folder.iterdir():
        p.rename(ws.inbox / p.name)
    folder.rmdir()
    again = ingest(ws)
    assert {o.status for o in again.outcomes} == {Status.FILED} and len(again.outcomes) == 3
    assert len(archive.search(ws, form_type="card_returned")) == GOOD


def test_a_symlink_is_reported_and_not_followed(tmp_path: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    secret = tmp_path / "ruqi.key.copy"
    secret.write_bytes(b"not for the archive")
    (ws.inbox / "反馈卡-快捷方式.pdf").symlink_to(secret)
    report = ingest(ws)
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.file, poison.status, poison.findings.codes()) == ("反馈卡-快捷方式.pdf", Status.SKIPPED, ["SYMLINK"])
    assert str(secret) in poison.findings.errors[0].message
    assert (ws.inbox / "反馈卡-快捷方式.pdf").is_symlink() and secret.read_bytes() == b"not for the archive"


def test_a_fifo_is_reported_and_never_opened_for_reading(tmp_path: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    os.mkfifo(ws.inbox / "反馈卡.pdf")
    report = ingest(ws)  # reading a FIFO would block forever
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.status, poison.findings.codes()) == (Status.SKIPPED, ["NOT_A_FILE"])
    assert "命名管道" in poison.findings.errors[0].message and (ws.inbox / "反馈卡.pdf").exists()


# ---------------------------------------------------------------- files that change while ingest runs


def _slow_copy(src: bytes, dst: Path, chunks: int, pause: float) -> threading.Thread:
    """A copy that writes ``src`` in ``chunks`` pieces, ``pause`` seconds apart (a slow share)."""
    def run() -> None:
        with dst.open("wb") as f:
            for k in range(chunks):
                f.write(src[k * len(src) // chunks:(k + 1) * len(src) // chunks])
                f.flush()
                time.sleep(pause)

    dst.write_bytes(b"")
    t = threading.Thread(target=run)
    t.start()
    return t


def test_a_file_still_being_copied_is_left_in_the_inbox_until_it_is_complete(
        tmp_path: Path, cards: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    ws.config.limits.stable_seconds = 1.0
    drop_good(ws.inbox, good_cards)
    data = fill_docx(cards / "0.docx", tmp_path / "slow.docx", ANSWERS_CLEAN, phone="13922223333").read_bytes()
    target = ws.inbox / "慢慢复制的反馈卡.docx"
    copy = _slow_copy(data, target, chunks=40, pause=0.1)  # 4 s; ingest watches it for 2 s
    try:
        report = ingest(ws)
    finally:
        copy.join()
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.status, poison.findings.codes()) == (Status.SKIPPED, ["STILL_WRITING"])
    assert "仍在写入" in poison.findings.errors[0].message
    assert target.read_bytes() == data and not list(ws.rejected.iterdir())  # never completed inside rejected/
    (o,) = ingest(ws).outcomes  # the copy has finished
    assert (o.file, o.status) == ("慢慢复制的反馈卡.docx", Status.FILED)


def test_a_copy_that_resumes_after_the_claim_goes_back_to_the_inbox_not_to_rejected(
        tmp_path: Path, cards: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    ws.config.limits.stable_seconds = 0.3
    drop_good(ws.inbox, good_cards)
    data = fill_docx(cards / "0.docx", tmp_path / "stall.docx", ANSWERS_CLEAN, phone="13944445555").read_bytes()
    target = ws.inbox / "网络中断又续传的反馈卡.docx"
    copy = target.open("wb")  # the copying program keeps its handle: it follows the file when claimed
    copy.write(data[: len(data) // 2])
    copy.flush()
    time.sleep(0.5)  # the copy stalls longer than stable_seconds: the half file looks settled

    def resume(done: int, _total: int) -> None:
        if done == 1 and not copy.closed:  # while the good cards are filed, the copy goes on
            copy.write(data[len(data) // 2:])
            copy.close()

    try:
        report = ingest(ws, progress=resume)
    finally:
        copy.close()
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.status, poison.findings.codes()) == (Status.SKIPPED, ["STILL_WRITING"])
    assert target.read_bytes() == data and not list(ws.rejected.iterdir())
    (o,) = ingest(ws).outcomes
    assert (o.file, o.status) == (target.name, Status.FILED)


def test_a_file_deleted_while_ingest_waits_for_it_is_reported(tmp_path: Path, cards: Path,
                                                               good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    ws.config.limits.stable_seconds = 1.0
    drop_good(ws.inbox, good_cards)
    doomed = ws.inbox / "放错了的反馈卡.docx"
    shutil.copy(fill_docx(cards / "0.docx", tmp_path / "d.docx", ANSWERS_CLEAN, phone="13933334444"), doomed)
    remover = threading.Timer(0.3, doomed.unlink)  # the clerk takes it back a moment later
    remover.start()
    try:
        report = ingest(ws)
    finally:
        remover.join()
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    assert (poison.file, poison.status, poison.findings.codes()) == ("放错了的反馈卡.docx", Status.SKIPPED, ["VANISHED"])


# ---------------------------------------------------------------- a failure inside one file's finishing


def test_a_failure_while_finishing_one_file_does_not_stop_the_others(tmp_path: Path, cards: Path,
                                                                      good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    ws.rejected.mkdir(exist_ok=True)
    (ws.rejected / "截断.pdf.reason.json").mkdir()  # a folder where the reason file must go
    data = (cards / "0.pdf").read_bytes()[:4000]
    (ws.inbox / "截断.pdf").write_bytes(data)
    report = ingest(ws)
    assert_good_filed(ws, report, good_cards)
    poison = only(report, good_cards)
    # Even its rejection could not be written: it stays where the clerk sees it, with the reason.
    assert (poison.status, poison.findings.codes()) == (Status.SKIPPED, ["INTERNAL_ERROR"])
    assert (ws.inbox / "截断.pdf").read_bytes() == data
    assert archive.verify(ws).ok


# ---------------------------------------------------------------- permissions (needs a non-root process)


def _as_nobody() -> list[str]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or setpriv is None:
        pytest.skip("needs root (to run the engine as the unprivileged user nobody) and setpriv")
    return [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


@pytest.fixture
def open_root() -> Iterator[Path]:
    """A folder other users can enter (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="ruqi-poison-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _ruqi(args: list[str], prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "1000"}
    return subprocess.run([*(prefix or []), str(RUQI), *args], capture_output=True, text=True, env=env, timeout=300)


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_a_file_the_engine_may_not_read_is_left_in_the_inbox_with_the_reason(
        open_root: Path, good_cards: list[Path]) -> None:
    prefix = _as_nobody()
    ws = new_workspace(open_root / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    locked = ws.inbox / "别人的反馈卡.docx"
    shutil.copy(good_cards[0], locked)  # the same card again, saved by another user
    subprocess.run(["chown", "-R", "nobody:nogroup", str(ws.root)], check=True)
    os.chown(locked, 0, 0)
    locked.chmod(0o600)
    run = _ruqi(["ingest", "--workspace", str(ws.root), "--json", "--workers", "1"], prefix)
    assert run.returncode == 0, run.stderr[-2000:]
    by = {r["file"]: r for r in _lines(run.stdout)}
    assert [by[p.name]["status"] for p in good_cards] == ["filed"] * GOOD
    poison = by["别人的反馈卡.docx"]
    assert (poison["status"], [e["code"] for e in poison["errors"]]) == ("skipped", ["NO_PERMISSION"])
    assert "用户 nobody" in poison["errors"][0]["message"] and "-rw-------" in poison["errors"][0]["message"]
    assert locked.exists() and locked.stat().st_uid == 0  # untouched, where the clerk put it
    # The administrator fixes the permission; the next run takes it (a duplicate of card 00 here).
    locked.chmod(0o644)
    again = _lines(_ruqi(["ingest", "--workspace", str(ws.root), "--json"], prefix).stdout)
    assert [(r["file"], r["status"]) for r in again] == [("别人的反馈卡.docx", "duplicate")]


# ---------------------------------------------------------------- a full disk, a read-only archive


def _mount(*args: str) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root to mount a small tmpfs / a read-only bind mount")
    r = subprocess.run(["mount", *args], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount here: {r.stderr.strip()}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], check=False)


def _everything_in_one_place(ws: Workspace, good_cards: list[Path]) -> tuple[int, int]:
    """(filed, back in the inbox): each card is in exactly one of the two, byte-identical."""
    filed = {i.sha256 for i in archive.search(ws, form_type="card_returned")}
    back = {p.name for p in ws.inbox.iterdir() if p.is_file()}
    for p in good_cards:
        in_inbox = p.name in back
        assert in_inbox != (hashlib.sha256(p.read_bytes()).hexdigest() in filed), p.name
        if in_inbox:
            assert (ws.inbox / p.name).read_bytes() == p.read_bytes()
    assert not [p for p in (ws.inbox / ".processing").rglob("*") if p.is_file() and p.name != ".lock"]
    assert not list(ws.rejected.glob("*"))  # nobody's fault: nothing rejected, no stray reason files
    return len(filed), len(back)


def test_a_full_disk_stops_the_run_with_a_message_and_nothing_half_filed(
        open_root: Path, good_cards: list[Path]) -> None:
    disk = open_root / "disk"
    disk.mkdir()
    _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk))
    try:
        ws = new_workspace(disk / "ws", inspections=1)
        drop_good(ws.inbox, good_cards)
        filler = disk / "别的程序的大文件.bin"
        with filler.open("wb") as f:  # leave room for a few cards only
            f.write(b"\0" * (shutil.disk_usage(disk).free - 200 * 1024))
        run = _ruqi(["ingest", "--workspace", str(ws.root)])
        assert run.returncode == 1, run.stdout + run.stderr
        assert "Traceback" not in run.stderr
        assert "磁盘空间已满" in run.stderr and f"“{ws.archive}" in run.stderr and "DISK_FULL" in run.stderr
        filed, back = _everything_in_one_place(ws, good_cards)
        assert back > 0 and filed + back == GOOD
        filler.unlink()
        run = _ruqi(["ingest", "--workspace", str(ws.root)])
        assert run.returncode == 0, run.stderr[-2000:]
        assert _everything_in_one_place(ws, good_cards) == (GOOD, 0)
        assert archive.verify(ws).ok
    finally:
        _umount(disk)


def test_a_read_only_archive_stops_the_run_with_a_message_and_every_file_back_in_the_inbox(
        tmp_path: Path, good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    _mount("--bind", str(ws.archive), str(ws.archive))
    try:
        _mount("-o", "remount,ro,bind", str(ws.archive))
        run = _ruqi(["ingest", "--workspace", str(ws.root)])
        assert run.returncode == 1, run.stdout + run.stderr
        assert "Traceback" not in run.stderr
        assert f"无法写入“{ws.archive}”" in run.stderr and "READ_ONLY" in run.stderr
        assert _everything_in_one_place(ws, good_cards) == (0, GOOD)
    finally:
        _umount(ws.archive)
    run = _ruqi(["ingest", "--workspace", str(ws.root)])
    assert run.returncode == 0, run.stderr[-2000:]
    assert _everything_in_one_place(ws, good_cards) == (GOOD, 0)


# ---------------------------------------------------------------- watch


def test_watch_keeps_running_over_poison_and_reports_each_one_once(tmp_path: Path, cards: Path,
                                                                    good_cards: list[Path]) -> None:
    ws = new_workspace(tmp_path / "ws", inspections=1)
    drop_good(ws.inbox, good_cards)
    data = (cards / "0.pdf").read_bytes()[:4000]
    Path(os.fsdecode(os.path.join(os.fsencode(ws.inbox), b"\xb7\xb4\xc0\xa1\xff.pdf"))).write_bytes(data)
    (ws.inbox / "六月反馈卡").mkdir()
    clock = iter(float(x) for x in range(0, 1000, 3))  # every poll is 3 s later: all files settle
    reports: list[IngestReport] = []
    handled = watch(ws, max_cycles=6, on_report=reports.append, clock=lambda: next(clock), sleep=lambda _s: None)
    outcomes = [o for r in reports for o in r.outcomes]
    assert handled == GOOD + 1
    assert sorted(o.findings.codes()[0] for o in outcomes if o.status is not Status.FILED) == ["FOLDER", "NAME_ENCODING"]
    assert sum(o.status is Status.FILED for o in outcomes) == GOOD
