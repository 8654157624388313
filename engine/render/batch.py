"""Render many inspections: chunks of inspections, laid out together, over worker processes.

A chunk of K inspections becomes one WeasyPrint layout and write of its 3K forms, split into
3K PDFs (see :mod:`.pdf`), and 3K docx renders from the prepared templates (see :mod:`.docx`).
Chunks run in a thread of this process and in ``workers - 1`` forked ones (see
:func:`_mp_context`); a batch too small to pay for process start-up runs here alone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import logging
import math
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

from .codes import RenderCode, render_error
from .docx import compiled_template, render_docx_bytes
from .files import output_name, write_atomic
from .pdf import PDF_VARIANTS, renderer
from .templates import FORM_KEYS, docx_template, resolve_templates_dir

log = logging.getLogger("ruqi.render")

FORMATS = ("docx", "pdf")
# Inspections laid out together.  A chunk's PDF write has a fixed cost (~0.2 s of CPU: the fonts
# unpacked, subset and compressed once per chunk), so a chunk of 8 costs ~17 ms of CPU a file and
# one of 16-24 ~14.5; larger ones save nothing more and hold ~1.4 MB a page.
MAX_CHUNK = 24
MIN_CHUNK = 10
GUIDED = 1.5  # a chunk takes 1/(GUIDED × workers) of what is left
MIN_PER_WORKER = 4  # below this many inspections per extra process, start-up costs more than it saves

Progress = Callable[[int, int], None]  # (inspections done, total)


@dataclass(slots=True)
class RenderedSet:
    """The files written for one inspection: ``files[("card", "pdf")]`` → path."""

    serial: str
    files: dict[tuple[str, str], Path] = field(default_factory=dict)


@dataclass(slots=True)
class ChunkResult:
    sets: list[RenderedSet]
    failures: list[tuple[str, str]]  # (serial, reason)


class WarmUp:
    """Loads what rendering needs — WeasyPrint with the fonts and the stylesheet (~0.7 s), the
    compiled .docx templates — in a thread, while the caller reads the plan and registers the
    visits: much of the loading waits on files and C libraries, so the two overlap.  :meth:`join`
    before rendering: :func:`render_batch` waits for every warm-up still running (a fork must not
    copy a thread in the middle of an import).  A failure here is left to rendering, which meets it
    again and reports it per inspection."""

    _running: list[WarmUp] = []

    def __init__(self, templates_dir: Path | None, formats: Sequence[str]):
        tdir = resolve_templates_dir(templates_dir).resolve()
        self._thread = threading.Thread(target=self._load, args=(tdir, tuple(formats)), name="ruqi-warm-up",
                                        daemon=True)
        self._thread.start()
        WarmUp._running.append(self)

    @staticmethod
    def _load(tdir: Path, formats: tuple[str, ...]) -> None:
        try:
            if "pdf" in formats:
                renderer(tdir)
            if "docx" in formats:
                for form_key in FORM_KEYS:
                    compiled_template(docx_template(tdir, form_key))
        except Exception:  # noqa: BLE001 - rendering meets the same problem and reports it
            log.debug("warm-up failed", exc_info=True)

    def join(self) -> None:
        self._thread.join()
        with contextlib.suppress(ValueError):
            WarmUp._running.remove(self)

    @classmethod
    def join_all(cls) -> None:
        for w in list(cls._running):
            w.join()


def check_options(formats: Sequence[str], pdf_variant: str | None) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise render_error(RenderCode.BAD_FORMAT, f"输出格式只能是 docx 或 pdf（现为 {'、'.join(formats) or '空'}）。")
    if pdf_variant is not None and pdf_variant not in PDF_VARIANTS:
        raise render_error(RenderCode.BAD_PDF_VARIANT,
                           f"不支持的 PDF 版本“{pdf_variant}”，可选：{'、'.join(PDF_VARIANTS)}。")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """WeasyPrint allocates millions of short-lived objects; the cyclic collector's passes over them
    cost ~18 % of a chunk.  Pause it for the chunk and collect once at the end (same peak memory)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()


def _trim_heap() -> None:
    """Hand the freed layout memory back to the system (glibc keeps it otherwise), so the caller
    does not carry the batch's peak afterwards.  Once per batch: after every chunk it would only
    make the next chunk fault the same pages in again."""
    if _libc is not None:
        _libc.malloc_trim(0)


try:
    _libc: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _libc.malloc_trim  # noqa: B018 - glibc only
except (OSError, AttributeError):
    _libc = None


def render_chunk(contexts: Sequence[dict[str, Any]], out_dir: Path, formats: Sequence[str],
                 pdf_variant: str | None, templates_dir: Path) -> list[RenderedSet]:
    """Every form of every context in both formats; raises on the first failure."""
    with _gc_paused():
        return _render_chunk(contexts, out_dir, formats, pdf_variant, templates_dir)


def _render_chunk(contexts: Sequence[dict[str, Any]], out_dir: Path, formats: Sequence[str],
                  pdf_variant: str | None, templates_dir: Path) -> list[RenderedSet]:
    sets = [RenderedSet(ctx["serial"]) for ctx in contexts]
    if "docx" in formats:
        for form_key in FORM_KEYS:
            compiled = compiled_template(docx_template(templates_dir, form_key))
            for rs, ctx in zip(sets, contexts, strict=True):
                path = out_dir / output_name(ctx["serial"], ctx["v"]["enterprise"], form_key, "docx")
                write_atomic(path, render_docx_bytes(compiled, ctx))
                rs.files[(form_key, "docx")] = path
    if "pdf" in formats:
        items = [(form_key, ctx) for ctx in contexts for form_key in FORM_KEYS]
        pdfs = iter(renderer(templates_dir).render(items, pdf_variant))
        for rs, ctx in zip(sets, contexts, strict=True):
            for form_key in FORM_KEYS:
                path = out_dir / output_name(ctx["serial"], ctx["v"]["enterprise"], form_key, "pdf")
                write_atomic(path, next(pdfs))
                rs.files[(form_key, "pdf")] = path
    return sets


def _run_chunk(contexts: list[dict[str, Any]], *, out_dir: Path, formats: tuple[str, ...],
               pdf_variant: str | None, templates_dir: Path) -> ChunkResult:
    """A chunk, falling back to one inspection at a time so one bad value spoils only its own forms."""
    try:
        return ChunkResult(render_chunk(contexts, out_dir, formats, pdf_variant, templates_dir), [])
    except Exception as e:  # noqa: BLE001 - any failure: retry singly below, report per inspection
        if len(contexts) == 1:
            log.exception("render failed for %s", contexts[0].get("serial"))
            return ChunkResult([], [(contexts[0].get("serial", ""), f"{type(e).__name__}: {e}")])
    result = ChunkResult([], [])
    for ctx in contexts:
        one = _run_chunk([ctx], out_dir=out_dir, formats=formats, pdf_variant=pdf_variant, templates_dir=templates_dir)
        result.sets += one.sets
        result.failures += one.failures
    return result


def _init_worker() -> None:
    # Quiet WeasyPrint's per-document warnings in workers; errors still reach the parent.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)


def _run_parallel(chunks: list[list[dict[str, Any]]], workers: int,
                  run: Callable[[list[dict[str, Any]]], ChunkResult], collect: Callable[[ChunkResult], None],
                  when_idle: Callable[[], None] | None = None) -> None:
    """Chunks go to whichever is free: a thread of this process (one process per core without an
    idle parent holding its own copy of the libraries — memory is the tight budget) or one of
    ``workers - 1`` worker processes.  The main thread only hands out chunks and collects
    results, so a worker is never kept waiting and ``progress`` runs on the caller's thread.

    ``when_idle`` (picklable) runs once, in this process's render thread or a worker process,
    whichever is free first once no chunk is left to hand out (and a chunk's result is in) while
    another still renders: that core would idle otherwise."""
    queue = deque(chunks)
    # Before forking: collect the caller's garbage (so no half-dead object — a database
    # connection — is finalised in a child) and freeze what is left, so the children's
    # collections never walk (and copy) the pages they share with this process.
    gc.collect()
    gc.freeze()
    try:
        with ProcessPoolExecutor(max_workers=workers - 1, mp_context=_mp_context(),
                                 initializer=_init_worker) as pool, ThreadPoolExecutor(max_workers=1) as here:
            pending: dict[Future[ChunkResult], tuple[Executor, list[dict[str, Any]]]] = {}
            free = {here: 1, pool: workers - 1}

            def hand_out() -> None:
                for ex in (pool, here):  # the workers first: this process also runs the main thread
                    while queue and free[ex]:
                        chunk = queue.popleft()
                        free[ex] -= 1
                        pending[ex.submit(run, chunk)] = (ex, chunk)

            with warnings.catch_warnings():  # the fork happens at the first submit
                warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: "process is multi-threaded"
                hand_out()
            idle: Future[None] | None = None
            while pending:
                finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                for fut in finished:
                    ex, chunk = pending.pop(fut)
                    free[ex] += 1
                    try:
                        collect(fut.result())
                    except Exception:  # noqa: BLE001 - a worker died: render its chunk here instead
                        log.exception("worker failed; rendering its chunk in the main process")
                        collect(run(chunk))
                hand_out()
                if when_idle is not None and idle is None and not queue and pending and (free[here] or free[pool]):
                    idle = (here if free[here] else pool).submit(_run_idle, when_idle)
            if idle is not None and idle.exception() is not None:
                log.error("work run while idle failed", exc_info=idle.exception())
    finally:
        gc.unfreeze()


def _run_idle(work: Callable[[], None]) -> None:
    """``when_idle``'s work, in a process whose last chunk is done: the memory of its layouts goes
    back to the system first, so the work's own peak comes on top of the libraries, not of them."""
    _trim_heap()
    work()


def _mp_context() -> BaseContext:
    """fork where there is one: a forked worker starts with the libraries already loaded (spawn
    re-imports them, ~1 s).  The child only renders; it never touches the locks a caller's
    thread (a progress bar) might hold, and logging re-creates its own after a fork."""
    return get_context("fork" if "fork" in get_all_start_methods() else "spawn")


def default_workers(n: int) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, n // MIN_PER_WORKER))


def chunk_sizes(n: int, workers: int) -> list[int]:
    """How many inspections each chunk lays out.  A batch of at most ``MIN_CHUNK`` per process is
    split evenly over the processes (they start and end together).  A larger one is "guided":
    chunks shrink as the batch runs out, big ones sharing the fixed cost of a PDF write, smaller
    last ones keeping both cores busy to the end; a remainder under half of ``MIN_CHUNK`` joins the
    chunk before it rather than pay that fixed cost for a few inspections."""
    if n <= MIN_CHUNK * workers:
        q, r = divmod(n, workers)
        return [q + (k < r) for k in range(workers) if q + (k < r)]
    sizes: list[int] = []
    left = n
    while left:
        size = min(left, MAX_CHUNK, max(MIN_CHUNK, math.ceil(left / (GUIDED * workers))))
        if left - size < MIN_CHUNK // 2 and left <= MAX_CHUNK:
            size = left
        sizes.append(size)
        left -= size
    return sizes


def make_chunks(contexts: Sequence[dict[str, Any]], workers: int) -> list[list[dict[str, Any]]]:
    chunks, i = [], 0
    for size in chunk_sizes(len(contexts), workers):
        chunks.append(list(contexts[i:i + size]))
        i += size
    return chunks


def render_batch(
    contexts: Sequence[dict[str, Any]],
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    workers: int | None = None,
    *,
    pdf_variant: str | None = None,
    templates_dir: Path | None = None,
    progress: Progress | None = None,
    on_failure: Callable[[str, str], None] | None = None,
    on_rendered: Callable[[list[RenderedSet]], None] | None = None,
    when_idle: Callable[[], None] | None = None,
) -> list[RenderedSet]:
    """Render the three forms for every context; see the package docstring.  ``on_rendered`` gets
    each chunk's sets as soon as they are written (on the caller's thread), e.g. to start filing
    them while the next chunks render.  ``when_idle``: work for a core the last chunks leave
    idle (see :func:`_run_parallel`); not run at all by a run in one process."""
    formats = tuple(formats)
    check_options(formats, pdf_variant)
    WarmUp.join_all()
    tdir = resolve_templates_dir(templates_dir).resolve()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n = len(contexts)
    if n == 0:
        return []
    workers = default_workers(n) if workers is None else max(1, workers)
    chunks = make_chunks(contexts, workers)
    done = 0
    by_serial: dict[str, RenderedSet] = {}
    failures: list[tuple[str, str]] = []

    def collect(res: ChunkResult) -> None:
        nonlocal done
        for rs in res.sets:
            by_serial[rs.serial] = rs
        failures.extend(res.failures)
        if on_rendered and res.sets:
            on_rendered(res.sets)
        done += len(res.sets) + len(res.failures)
        if progress:
            progress(done, n)

    if progress:
        progress(0, n)
    run = partial(_run_chunk, out_dir=out_dir, formats=formats, pdf_variant=pdf_variant, templates_dir=tdir)
    if workers == 1 or len(chunks) == 1:
        for chunk in chunks:
            collect(run(chunk))
    else:
        _run_parallel(chunks, workers, run, collect, when_idle)
    _trim_heap()
    for serial, reason in failures:
        log.error("inspection %s not rendered: %s", serial, reason)
        if on_failure:
            on_failure(serial, reason)
    return [by_serial[c["serial"]] for c in contexts if c["serial"] in by_serial]
