"""Examining files in worker processes: parallel, and isolated from the engine.

Each file is examined (``engine.inbox.examine``) in a forked worker: a hostile file can neither
take the engine's memory (workers run under an address-space cap, ``WORKER_MEMORY_BYTES``) nor
hang it (``SIGALRM`` after ``max_seconds_per_file`` inside the worker; if even that does not
come back, the pool is killed ``BACKSTOP_EXTRA_S`` later and replaced).  Results come back in
input order, as they are ready, so filing in the parent overlaps with reading in the workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..db import forbid_database
from ..findings import error, exception_detail
from ..stats import Period
from ..workspace import Limits
from .codes import Reason
from .examine import Examination, examine

BACKSTOP_EXTRA_S = 15.0
WAIT_BEFORE_IDLE_S = 0.25
WORKER_MEMORY_BYTES = 3 << 30
MAX_DEFAULT_WORKERS = 4


@dataclass(frozen=True, slots=True)
class Job:
    path: Path
    name: str


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_WORKERS))


def examine_all(jobs: Sequence[Job], root: Path, key: bytes, limits: Limits, *, workers: int | None = None,
                lock_fd: int | None = None, on_wait: Callable[[], None] | None = None,
                rounds: dict[int, Period] | None = None) -> Iterator[tuple[Job, Examination]]:
    """(job, examination) in input order.  ``lock_fd``: a descriptor the workers must not keep;
    ``on_wait()``: called before blocking on a result that is not ready yet; ``rounds``: the
    statistics rounds issued (the workers never open the database)."""
    n = max(1, workers if workers is not None else default_workers())
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    backstop = limits.max_seconds_per_file + BACKSTOP_EXTRA_S
    pending = list(jobs)
    while pending:
        pool = ctx.Pool(min(n, len(pending)), initializer=_worker_init, initargs=(lock_fd,))
        try:
            running = [(j, pool.apply_async(_call, (str(j.path), j.name, str(root), key, limits, rounds or {}))) for j in pending]
            pending = []
            for k, (job, res) in enumerate(running):
                if on_wait is not None and not res.ready():
                    res.wait(WAIT_BEFORE_IDLE_S)  # usually the next card is a moment away
                    if not res.ready():
                        on_wait()
                try:
                    ex = res.get(timeout=backstop)
                except mp.TimeoutError:
                    yield job, _failed(Reason.TIME_LIMIT, f"读取超过 {limits.max_seconds_per_file:g} 秒仍未完成，已退回。")
                    pending = [j for j, _ in running[k + 1:]]  # the pool is wedged: the rest go to a new one
                    break
                except Exception as e:  # the worker died (OOM killer, a crash inside a C library)
                    ex = _failed(Reason.UNREADABLE, "读取文件时处理进程异常退出，文件可能被恶意构造，已退回。",
                                 exception_detail(e))
                yield job, ex
        finally:
            pool.terminate()
            pool.join()


def _failed(code: Reason, message: str, detail: str = "") -> Examination:
    return Examination(findings=[error(code, message, detail=detail)])


def _call(path: str, name: str, root: str, key: bytes, limits: Limits, rounds: dict[int, Period]) -> Examination:
    return examine(Path(path), name, Path(root), key, limits, rounds)


def _worker_init(lock_fd: int | None) -> None:
    # A forked worker must not keep the run's claim lock (a killed run would look alive for as
    # long as its orphaned workers live) nor use the parent's database connections; it has no
    # business with the database at all (``forbid_database``).
    if lock_fd is not None:
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    forbid_database()
    _limit_memory()
    # Ctrl+C reaches every process of the terminal's group: the run (the parent) stops the pool and
    # says what is kept; a worker interrupted mid-file would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _limit_memory() -> None:
    # A decompression bomb inside a PDF stream would otherwise take all the machine's memory;
    # with a cap it is a MemoryError (→ UNREADABLE) in this worker only.  The budget is for the
    # file's work, on top of the address space the fork inherited: a long-lived parent (``ruqi
    # serve``, ``watch``, a test run) may already map gigabytes (thread stacks, malloc arenas,
    # libraries), and a fixed cap below that made every allocation fail and rejected good files.
    try:
        import resource

        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = _mapped_bytes() + WORKER_MEMORY_BYTES
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _mapped_bytes() -> int:
    """This process's address space now (0 where /proc is absent)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
