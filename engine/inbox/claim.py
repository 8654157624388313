"""Claiming inbox files, so that each file is handled by exactly one run, even after kill -9.

A run (one ``ruqi ingest`` or one ``ruqi watch`` cycle) owns a directory
``inbox/.processing/<run id>/`` and holds an exclusive ``flock`` on its ``.lock`` file for as
long as it lives.  It claims a file by *renaming* it from ``inbox/<name>`` to
``.processing/<run id>/<n>_<name>`` (``<n>/<name>`` when that would be too long a name): a
rename is atomic, so of two runs that try at once one
succeeds and the other gets ``FileNotFoundError`` and moves on.  A claimed file leaves the run
directory only by being filed (then deleted), moved to ``rejected/`` or ``needs_review/``, or
deleted as a duplicate of archived bytes.

A run that died (its lock is free) leaves claims behind.  The next run *adopts* them by renaming
them into its own directory and handles them again; the duplicate check recognises a file the
dead run had already filed (its SHA-256 is in the archive) and only cleans up.

The lock is an advisory ``flock``: it is released by the kernel when the process dies, however
it dies.  On network shares where ``flock`` is not honoured, do not run two ingests at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .preflight import display_name

try:
    import fcntl
except ImportError:  # Windows: fall back on "pid alive" checks
    fcntl = None  # type: ignore[assignment]

PROCESSING = ".processing"
LOCK = ".lock"
MAX_FLAT_BYTES = 240  # file names may have 255 bytes; the claim prefix must fit
_FLAT = re.compile(r"^\d{5,}_")
# Files that are not (yet) documents and go away by themselves: editors' lock files while a
# document is open, partial downloads, the desktop's own bookkeeping.  Everything else,
# hidden names included, is handled (a name like "..\\x.pdf" is exactly what must be seen).
IGNORED_PREFIXES = ("~$", "~WRL", ".~lock.", "._")
IGNORED_SUFFIXES = (".part", ".crdownload", ".download", ".partial")
IGNORED_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini", ".localized"}


@dataclass(frozen=True, slots=True)
class Claimed:
    path: Path  # where the file is now (inside the run directory)
    name: str  # its name in the inbox, as the clerk dropped it
    adopted: bool  # taken over from a run that died


def ignored(name: str) -> bool:
    """Editors' lock files, partial downloads, desktop bookkeeping: never reported, never touched."""
    return name in IGNORED_NAMES or name.startswith(IGNORED_PREFIXES) or name.endswith(IGNORED_SUFFIXES)


class Run:
    """One run's claim directory; use as a context manager."""

    def __init__(self, inbox: Path):
        self.inbox = inbox
        self.base = inbox / PROCESSING
        self.id = f"{socket.gethostname()[:20]}-{os.getpid()}-{secrets.token_hex(3)}"
        self.dir = self.base / self.id
        self._lock_fd: int | None = None
        self._n = 0

    def __enter__(self) -> Run:
        # Build the directory under a hidden name and rename it into view only once it is
        # locked: another run must never see a run directory without a held lock.
        self.base.mkdir(parents=True, exist_ok=True)
        hidden = self.base / f".new-{self.id}"
        hidden.mkdir()
        self._lock_fd = os.open(hidden / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        if fcntl is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        os.rename(hidden, self.dir)
        return self

    def __exit__(self, *exc: object) -> None:
        leftover = [p for p in self.dir.rglob("*") if p.is_file() and p.name != LOCK]
        if not leftover:
            shutil.rmtree(self.dir, ignore_errors=True)
        # Otherwise keep it: the next run adopts what this one could not finish.
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @property
    def lock_fd(self) -> int | None:
        """The descriptor holding this run's lock: forked workers must close their copy, or the
        lock would outlive a killed run for as long as its orphaned workers do."""
        return self._lock_fd

    def _place(self, name: str) -> tuple[Path, Path | None]:
        """Where the next claim goes, and the slot directory made for it (long names only)."""
        self._n += 1
        flat = f"{self._n:05d}_{name}"
        if len(flat.encode("utf-8", "surrogateescape")) <= MAX_FLAT_BYTES:
            return self.dir / flat, None
        slot = self.dir / f"{self._n:05d}"
        slot.mkdir()
        return slot / name, slot

    def _take(self, src: Path, name: str, adopted: bool) -> Claimed | None:
        dst, slot = self._place(name)
        try:
            os.rename(src, dst)
        except FileNotFoundError:  # another run took it first
            if slot is not None:
                slot.rmdir()
            return None
        return Claimed(dst, name, adopted)

    def claim(self, p: Path) -> Claimed | None:
        """Move ``p`` into this run; None when another run took it first."""
        return self._take(p, p.name, adopted=False)

    def adopt_orphans(self) -> list[Claimed]:
        """Take over the claims of runs that died (their lock is free)."""
        adopted: list[Claimed] = []
        if not self.base.is_dir():
            return adopted
        for run_dir in sorted(self.base.iterdir()):
            if run_dir == self.dir or run_dir.name.startswith(".") or not run_dir.is_dir() or not _dead(run_dir):
                continue
            for f, name in _claims_in(run_dir):
                c = self._take(f, name, adopted=True)
                if c is not None:
                    adopted.append(c)
            _remove_if_empty(run_dir)
        return adopted

    def others_at_work(self) -> bool:
        """Whether another run is alive: a file gone from the inbox was most likely taken by it
        (and is reported by it), not lost."""
        if not self.base.is_dir():
            return False
        return any(d != self.dir and not d.name.startswith(".") and d.is_dir() and not _dead(d)
                   for d in self.base.iterdir())

    def release(self, c: Claimed) -> None:
        """The claim is done (filed or deleted).  Its empty slot goes with the run directory."""
        c.path.unlink(missing_ok=True)

    def move_out(self, c: Claimed, target: Path) -> None:
        os.replace(c.path, target)
        self.release(c)

    def put_back(self, c: Claimed) -> bool:
        """Return a claimed file to ``inbox/<name>``, where the clerk sees it.  False when that name
        has meanwhile been taken: the claim then stays for the next run to adopt."""
        target = self.inbox / c.name
        if target.exists() or target.is_symlink():
            return False
        try:
            os.rename(c.path, target)
        except FileNotFoundError:
            return False
        if c.path.parent != self.dir:
            with contextlib.suppress(OSError):
                c.path.parent.rmdir()  # its slot (long names)
        return True


def _claims_in(run_dir: Path) -> list[tuple[Path, str]]:
    """(claimed file, its inbox name) for every claim in a run directory."""
    out: list[tuple[Path, str]] = []
    for e in sorted(run_dir.iterdir()):
        if e.name == LOCK:
            continue
        if e.is_dir():
            out.extend((f, f.name) for f in sorted(e.iterdir()) if f.is_file())
        elif e.is_file() and _FLAT.match(e.name):
            out.append((e, e.name.split("_", 1)[1]))
    return out


def _remove_if_empty(run_dir: Path) -> None:
    # Only empty slots and the lock may be deleted: a file still here belongs to someone.
    for e in run_dir.iterdir():
        if e.is_dir():
            try:
                e.rmdir()
            except OSError:
                return
        elif e.name != LOCK:
            return
    (run_dir / LOCK).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run_dir.rmdir()


def _dead(run_dir: Path) -> bool:
    lock = run_dir / LOCK
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        # A run creates its lock right after its directory: an old directory without one is dead.
        return True
    try:
        if fcntl is None:
            return not _pid_alive(run_dir.name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True  # we now hold its lock; closing fd releases it after the adoption
    finally:
        os.close(fd)


def _pid_alive(run_id: str) -> bool:
    try:
        pid = int(run_id.rsplit("-", 2)[-2])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


@dataclass(slots=True)
class Item:
    claim: Claimed
    sha256: str
    size: int
    received_at: datetime
    mtime_ns: int = 0  # with size: the file as claimed; a change means it is still being written
    source: dict[str, Any] | None = None  # provenance when it arrived by e-mail (engine.provenance)

    @property
    def name(self) -> str:
        """The name as printed, logged and stored (``display_name``: a non-UTF-8 name, readable)."""
        return display_name(self.claim.name)

    def changed(self) -> bool:
        try:
            st = self.claim.path.stat()
        except FileNotFoundError:
            return False  # handled by whoever took it
        return (st.st_size, st.st_mtime_ns) != (self.size, self.mtime_ns)
