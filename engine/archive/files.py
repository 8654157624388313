"""Durable file moves for the store: write a temporary file beside the target, fsync, and rename
it into place only once the index says so.

Temporary files are named ``.ruqi-tmp-<pid>-<random>`` so ``repair`` can tell a file still being
written by a live process from one a crash left behind.  Filing inside a caller's transaction
ties the move to the outermost commit; a rolled-back SAVEPOINT takes its files with it.
"""

from __future__ import annotations

import errno
import os
import secrets
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from sqlalchemy.orm import Session

from .txn import on_commit

TMP_PREFIX = ".ruqi-tmp-"
STALE_SECONDS = 24 * 3600  # no filing holds a temporary file this long, whoever has its pid now


def write_temp(directory: Path, data: bytes, *, sync_dir: bool = True, sync: bool = True) -> Path:
    """``sync_dir=False``: the caller fsyncs the directory before anything refers to the file;
    ``sync=False``: the file too (:func:`fsync_all`)."""
    make_dirs(directory)
    tmp = directory / f"{TMP_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
    with open(tmp, "xb") as f:
        f.write(data)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    if sync_dir:
        fsync_dir(directory)  # the temporary name must survive a power cut: repair looks for it
    return tmp


# The space a withdrawal of registered visits may need on the database's volume (SQLite pages in
# its WAL, the audit head): 512 pages of 4 KiB, many times what taking back a run's visits writes.
RESERVE_BYTES = 2 * 1024 * 1024


def reserve_space(directory: Path, size: int = RESERVE_BYTES) -> Path:
    """Hold ``size`` bytes of the volume of ``directory`` in a ballast file, so that a run which
    fills the disk can still free it for its own clean-up.  Named like a temporary file of this
    process: ``verify`` and ``repair`` know a left-over one (a killed run) as the engine's own.
    Raises OSError (ENOSPC: the space is not there) with nothing left behind."""
    for old in directory.glob(f"{TMP_PREFIX}*-reserve-*"):  # a killed run's: its space is ours again
        try:
            if not owner_alive(old):
                old.unlink(missing_ok=True)
        except OSError:
            pass  # moved or gone meanwhile
    path = directory / f"{TMP_PREFIX}{os.getpid()}-reserve-{secrets.token_hex(4)}"
    try:
        with open(path, "xb") as f:
            try:  # real blocks, not a sparse file (delayed allocation would promise space it lacks)
                os.posix_fallocate(f.fileno(), 0, size)
            except (AttributeError, OSError) as e:
                if isinstance(e, OSError) and e.errno == errno.ENOSPC:
                    raise
                f.write(bytes(size))
                f.flush()
                os.fsync(f.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def finalize(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)
    fsync_dir(final.parent)


_TO_SYNC = "ruqi_dirs_to_sync"


def finalize_on_commit(s: Session, tmp: Path, final: Path) -> None:
    """Move ``tmp`` to ``final`` after the outermost commit; delete it if its transaction rolls back.

    The directories are fsynced once each after all the transaction's moves (a chunk of a
    ``generate`` run moves six files into each inspection's folder); until then a power cut may
    undo a rename, which leaves the committed row's file under its temporary name: ``repair``
    completes it, as after a crash between commit and rename."""
    on_commit(s, lambda: os.replace(tmp, final), lambda: tmp.unlink(missing_ok=True))
    dirs = s.info.get(_TO_SYNC)
    if dirs is None:
        dirs = s.info[_TO_SYNC] = set()
        on_commit(s, lambda: _sync_all(s.info.pop(_TO_SYNC, set())), lambda: s.info.pop(_TO_SYNC, None), last=True)
    dirs.add(final.parent)


def _sync_all(dirs: set[Path]) -> None:
    for d in sorted(dirs):
        fsync_dir(d)


def make_dirs(directory: Path) -> None:
    missing = []
    d = directory
    while not d.exists():
        missing.append(d)
        d = d.parent
    for m in reversed(missing):
        m.mkdir(exist_ok=True)
        fsync_dir(m.parent)  # the new directory's entry must survive a power cut too


# Concurrent fsyncs: the file system commits its journal once for all that are waiting (on ext4
# 120 files take ~30 ms instead of ~0.4 s one after another).  Each file is still on disk before
# anything refers to it.
FSYNC_THREADS = 8


def fsync_all(files: Iterable[Path], directories: Iterable[Path] = ()) -> None:
    """fsync every file, then every directory (their new entries), several at a time; raises the
    first OSError."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=FSYNC_THREADS, thread_name_prefix="ruqi-fsync") as pool:
        list(pool.map(fsync_file, files))
        list(pool.map(fsync_dir, sorted(set(directories))))


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":
        return  # directories cannot be opened for fsync on Windows; NTFS journals the rename
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_files(root: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if name.startswith(TMP_PREFIX):
                yield Path(dirpath) / name


def owner_alive(tmp: Path) -> bool:
    """Whether the process that wrote ``tmp`` may still be about to commit or move it.
    Raises FileNotFoundError when the file has meanwhile been moved by its owner."""
    try:
        pid = int(tmp.name[len(TMP_PREFIX):].split("-", 1)[0])
    except ValueError:
        return False
    age = time.time() - tmp.stat().st_mtime
    if pid == os.getpid():
        return True
    if age > STALE_SECONDS:
        return False
    if sys.platform == "win32":
        return age < 3600  # os.kill(pid, 0) would terminate the process there; go by age
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
